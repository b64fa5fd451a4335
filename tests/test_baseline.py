"""Adoption: `flask db baseline` for databases built by `db.create_all()`, and the
`create_all` guard."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from apps import columns, execute, invoke, tables
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.pool import NullPool

from flask_schemaops.errors import CreateAllError

App = Callable[..., Flask]


def _notes(db: SQLAlchemy) -> None:
    type(
        "Note",
        (db.Model,),
        {
            "__tablename__": "notes",
            "id": sa.Column(sa.Integer, primary_key=True),
            "span_id": sa.Column(sa.ForeignKey("spans.id"), nullable=False, index=True),
            "body": sa.Column(sa.Text, nullable=False),
            "slug": sa.Column(sa.String(40), unique=True),
        },
    )


def _create_all(app: Flask) -> None:
    with app.app_context():
        app.extensions["sqlalchemy"].create_all()


def _ok(app: Flask, *args: str) -> str:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _scripts(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "migrations" / "versions").glob("*.py"))


def _revision_id(path: Path) -> str:
    found = re.search(r"^Revision ID: (\w+)$", path.read_text(), re.MULTILINE)
    assert found
    return found.group(1)


def _revision_doing(app: Flask, tmp_path: Path, rev_id: str, work: str) -> tuple[Path, int]:
    """A new revision ``rev_id`` whose upgrade() does ``work``: its file, and the line
    of ``work``."""
    _ok(app, "revision", "-m", f"{rev_id} work", "--rev-id", rev_id)
    [script] = (tmp_path / "migrations" / "versions").glob(f"{rev_id}_*.py")
    text = script.read_text().replace("def upgrade():\n    pass", f"def upgrade():\n    {work}", 1)
    script.write_text(text)
    return script, text.splitlines().index("def upgrade():") + 2


def _current(app: Flask) -> list[str]:
    return invoke(app, "current", "--bare").output.split()


# --- Acceptance 1: adoption --------------------------------------------------------------


def test_a_database_built_by_create_all_is_baselined_and_stamped(
    make_app: App, tmp_path: Path
) -> None:
    app = make_app(models=_notes)
    _create_all(app)  # before `flask db init`: nothing manages the schema yet
    execute(app, "INSERT INTO spans (name) VALUES ('kept')")
    _ok(app, "init")

    output = _ok(app, "baseline")
    [script] = _scripts(tmp_path)
    revision = _revision_id(script)
    text = script.read_text()
    assert text.startswith('"""Initial baseline\n')
    assert "op.create_table('spans'" in text and "op.create_table('notes'" in text
    assert f"Wrote {script}" in output
    assert (
        f"The database matches the schema the new baseline {revision} builds; stamped"
        f" {revision}." in output
    )
    assert _current(app) == [revision]
    assert execute(app, "SELECT name FROM spans") == [("kept",)]
    assert _ok(app, "status").splitlines()[-1] == "Up to date."

    # The next model change migrates normally, on top of the baseline.
    app = make_app(models=_notes, columns={"arn": sa.Column(sa.String(20))})
    _ok(app, "revision", "--autogenerate", "-m", "add arn")
    [added] = [p for p in _scripts(tmp_path) if p != script]
    upgrade, _ = added.read_text().split("def downgrade():")
    assert "add_column" in upgrade and "create_table" not in upgrade
    _ok(app, "upgrade")
    assert "arn" in columns(app, "spans")
    assert execute(app, "SELECT name FROM spans") == [("kept",)]
    assert invoke(app, "doctor").output == ""


