"""The migrations themselves: five of the ready-made checks, and a data migration."""

from flask_schemaops.testing.checks import (  # noqa: F401
    test_migrations_models_imported,
    test_migrations_models_match,
    test_migrations_single_head,
    test_migrations_stairway,
    test_migrations_upgrade,
)


def test_display_name_is_filled_from_name(schemaops_migrations):
    m = schemaops_migrations
    # As the schema stood at the revision before the data migration.
    m.insert(
        "customers", {"id": 1, "email": "ada@example.com", "name": "Ada"}, revision="d4735e3a265e"
    )
    assert m.step_up() == "4e07408562be"
    assert m.rows("customers")[0]["display_name"] == "Ada"
    assert m.step_down() == "d4735e3a265e"
    assert "display_name" not in m.schema()["table"]["customers"]["column"]