def test_a_drifted_database_is_shown_and_not_stamped(make_app: App, tmp_path: Path) -> None:
    app = make_app(models=_notes)
    _create_all(app)
    execute(app, "ALTER TABLE spans ADD COLUMN legacy_code VARCHAR(10)")
    execute(app, "CREATE INDEX legacy_lookup ON spans (name)")
    _ok(app, "init")

    result = invoke(app, "baseline")
    assert result.exit_code == 1, result.output
    [script] = _scripts(tmp_path)
    revision = _revision_id(script)
    assert f"The database differs from the schema the new baseline {revision} builds" in (
        result.output
    )
    assert "  remove_column spans.legacy_code" in result.output
    assert "  remove_index legacy_lookup on spans" in result.output
    assert "Nothing was stamped." in result.output
    assert _current(app) == []

    # Run again (the baseline now exists): still different, compared with head.
    result = invoke(app, "baseline")
    assert result.exit_code == 1
    assert f"The database differs from the schema the revisions build at {revision} (head)" in (
        result.output
    )
    assert _current(app) == []

    output = _ok(app, "baseline", "--force")
    assert f"Stamped {revision} anyway (--force)" in output
    assert _current(app) == [revision]


def test_forcing_a_generated_baseline_says_to_make_the_changes_by_hand(
    make_app: App,
    tmp_path: Path,
    another_database: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    _create_all(make_app())  # built from older models, without arn
    app = make_app(columns={"arn": sa.Column(sa.String(20))})
    _ok(app, "init")

    result = invoke(app, "baseline")
    assert result.exit_code == 1, result.output
    [script] = _scripts(tmp_path)
    revision = _revision_id(script)
    assert result.output.endswith(
        "  add_column spans.arn\n"
        "Nothing was stamped. The new baseline describes the models. Where they are right,"
        " bring the database in line by hand; where the database is, change the models and"
        f" delete migrations/versions/{script.name}. Then run `flask db baseline` again.\n"
    )
    output = _ok(app, "baseline", "--force")
    assert output.endswith(
        "  add_column spans.arn\n"
        f"Stamped {revision} anyway (--force). The revisions up to {revision} already make"
        " the changes above: make them by hand where they matter, but generate no revision"
        " for them, which would make them twice (or fail) on every database `flask db"
        " upgrade` builds.\n"
    )

    # As advised: by hand. Then nothing is left to generate, and a new database builds.
    execute(app, "ALTER TABLE spans ADD COLUMN arn VARCHAR(20)")
    assert _ok(app, "check") == "No changes: the revisions cover the models.\n"
    fresh = make_app(url=another_database("fresh"), columns={"arn": sa.Column(sa.String(20))})
    _ok(fresh, "upgrade")
    assert "arn" in columns(fresh, "spans")


def test_an_older_database_is_stamped_where_it_matches(
    make_app: App, tmp_path: Path, another_database: Callable[[str], str]
) -> None:
    # Development: the baseline, then a revision adding a column.
    app = make_app()
    _ok(app, "init")
    _ok(app, "baseline")
    _ok(app, "upgrade")
    app = make_app(columns={"arn": sa.Column(sa.String(20))})
    _ok(app, "revision", "--autogenerate", "-m", "add arn")
    [first] = [_revision_id(p) for p in _scripts(tmp_path) if "Initial baseline" in p.read_text()]
    [second] = [_revision_id(p) for p in _scripts(tmp_path) if "add arn" in p.read_text()]

    # A database an older release built with create_all (no arn yet).
    url = another_database("old")
    _create_all(make_app(url=url))
    new = make_app(url=url, columns={"arn": sa.Column(sa.String(20))})
    output = _ok(new, "baseline")
    assert f"The database matches the schema the revisions build at {first} (revision);" in output
    assert f"stamped {first}." in output
    assert f"1 revision(s) pending on top of it:\n  {second}  add arn\n" in output
    _ok(new, "upgrade")
    assert "arn" in columns(new, "spans")
    assert _current(new) == [second]


def test_a_data_migration_the_schema_cannot_show_is_left_to_the_user(
    make_app: App,
    tmp_path: Path,
    another_database: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    _ok(app, "baseline")
    [first] = [_revision_id(p) for p in _scripts(tmp_path)]
    fill, line = _revision_doing(
        app, tmp_path, "fill", "op.execute(\"UPDATE spans SET name = 'unnamed' WHERE name = ''\")"
    )
    work = (
        f'  fill (migrations/versions/{fill.name}, line {line}): op.execute("UPDATE spans SET'
        " name = 'unnamed' WHERE name = ''\")\n"
    )
    advice = (
        "Its schema cannot tell whether that work ran on this database, so nothing was"
        f" stamped. Stamp the last revision whose work it has: `flask db stamp {first}` (then"
        " `flask db upgrade` runs the work above), or `flask db stamp fill` (it never runs"
        " here).\n"
    )

    # A database create_all built from these models: it has the schema of both.
    url = another_database("old")
    _create_all(make_app(url=url))
    execute(make_app(url=url), "INSERT INTO spans (name) VALUES ('')")
    result = invoke(make_app(url=url), "baseline", "--force")
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"The database matches the schema the revisions build at each of {first}, fill:"
        f" those after {first} change nothing a schema comparison sees, yet do work:\n"
        + work
        + advice
    )

    # Once a later revision adds a column, the match is before head: the same question.
    _ok(app, "upgrade")
    _ok(make_app(columns={"arn": sa.Column(sa.String(20))}), "revision", "--autogenerate")
    new = make_app(url=url, columns={"arn": sa.Column(sa.String(20))})
    result = invoke(new, "baseline")
    assert result.exit_code == 1, result.output
    assert result.output.endswith(work + advice)
    assert _current(new) == []

    # The user answers: the data migration has not run here.
    _ok(new, "stamp", first)
    _ok(new, "upgrade")
    assert execute(new, "SELECT name FROM spans") == [("unnamed",)]
    assert "arn" in columns(new, "spans")


def test_a_revision_that_fails_in_the_scratch_database_says_so(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    _ok(app, "revision", "--autogenerate", "-m", "spans")
    legacy, line = _revision_doing(
        app, tmp_path, "legacy", "op.execute('UPDATE legacy_only SET flag = 1')"
    )
    _create_all(app)  # the database: the models' tables, and one only it has
    execute(app, "CREATE TABLE legacy_only (flag INTEGER)")

    result = invoke(app, "baseline")
    assert result.exit_code == 1
    [first, second] = result.stderr.splitlines()
    assert first.startswith(f"Error: migrations/versions/{legacy.name}, line {line}, in upgrade: ")
    assert "legacy_only" in first
    assert second == (
        "This failed in a scratch database, where the revisions run from an empty schema so"
        " that what they build can be compared; your database was not touched. A revision"
        " that needs what only a real database has (its rows, or tables the revisions do not"
        " create) cannot run there, nor on any new database: make it skip what is missing"
        " (check for it first), then run the command again."
    )
    assert "flask db status" not in result.stderr
    assert _current(app) == []
    assert tables(app) - {"alembic_version"} == {"spans", "legacy_only"}


def test_an_empty_database_is_left_to_upgrade(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    _ok(app, "init")
    output = _ok(app, "baseline")
    assert "The database is empty: `flask db upgrade` builds it from the baseline." in output
    assert tables(app) <= {"alembic_version"}  # autogenerate may create the version table
    [script] = _scripts(tmp_path)

    output = _ok(app, "baseline")  # the baseline exists: nothing more to write
    assert "The database has no table yet: `flask db upgrade` builds it." in output
    assert _scripts(tmp_path) == [script]
    _ok(app, "upgrade")
    assert tables(app) == {"alembic_version", "spans"}

    output = _ok(app, "baseline")
    revision = _revision_id(script)
    assert f"already under migrations, at {revision}; nothing to do." in output


# --- Acceptance 2: the create_all guard ----------------------------------------------------


def test_create_all_forbidden_raises_and_allowed_does_not(make_app: App, tmp_path: Path) -> None:
    forbidding = make_app(create_all="forbid")
    _ok(forbidding, "init")
    with pytest.raises(CreateAllError) as raised:
        _create_all(forbidding)
    message = str(raised.value)
    assert message.startswith("db.create_all() refused on ")
    assert "the migrations in" in message and "manage this schema" in message
    assert "Build and update the schema with `flask db upgrade`" in message
    assert tables(forbidding) == set()

    # The migrations themselves run under "forbid".
    _ok(forbidding, "baseline")
    _ok(forbidding, "upgrade")
    assert tables(forbidding) == {"alembic_version", "spans"}

    # Another app in the same process, with its own policy, is not affected.
    allowing = make_app(
        root=tmp_path / "other", models=_notes, config={"SCHEMAOPS_CREATE_ALL": "allow"}
    )
    _create_all(allowing)
    assert "notes" in tables(allowing)
    with pytest.raises(CreateAllError):
        _create_all(forbidding)


def test_create_all_warns_by_default_outside_tests(
    make_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    _create_all(app)  # no migrations directory yet: nothing to guard
    _ok(app, "init")
    execute(app, "DROP TABLE spans")
    with caplog.at_level(logging.WARNING, logger="flask_schemaops"):
        _create_all(app)
    [record] = [r for r in caplog.records if r.name == "flask_schemaops"]
    assert record.getMessage().startswith("db.create_all() called on ")
    assert "`flask db upgrade`" in record.getMessage()
    assert "spans" in tables(app)  # a warning only

    caplog.clear()
    testing = make_app(config={"TESTING": True})
    execute(testing, "DROP TABLE spans")
    with caplog.at_level(logging.WARNING, logger="flask_schemaops"):
        _create_all(testing)
    assert not [r for r in caplog.records if r.name == "flask_schemaops"]
    assert "spans" in tables(testing)


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_user_who_may_not_create_databases(
    make_app: App, database_url: str, tmp_path: Path
) -> None:
    url = sa.make_url(database_url)
    role = f"limited_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD 'limited-secret'"))
        connection.execute(sa.text(f"GRANT ALL ON SCHEMA public TO {role}"))
    app = make_app(url=url.set(username=role, password="limited-secret"))
    try:
        _create_all(app)
        _ok(app, "init")
        result = invoke(app, "baseline")
        assert result.exit_code == 1
        assert (
            f"Error: Could not create a scratch database on postgresql+psycopg://{role}:***@"
            in result.stderr
        )
        assert "permission denied to create database" in result.stderr
        assert "Grant the user the CREATEDB privilege" in result.stderr
        assert "limited-secret" not in result.output
        assert _scripts(tmp_path) == [] and _current(app) == []

        with admin.connect() as connection:
            connection.execute(sa.text(f"ALTER ROLE {role} CREATEDB"))
        assert "; stamped " in _ok(app, "baseline")
    finally:
        with app.app_context():
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP OWNED BY {role}"))
            connection.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def test_each_database_gets_its_baseline(
    make_app: App, tmp_path: Path, another_database: Callable[[str], str]
) -> None:
    app = make_app(binds={"logs": another_database("logs")})
    _create_all(app)
    _ok(app, "init")
    output = _ok(app, "baseline")
    [default] = _scripts(tmp_path)
    [logs] = (tmp_path / "migrations" / "binds" / "logs").glob("*.py")
    assert "op.create_table('spans'" in default.read_text()
    assert "op.create_table('logs_items'" in logs.read_text()
    for name, script in (("default", default), ("logs", logs)):
        revision = _revision_id(script)
        assert f"[{name}] The database matches the schema the new baseline {revision}" in output
    assert invoke(app, "doctor").output == ""


def test_a_revision_may_call_create_all_under_forbid(make_app: App, tmp_path: Path) -> None:
    app = make_app(create_all="forbid")
    _ok(app, "init")
    _ok(app, "revision", "-m", "legacy bootstrap", "--rev-id", "boot")
    [path] = _scripts(tmp_path)
    body = (
        "    from flask import current_app\n    current_app.extensions['sqlalchemy'].create_all()"
    )
    path.write_text(path.read_text().replace("    pass", body, 1))
    _ok(app, "upgrade")
    assert tables(app) == {"alembic_version", "spans"}
