"""`flask db lint`: each rule fires on the unsafe script and stays quiet on its close
safe variant; the project's own migrations and the docs' safe patterns are clean;
autogenerate reports what it wrote; the command's formats and exit codes."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from apps import NAMING_CONVENTION, execute, invoke
from flask import Flask

from flask_schemaops import api
from flask_schemaops.errors import ConfigurationError, ScriptError
from flask_schemaops.lint import DOCS_URL, RULES, Finding, lint_paths

App = Callable[..., Flask]
REPO = Path(__file__).resolve().parent.parent
DIALECTS = (None, "postgresql", "mysql", "sqlite")

HEADER = '''"""a revision"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "r2"
down_revision = "r1"
branch_labels = None
depends_on = None

'''


def write(folder: Path, body: str, name: str = "r2_change.py", parent: str | None = "r1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    header = HEADER.replace('"r1"', repr(parent))
    path.write_text(header + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


def lint(
    tmp_path: Path, body: str, dialect: str | None = "postgresql", **options: object
) -> list[Finding]:
    path = write(tmp_path / "versions", body)
    return list(lint_paths([path], dialect=dialect, **options).findings)  # type: ignore[arg-type]


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


# --- One script that triggers each rule, and a close variant that must not ---------------

CASES: dict[str, list[tuple[str, str]]] = {
    "SO101": [
        (
            'op.add_column("spans", sa.Column("arn", sa.String(), nullable=False))',
            'op.add_column("spans", sa.Column("arn", sa.String(), nullable=False,'
            ' server_default=""))',
        ),
        (
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.add_column(sa.Column("arn", sa.String(), nullable=False))',
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.add_column(sa.Column("arn", sa.String(), nullable=True))',
        ),
        (
            'op.execute("ALTER TABLE spans ADD COLUMN arn VARCHAR(20) NOT NULL")',
            "op.execute(\"ALTER TABLE spans ADD COLUMN arn VARCHAR(20) NOT NULL DEFAULT ''\")",
        ),
    ],
    "SO102": [
        (
            'op.add_column("spans", sa.Column("at", sa.DateTime(), server_default=sa.func.now()))',
            'op.add_column("spans", sa.Column("state", sa.String(),'
            " server_default=sa.text(\"'new'\")))",
        ),
        (
            'op.add_column("spans", sa.Column("uid", sa.Uuid(),'
            ' server_default=sa.text("gen_random_uuid()")))',
            'op.create_table("spans", sa.Column("id", sa.Integer(), primary_key=True))\n'
            '    op.add_column("spans", sa.Column("uid", sa.Uuid(),'
            ' server_default=sa.text("gen_random_uuid()")))',
        ),
    ],
    "SO103": [
        ('op.drop_column("spans", "arn")', 'op.add_column("spans", sa.Column("arn", sa.String()))'),
        (
            'with op.batch_alter_table("spans") as batch_op:\n        batch_op.drop_column("arn")',
            'op.add_column("spans", sa.Column("arn", sa.String()))\n'
            '    op.drop_column("spans", "arn")',
        ),
    ],
    "SO104": [
        (
            'op.drop_table("spans")',
            'op.create_table("tmp", sa.Column("id", sa.Integer()))\n    op.drop_table("tmp")',
        ),
        ('op.execute("DROP TABLE IF EXISTS spans")', 'op.execute("DROP VIEW IF EXISTS spans")'),
    ],
    "SO105": [
        (
            'op.alter_column("spans", "name", new_column_name="label")',
            'op.alter_column("spans", "name", comment="the label")',
        ),
    ],
    "SO106": [
        (
            'op.rename_table("spans", "trace_spans")',
            'op.rename_table("spans", "trace_spans")\n'
            '    op.execute("CREATE VIEW spans AS SELECT * FROM trace_spans")',
        ),
    ],
    "SO107": [
        (
            'op.alter_column("spans", "name", existing_type=sa.String(200), type_=sa.String(100))',
            'op.alter_column("spans", "name", existing_type=sa.String(200), type_=sa.String(400))',
        ),
        (
            'op.alter_column("spans", "name", existing_type=sa.VARCHAR(200), type_=sa.Integer())',
            'op.alter_column("spans", "name", existing_type=sa.VARCHAR(200), type_=sa.Text())',
        ),
        (
            'op.alter_column("spans", "name", type_=sa.Text())',
            'op.alter_column("spans", "name", existing_type=sa.String(), type_=sa.Text())',
        ),
    ],
    "SO108": [
        (
            'op.alter_column("spans", "arn", existing_type=sa.String(), nullable=False)',
            'op.alter_column("spans", "arn", existing_type=sa.String(), nullable=True)',
        ),
        (
            # A column added earlier holds NULL in every existing row.
            'op.add_column("spans", sa.Column("arn", sa.String(), nullable=True))\n'
            "    op.execute(\"UPDATE spans SET arn = '' WHERE arn IS NULL\")\n"
            '    op.alter_column("spans", "arn", existing_type=sa.String(), nullable=False)',
            'op.add_column("spans", sa.Column("arn", sa.String(), nullable=False,'
            ' server_default=""))',
        ),
    ],
    "SO109": [
        (
            'op.create_index("ix_spans_name", "spans", ["name"])',
            'op.create_table("spans", sa.Column("name", sa.String()))\n'
            '    op.create_index("ix_spans_name", "spans", ["name"])',
        ),
        (
            'op.execute("CREATE INDEX ix_spans_name ON spans (name)")',
            "with op.get_context().autocommit_block():\n"
            '        op.execute("CREATE INDEX CONCURRENTLY ix_spans_name ON spans (name)")',
        ),
    ],
    "SO110": [
        (
            'op.create_index("ix_spans_name", "spans", ["name"], postgresql_concurrently=True)',
            "with op.get_context().autocommit_block():\n"
            '        op.create_index("ix_spans_name", "spans", ["name"],'
            " postgresql_concurrently=True)",
        ),
        (
            'op.execute("DROP INDEX CONCURRENTLY ix_spans_name")',
            "context = op.get_context()\n"
            "    with context.autocommit_block():\n"
            '        op.execute("DROP INDEX CONCURRENTLY ix_spans_name")',
        ),
    ],
    "SO111": [
        (
            'op.drop_index("ix_spans_name", table_name="spans")',
            "with op.get_context().autocommit_block():\n"
            '        op.drop_index("ix_spans_name", table_name="spans",'
            " postgresql_concurrently=True)",
        ),
    ],
    "SO112": [
        (
            'op.create_foreign_key("fk_spans_owner", "spans", "owners", ["owner_id"], ["id"])',
            'op.create_foreign_key("fk_spans_owner", "spans", "owners", ["owner_id"], ["id"],'
            " postgresql_not_valid=True)",
        ),
        (
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.create_foreign_key("fk_spans_owner", "owners", ["owner_id"], ["id"])',
            'op.execute("ALTER TABLE spans ADD CONSTRAINT fk_spans_owner FOREIGN KEY (owner_id)'
            ' REFERENCES owners (id) NOT VALID")',
        ),
    ],
    "SO113": [
        (
            'op.create_check_constraint("ck_spans_size", "spans", "size > 0")',
            'op.create_check_constraint("ck_spans_size", "spans", "size > 0",'
            " postgresql_not_valid=True)",
        ),
    ],
    "SO114": [
        (
            'op.create_unique_constraint("uq_spans_name", "spans", ["name"])',
            'op.create_table("spans", sa.Column("name", sa.String()))\n'
            '    op.create_unique_constraint("uq_spans_name", "spans", ["name"])',
        ),
    ],
    "SO115": [
        (
            'kind = postgresql.ENUM("a", "b", name="kind")\n'
            "    kind.create(op.get_bind(), checkfirst=True)\n\n\n"
            "def downgrade():\n    pass  # nothing else to undo",
            'kind = postgresql.ENUM("a", "b", name="kind")\n'
            "    kind.create(op.get_bind(), checkfirst=True)\n\n\n"
            "def downgrade():\n"
            '    postgresql.ENUM(name="kind").drop(op.get_bind(), checkfirst=True)',
        ),
        (
            'op.create_table("tickets", sa.Column("state", sa.Enum("open", "closed",'
            ' name="state")))\n\n\n'
            'def downgrade():\n    op.drop_table("tickets")',
            'op.create_table("tickets", sa.Column("state", sa.Enum("open", "closed",'
            ' name="state")))\n\n\n'
            'def downgrade():\n    op.drop_table("tickets")\n    op.execute("DROP TYPE state")',
        ),
    ],
    "SO116": [
        (
            "op.execute(\"ALTER TYPE kind ADD VALUE 'c'\")",
            "with op.get_context().autocommit_block():\n"
            "        op.execute(\"ALTER TYPE kind ADD VALUE 'c'\")",
        ),
    ],
    "SO117": [
        (
            'op.drop_constraint(None, "spans", type_="unique")',
            'op.drop_constraint("uq_spans_code", "spans", type_="unique")',
        ),
    ],
    "SO118": [
        (
            'op.add_column("spans", sa.Column("arn", sa.String()))\n\n\n'
            'def downgrade():\n    """Nothing."""\n    pass',
            'op.add_column("spans", sa.Column("arn", sa.String()))\n\n\n'
            'def downgrade():\n    raise NotImplementedError("irreversible")',
        ),
        (
            'op.create_index("ix_spans_name", "spans", ["name"]) '
            "# schemaops: ignore[SO109]\n\n\ndef downgrade():\n    pass",
            "op.execute(\"INSERT INTO spans (name) VALUES ('a')\")\n\n\ndef downgrade():\n    pass",
        ),
    ],
    "SO119": [
        ('op.execute("DELETE FROM spans")', 'op.execute("DELETE FROM spans WHERE id > 10")'),
        ('op.execute("TRUNCATE spans")', "op.execute(\"INSERT INTO spans (name) VALUES ('a')\")"),
        (
            'op.execute(f"UPDATE spans SET name = {1}")',
            'op.execute(sa.text("UPDATE spans SET name = :n WHERE id = 1"))',
        ),
        (
            'op.execute("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql")',
            "op.execute(\"COMMENT ON TABLE spans IS 'spans'\")",
        ),
        (
            'spans = sa.table("spans", sa.column("name"))\n'
            '    op.execute(spans.update().values(name="x"))',
            'spans = sa.table("spans", sa.column("name"))\n'
            '    op.execute(spans.update().where(spans.c.name.is_(None)).values(name="x"))',
        ),
        (
            'op.execute("WITH d AS (DELETE FROM spans RETURNING id) SELECT count(*) FROM d")',
            'op.execute("WITH d AS (DELETE FROM spans WHERE id < 9 RETURNING id) SELECT 1")',
        ),
    ],
    "SO120": [
        (
            "from testapp.models import Span\n"
            '    op.execute(sa.update(Span).where(Span.id == 1).values(name="x"))',
            'spans = sa.table("spans", sa.column("id"), sa.column("name"))\n'
            '    op.execute(spans.update().where(spans.c.id == 1).values(name="x"))',
        ),
    ],
    "SO122": [
        (
            'op.drop_column("spans", "a")  # schemaops: ignore[SO013] unused since release 4',
            'op.drop_column("spans", "a")  # schemaops: ignore[SO103] unused since release 4',
        ),
    ],
    "SO123": [
        (
            'op.create_foreign_key(None, "spans", "owners", ["owner_id"], ["id"])',
            'op.create_foreign_key(op.f("fk_spans_owner_id_owners"), "spans", "owners",'
            ' ["owner_id"], ["id"])',
        ),
        (
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.create_foreign_key(None, "owners", ["owner_id"], ["id"])',
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.create_foreign_key("fk_spans_owner_id_owners", "owners",'
            ' ["owner_id"], ["id"])',
        ),
        (
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.create_unique_constraint(None, ["name"])',
            'with op.batch_alter_table("spans") as batch_op:\n'
            '        batch_op.create_unique_constraint("uq_spans_name", ["name"])',
        ),
        (
            'op.create_check_constraint(constraint_name=None, table_name="spans",'
            ' condition="size > 0")',
            'op.create_check_constraint("ck_spans_size", "spans", "size > 0")',
        ),
    ],
    "SO124": [
        (
            'with op.batch_alter_table("spans", recreate="always") as batch_op:\n'
            '        batch_op.add_column(sa.Column("note", sa.String(20)))',
            'with op.batch_alter_table("spans", recreate="auto") as batch_op:\n'
            '        batch_op.add_column(sa.Column("note", sa.String(20)))',
        ),
        (
            'with op.batch_alter_table("spans", recreate="always"):\n        pass',
            'op.create_table("spans", sa.Column("id", sa.Integer()))\n'
            '    with op.batch_alter_table("spans", recreate="always") as batch_op:\n'
            '        batch_op.add_column(sa.Column("note", sa.String(20)))',
        ),
    ],
}


def _cases() -> list[tuple[str, str, str]]:
    found = []
    for rule, pairs in CASES.items():
        for index, (unsafe, safe) in enumerate(pairs):
            found.append(pytest.param(rule, unsafe, safe, id=f"{rule}-{index}"))
    return found


def _upgrade(text: str) -> str:
    head, _, rest = text.partition("\n\n\ndef ")
    downgrade = (
        f"\n\n\ndef {rest}" if rest else "\n\n\ndef downgrade():\n    raise NotImplementedError"
    )
    return f"def upgrade():\n    {head}{downgrade}"


@pytest.mark.parametrize(("rule", "unsafe", "safe"), _cases())
def test_rule_fires_on_the_unsafe_script_only(
    tmp_path: Path, rule: str, unsafe: str, safe: str
) -> None:
    options = {"app_modules": ["testapp"]}
    found = lint(tmp_path / "unsafe", _upgrade(unsafe), **options)
    assert rule in rules(found), found
    [finding] = [f for f in found if f.rule == rule]
    assert finding.message.endswith(f"See {DOCS_URL}rules.html#{rule.lower()}")
    assert finding.fix and finding.severity in ("error", "warning", "info")
    assert finding.file.endswith("r2_change.py") and finding.line > 10
    clean = lint(tmp_path / "safe", _upgrade(safe), **options)
    assert rule not in rules(clean), clean


def test_every_rule_has_a_case_and_a_docs_section() -> None:
    docs = (REPO / "docs" / "rules.rst").read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f".. _{rule.id.lower()}:\n\n{rule.id}: {rule.name}\n" in docs, rule.id
        assert rule.id in CASES or rule.id == "SO121"
        assert rule.url == f"{DOCS_URL}rules.html#{rule.id.lower()}"


def test_messages_name_the_table_and_column(tmp_path: Path) -> None:
    [finding] = lint(tmp_path, _upgrade('op.drop_column("spans", "arn")'))
    assert finding.message.startswith("spans.arn is dropped:")
    assert finding.severity == "warning" and finding.name == "drop-column"
    assert "later revision" in finding.fix


def test_messages_say_what_the_script_does_not_name(tmp_path: Path) -> None:
    body = """
        def _drop(table):
            op.drop_table(table)
            op.drop_column(table, "arn")
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_constraint(None, type_="unique")


        def upgrade():
            op.execute("DROP INDEX ix_w")
            op.create_foreign_key(None, "product", "owners", ["owner_id"], ["id"])
            op.execute("CREATE INDEX ON spans (name)")
            _drop("old_spans")


        def downgrade():
            raise NotImplementedError
    """
    found = lint(tmp_path, body)
    assert [(f.rule, f.message.split(" See ")[0]) for f in found] == [
        (
            "SO104",
            "A table is dropped: the release still running during the deploy reads it"
            " and fails, and its rows are gone.",
        ),
        (
            "SO103",
            "Column arn is dropped: the release still running during the deploy reads"
            " it and fails, and its data is gone.",
        ),
        (
            "SO117",
            "drop_constraint(None) in upgrade() has no constraint name: it fails when it runs.",
        ),
        (
            "SO111",
            "Index ix_w is dropped without CONCURRENTLY: reads and writes of the table"
            " wait for the lock.",
        ),
        (
            "SO112",
            "An unnamed foreign key on product is added without NOT VALID: every row of"
            " product is checked while writes to both tables are blocked.",
        ),
        (
            "SO123",
            "A foreign key on product is added without a name in upgrade(): the database"
            " makes one up, each kind of database its own, so no revision can drop it by a"
            " name that holds everywhere (autogenerate writes drop_constraint(None, ...),"
            " which fails).",
        ),
        (
            "SO109",
            "An unnamed index on spans is created without CONCURRENTLY: writes to spans"
            " are blocked while it builds.",
        ),
    ]
    assert found[4].fix == (
        "Add it with postgresql_not_valid=True, then in a later step"
        ' op.execute("ALTER TABLE product VALIDATE CONSTRAINT <constraint>").'
    )
    assert not [f for f in found if "?" in f.message + f.fix]


def said(findings: list[Finding]) -> list[tuple[str, int, str]]:
    """Each finding's rule, line and message without the link."""
    return [(f.rule, f.line, f.message.split(" See ")[0]) for f in findings]


def test_constraints_declared_on_an_added_column(tmp_path: Path) -> None:
    """Alembic adds what a column declares after the column: a foreign key, a unique
    constraint or index, a check; raw ADD COLUMN declares them inline."""
    body = _upgrade(
        'op.add_column("spans", sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id")))\n'
        '    op.add_column("spans", sa.Column("code", sa.String(20), unique=True))\n'
        '    op.add_column("spans", sa.Column("tag", sa.String(20), index=True))\n'
        '    op.add_column("spans", sa.Column("pos", sa.Integer(),'
        ' sa.CheckConstraint("pos > 0")))\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN lead INT REFERENCES owners (id)")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN ref VARCHAR(20) CONSTRAINT uq_ref UNIQUE")\n'
        "    op.execute(\"ALTER TABLE spans ADD COLUMN note VARCHAR(20) DEFAULT 'unique'\")\n"
        '    op.add_column("spans", sa.Column("kept", sa.Integer(),'
        ' sa.ForeignKey("owners.id", postgresql_not_valid=True)))\n'
        '    op.create_table("tags", sa.Column("id", sa.Integer()))\n'
        '    op.add_column("tags", sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"),'
        " unique=True))"
    )
    assert said(lint(tmp_path, body, "postgresql")) == [
        (
            "SO112",
            13,
            "An unnamed foreign key on spans.owner_id is added without NOT VALID: every row"
            " of spans is checked while writes to both tables are blocked.",
        ),
        (
            "SO114",
            14,
            "An unnamed unique constraint on spans.code is added: it fails if duplicates"
            " exist, and builds its index under an exclusive lock that blocks reads and"
            " writes of spans.",
        ),
        (
            "SO109",
            15,
            "An index on spans.tag is created without CONCURRENTLY: writes to spans are"
            " blocked while it builds.",
        ),
        (
            "SO113",
            16,
            "An unnamed check constraint on spans.pos is added without NOT VALID: every row"
            " is checked under an exclusive lock, and the ALTER fails if one violates it.",
        ),
        (
            "SO112",
            17,
            "An unnamed foreign key on spans.lead is added without NOT VALID: every row of"
            " spans is checked while writes to both tables are blocked.",
        ),
        (
            "SO114",
            18,
            "Unique constraint uq_ref on spans.ref is added: it fails if duplicates exist,"
            " and builds its index under an exclusive lock that blocks reads and writes of"
            " spans.",
        ),
    ]
    # MariaDB: a column's own CHECK costs nothing, nor does an index; the rest does.
    assert [(f.rule, f.line) for f in lint(tmp_path, body, "mariadb")] == [
        ("SO112", 13),
        ("SO114", 14),
        ("SO112", 17),
        ("SO114", 18),
        ("SO112", 20),
    ]


def test_columns_whose_value_the_database_computes(tmp_path: Path) -> None:
    """An identity, a serial or a stored generated column is filled in every existing
    row when it is added; a virtual one is not."""
    body = _upgrade(
        'op.add_column("spans", sa.Column("seq", sa.Integer(), sa.Identity(), nullable=False))\n'
        '    op.add_column("spans", sa.Column("twice", sa.Integer(),'
        ' sa.Computed("size * 2", persisted=True)))\n'
        '    op.add_column("spans", sa.Column("half", sa.Integer(), sa.Computed("size / 2")))\n'
        '    op.add_column("spans", sa.Column("third", sa.Integer(),'
        ' sa.Computed("size / 3", persisted=False)))\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN n BIGSERIAL")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN m INT GENERATED BY DEFAULT AS IDENTITY")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN k INT GENERATED ALWAYS AS (size) STORED")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN j INT AS (size) VIRTUAL")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN i INT NOT NULL AUTO_INCREMENT UNIQUE")'
    )
    rewritten = ", which the database computes for every existing row: the table is rewritten"
    found = said(lint(tmp_path, body, "postgresql"))
    assert [(rule, line, message.split(rewritten)[0]) for rule, line, message in found] == [
        ("SO102", 13, "spans.seq is added with the identity sa.Identity()"),
        (
            "SO102",
            14,
            "spans.twice is added with the stored generated value"
            " sa.Computed('size * 2', persisted=True)",
        ),
        # Stored too: PostgreSQL before 18 has no virtual generated column.
        (
            "SO102",
            15,
            "spans.half is added with the stored generated value sa.Computed('size / 2')",
        ),
        ("SO102", 17, "spans.n is added with BIGSERIAL"),
        ("SO102", 18, "spans.m is added with GENERATED BY DEFAULT AS IDENTITY"),
        ("SO102", 19, "spans.k is added with GENERATED ALWAYS AS (size) STORED"),
        ("SO102", 21, "spans.i is added with AUTO_INCREMENT"),
        (
            "SO114",
            21,
            "An unnamed unique constraint on spans.i is added: it fails if"
            " duplicates exist, and builds its index under an exclusive lock that blocks reads"
            " and writes of spans.",
        ),
    ]
    assert all(rewritten in message for rule, _, message in found if rule == "SO102")
    # MariaDB gives sa.Identity() a plain NOT NULL column, and keeps a generated column
    # virtual unless told to store it.
    assert [(f.rule, f.line) for f in lint(tmp_path, body, "mariadb")] == [
        ("SO101", 13),
        ("SO102", 14),
        ("SO102", 17),
        ("SO102", 18),
        ("SO102", 19),
        ("SO102", 21),
        ("SO114", 21),
    ]


_UNNAMED = _upgrade(
    'with op.batch_alter_table("spans") as batch_op:\n'
    '        batch_op.create_foreign_key(None, "owners", ["owner_id"], ["id"])\n'
    '        batch_op.create_check_constraint(None, "size > 0")'
)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unnamed_constraints_by_database(tmp_path: Path, dialect: str | None) -> None:
    found = [f for f in lint(tmp_path, _UNNAMED, dialect) if f.rule == "SO123"]
    assert [(f.line, f.severity) for f in found] == [
        (14, "error" if dialect == "sqlite" else "warning"),
        (15, "error" if dialect == "sqlite" else "warning"),
    ]
    foreign, check = (f.message.split(" See ")[0] for f in found)
    if dialect == "sqlite":
        assert foreign == (
            "A foreign key on spans is added without a name in upgrade(): SQLite adds a"
            ' constraint only in batch mode, which refuses one without a name ("Constraint'
            ' must have a name"), so the revision fails.'
        )
    else:
        assert foreign == (
            "A foreign key on spans is added without a name in upgrade(): the database makes"
            " one up, each kind of database its own, so no revision can drop it by a name"
            " that holds everywhere (autogenerate writes drop_constraint(None, ...), which"
            " fails)." + (" On SQLite, batch mode refuses it outright." if dialect is None else "")
        )
    assert check.startswith("A check constraint on spans is added without a name in upgrade():")
    assert found[0].fix == (
        'Name it: batch_op.create_foreign_key(op.f("fk_spans_owner_id_owners"), ...), or give'
        ' the models\' MetaData a naming_convention with a "fk" entry, which names it when'
        " it runs."
    )
    assert found[1].fix.startswith(
        'Name it: batch_op.create_check_constraint(op.f("ck_spans_size")'
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unnamed_constraints_and_the_naming_convention(tmp_path: Path, dialect: str | None) -> None:
    """A convention names the foreign key; the usual check constraint convention takes
    the constraint's own name, so an unnamed check fails on every database."""
    found = lint(tmp_path, _UNNAMED, dialect, naming_convention=NAMING_CONVENTION)
    [check] = [f for f in found if f.rule == "SO123"]
    assert (check.line, check.severity) == (15, "error")
    assert check.message.split(" See ")[0] == (
        "A check constraint on spans is added without a name in upgrade(): the MetaData's"
        " naming convention for it (ck_%(table_name)s_%(constraint_name)s) takes the"
        " constraint's own name, so the operation fails on every database."
    )
    assert check.fix == 'Name it: batch_op.create_check_constraint(op.f("ck_spans_size"), ...).'
    by_class = {sa.ForeignKeyConstraint: "fk_%(table_name)s_%(column_0_name)s"}
    found = lint(tmp_path, _UNNAMED, dialect, naming_convention=by_class)
    assert [f.line for f in found if f.rule == "SO123"] == [15]


def test_postgresql_rules_need_a_postgresql_target(tmp_path: Path) -> None:
    body = _upgrade('op.create_index("ix_spans_name", "spans", ["name"])')
    assert rules(lint(tmp_path, body, "postgresql")) == ["SO109"]
    for dialect in (None, "mysql", "sqlite"):
        assert lint(tmp_path, body, dialect) == []


def test_messages_say_what_each_database_does(tmp_path: Path) -> None:
    body = _upgrade(
        'op.add_column("spans", sa.Column("arn", sa.String(20), nullable=False))\n'
        '    op.create_unique_constraint("uq_spans_name", "spans", ["name"])\n'
        '    op.create_foreign_key("fk_spans_owner", "spans", "owners", ["owner_id"], ["id"])'
    )
    by_dialect = {d: lint(tmp_path, body, d) for d in ("postgresql", "mariadb", "mysql", None)}
    assert said(by_dialect["postgresql"]) == [
        (
            "SO101",
            13,
            "spans.arn is added NOT NULL without a server default: the ALTER fails on a table"
            " that has rows, though it passes on an empty development database.",
        ),
        (
            "SO114",
            14,
            "Unique constraint uq_spans_name on spans is added: it fails if duplicates exist,"
            " and builds its index under an exclusive lock that blocks reads and writes of"
            " spans.",
        ),
        (
            "SO112",
            15,
            "Foreign key fk_spans_owner on spans is added without NOT VALID: every row of"
            " spans is checked while writes to both tables are blocked.",
        ),
    ]
    for dialect in ("mariadb", "mysql"):
        assert said(by_dialect[dialect]) == [
            (
                "SO101",
                13,
                "spans.arn is added NOT NULL without a server default: MariaDB and MySQL fill"
                " every existing row with the type's empty value ('' or 0), which no one"
                " chose, or refuse a DATE or DATETIME column under NO_ZERO_DATE.",
            ),
            (
                "SO114",
                14,
                "Unique constraint uq_spans_name on spans is added: it fails if duplicates"
                " exist (MariaDB and MySQL build its index in place, without blocking writes).",
            ),
            (
                "SO112",
                15,
                "Foreign key fk_spans_owner on spans is added while foreign_key_checks is on:"
                " MariaDB and MySQL then copy spans to check every row, blocking writes to it"
                " meanwhile.",
            ),
        ], dialect
        assert by_dialect[dialect][2].fix == (
            "Make sure no row lacks its parent, then add it with foreign_key_checks off,"
            " which builds it in place without copying the table or checking the old rows:"
            ' op.execute("SET SESSION foreign_key_checks = 0") before it and'
            ' op.execute("SET SESSION foreign_key_checks = 1") after.'
        )
    # A database not known: the rule's own words, and no rule of one database.
    assert said(by_dialect[None]) == [
        (
            "SO101",
            13,
            "spans.arn is added NOT NULL without a server default: the ALTER fails on a table"
            " that has rows, though it passes on an empty development database.",
        ),
        (
            "SO114",
            14,
            "Unique constraint uq_spans_name on spans is added: it fails if duplicates exist,"
            " and builds its index under a lock that blocks writes.",
        ),
    ]


def test_options_for_postgresql_do_nothing_on_mariadb(tmp_path: Path) -> None:
    """MariaDB ignores postgresql_not_valid, and adds a foreign key in place with
    foreign_key_checks off."""
    body = _upgrade(
        'op.create_check_constraint("ck_arn", "spans", "arn IS NOT NULL",'
        " postgresql_not_valid=True)\n"
        '    op.execute("ALTER TABLE spans VALIDATE CONSTRAINT ck_arn")\n'
        '    op.alter_column("spans", "arn", existing_type=sa.String(20), nullable=False)\n'
        '    op.create_foreign_key("fk_a", "spans", "owners", ["owner_id"], ["id"],'
        " postgresql_not_valid=True)\n"
        '    op.execute("SET SESSION foreign_key_checks = 0")\n'
        '    op.create_foreign_key("fk_b", "spans", "owners", ["owner_id"], ["id"])\n'
        '    op.execute("SET SESSION foreign_key_checks = 1")\n'
        '    op.create_foreign_key("fk_c", "spans", "owners", ["owner_id"], ["id"])'
    )
    assert [(f.rule, f.line) for f in lint(tmp_path, body, "mariadb")] == [
        ("SO113", 13),
        ("SO108", 15),
        ("SO112", 16),
        ("SO112", 20),
    ]
    assert [(f.rule, f.line) for f in lint(tmp_path, body, "postgresql")] == [
        ("SO112", 18),
        ("SO112", 20),
    ]


@pytest.mark.parametrize(
    ("old", "new", "dialects"),
    [
        ("sa.String(50)", "sa.Text()", {"mysql", "mariadb"}),
        ("sa.String(20)", "sa.String(100)", {"mysql"}),  # 80 to 400 bytes
        ("sa.String(63)", "sa.String(64)", {"mysql", "mariadb"}),  # 252 to 256 bytes
        ("sa.String(40)", "sa.String(100)", {"mysql", "mariadb"}),  # 160 to 400 bytes
        ("sa.String(20)", "sa.String(60)", set()),  # within 255 bytes
        ("sa.String(100)", "sa.String(400)", set()),  # from 256 bytes up
    ],
)
def test_widenings_that_copy_the_table_on_mysql(
    tmp_path: Path, old: str, new: str, dialects: set[str]
) -> None:
    body = _upgrade(f'op.alter_column("spans", "name", existing_type={old}, type_={new})')
    for dialect in ("mysql", "mariadb", "postgresql", "sqlite", None):
        found = lint(tmp_path, body, dialect)
        assert rules(found) == (["SO107"] if dialect in dialects else []), dialect
        if found:
            assert found[0].message.startswith(
                f"spans.name changes type from {old} to {new}: the table may be rewritten"
            )


@pytest.mark.parametrize(
    ("old", "new", "postgresql"),
    [
        ("sa.NUMERIC(precision=10, scale=2)", "sa.Numeric(precision=12, scale=2)", True),
        ("sa.Numeric(10, 2)", "sa.Numeric()", True),
        ("sa.Numeric(10)", "sa.DECIMAL(12)", True),
        ("sa.Numeric(10, 2)", "sa.Numeric(12, 3)", False),  # a new scale
        ("sa.Numeric(12, 2)", "sa.Numeric(10, 2)", False),  # narrower
        ("sa.Numeric()", "sa.Numeric(10, 2)", False),
    ],
)
def test_numeric_widenings(tmp_path: Path, old: str, new: str, postgresql: bool) -> None:
    """PostgreSQL keeps a NUMERIC whose scale stays and whose precision grows or goes;
    MariaDB and MySQL copy the table for any change of a DECIMAL."""
    body = _upgrade(f'op.alter_column("spans", "num", existing_type={old}, type_={new})')
    assert rules(lint(tmp_path, body, "postgresql")) == ([] if postgresql else ["SO107"])
    for dialect in ("mysql", "mariadb"):
        assert rules(lint(tmp_path, body, dialect)) == ["SO107"], dialect


def test_branches_on_the_dialect(tmp_path: Path) -> None:
    body = """
        def upgrade():
            if op.get_bind().dialect.name == "postgresql":
                with op.get_context().autocommit_block():
                    op.create_index("ix_a", "spans", ["a"], postgresql_concurrently=True)
            else:
                op.create_index("ix_a", "spans", ["a"])
                op.drop_column("spans", "b")
            dialect = op.get_bind().dialect.name
            if dialect not in ("postgresql",):
                op.drop_column("spans", "c")


        def downgrade():
            raise NotImplementedError
    """
    assert lint(tmp_path, body, "postgresql") == []
    found = lint(tmp_path, body, "sqlite")
    assert [(f.rule, f.message.split(" ")[0]) for f in found] == [
        ("SO103", "spans.b"),
        ("SO103", "spans.c"),
    ]
    assert len(lint(tmp_path, body, None)) == 2  # unknown database: every branch


def test_branches_on_a_name_bound_to_the_dialect(tmp_path: Path) -> None:
    body = """
        def upgrade():
            is_pg = op.get_bind().dialect.name == "postgresql"
            dialect = op.get_context().dialect
            if is_pg:
                with op.get_context().autocommit_block():
                    op.create_index("ix_a", "spans", ["a"], postgresql_concurrently=True)
            else:
                op.create_index("ix_a", "spans", ["a"])
            if not is_pg and dialect.name != "sqlite":
                op.drop_column("spans", "b")
            _drop(is_pg)


        def _drop(postgresql):
            if postgresql:
                op.drop_column("spans", "c")


        def downgrade():
            raise NotImplementedError
    """
    assert [f.message.split(" is ")[0] for f in lint(tmp_path, body, "postgresql")] == ["spans.c"]
    assert [f.message.split(" is ")[0] for f in lint(tmp_path, body, "mysql")] == ["spans.b"]
    assert lint(tmp_path, body, "sqlite") == []


def test_a_column_added_earlier_has_rows(tmp_path: Path) -> None:
    """The running release does not know a column added earlier in upgrade(), but its
    table has rows, each holding NULL: making it NOT NULL or changing its type is
    checked as for any column."""
    body = _upgrade(
        'op.add_column("spans", sa.Column("arn", sa.String(), nullable=True))\n'
        '    op.alter_column("spans", "arn", existing_type=sa.String(), nullable=False)\n'
        '    op.add_column("spans", sa.Column("big", sa.Integer(), nullable=True))\n'
        '    op.alter_column("spans", "big", existing_type=sa.Integer(), type_=sa.BigInteger())\n'
        '    op.alter_column("spans", "big", new_column_name="large")\n'
        '    op.drop_column("spans", "arn")\n'
        '    op.execute("ALTER TABLE spans ADD COLUMN code VARCHAR(20)")\n'
        '    op.execute("ALTER TABLE spans ALTER COLUMN code SET NOT NULL")\n'
        '    op.execute("ALTER TABLE spans ALTER COLUMN code TYPE TEXT")\n'
        '    op.execute("ALTER TABLE spans RENAME COLUMN code TO tag")\n'
        '    op.execute("ALTER TABLE spans DROP COLUMN code")'
    )
    assert said(lint(tmp_path, body, "postgresql")) == [
        (
            "SO108",
            14,
            "spans.arn is made NOT NULL: the ALTER fails if a row still holds NULL, and it"
            " reads the whole table under an exclusive lock.",
        ),
        (
            "SO107",
            16,
            "spans.big changes type from sa.Integer() to sa.BigInteger(): the table may be"
            " rewritten under a lock, and the running release may not handle the new type.",
        ),
        (
            "SO108",
            20,
            "spans.code is made NOT NULL: the ALTER fails if a row still holds NULL, and it"
            " reads the whole table under an exclusive lock.",
        ),
        (
            "SO107",
            21,
            "spans.code changes type (raw SQL): the table may be rewritten under a lock, and"
            " the running release may not handle the new type.",
        ),
    ]


def test_a_not_null_check_proves_nothing_until_validated(tmp_path: Path) -> None:
    """SET NOT NULL skips its scan on PostgreSQL only for a valid CHECK (c IS NOT NULL)."""
    unvalidated = (
        'op.create_check_constraint("ck_arn", "spans", "arn IS NOT NULL",'
        " postgresql_not_valid=True)\n"
        '    op.alter_column("spans", "arn", existing_type=sa.String(20), nullable=False)\n'
    )
    assert rules(lint(tmp_path, _upgrade(unvalidated), "postgresql")) == ["SO108"]
    validated = unvalidated.replace(
        "    op.alter_column",
        '    op.execute("ALTER TABLE spans VALIDATE CONSTRAINT ck_arn")\n    op.alter_column',
    )
    assert rules(lint(tmp_path, _upgrade(validated), "postgresql")) == []
    elsewhere = validated.replace("VALIDATE CONSTRAINT ck_arn", "VALIDATE CONSTRAINT ck_other")
    assert rules(lint(tmp_path, _upgrade(elsewhere), "postgresql")) == ["SO108"]
    raw = (
        'op.execute("ALTER TABLE spans ADD CONSTRAINT ck_arn CHECK (arn IS NOT NULL) NOT VALID")\n'
        '    op.execute("ALTER TABLE spans ALTER COLUMN arn SET NOT NULL")'
    )
    assert rules(lint(tmp_path, _upgrade(raw), "postgresql")) == ["SO108"]


def test_tables_created_in_another_schema(tmp_path: Path) -> None:
    """A table created in one schema says nothing of the table of that name in another."""
    body = _upgrade(
        'op.create_table("spans", sa.Column("id", sa.Integer()), schema="archive")\n'
        '    op.create_index("ix_spans_name", "spans", ["name"])\n'
        '    op.add_column("spans", sa.Column("arn", sa.String(), nullable=False))\n'
        '    op.drop_column("spans", "legacy")\n'
        '    op.add_column("spans", sa.Column("arn", sa.String(), nullable=False),'
        ' schema="archive")\n'
        '    op.create_index("ix_archive", "spans", ["name"], schema="archive")\n'
        '    op.execute("CREATE TABLE archive.owners (id INT)")\n'
        '    op.execute("CREATE INDEX ix_owners ON owners (id)")\n'
        '    op.execute("CREATE INDEX ix_archive_owners ON archive.owners (id)")\n'
        '    with op.batch_alter_table("spans", schema="archive") as batch_op:\n'
        '        batch_op.drop_column("legacy")'
    )
    assert [(f.rule, f.line) for f in lint(tmp_path, body, "postgresql")] == [
        ("SO109", 14),
        ("SO101", 15),
        ("SO103", 16),
        ("SO109", 20),
    ]


def test_a_dropped_table_is_named_with_its_schema(tmp_path: Path) -> None:
    body = _upgrade(
        'op.drop_table("invoice", schema="billing")\n'
        '    op.execute("DROP TABLE billing.receipt")\n'
        '    op.drop_table("spans")'
    )
    found = [(f.rule, f.message) for f in lint(tmp_path, body, "postgresql")]
    assert [rule for rule, _ in found] == ["SO104"] * 3
    assert found[0][1].startswith("Table billing.invoice is dropped:")
    assert found[1][1].startswith("Table billing.receipt is dropped:")
    assert found[2][1].startswith("Table spans is dropped:")


def test_helpers_called_from_upgrade_are_read(tmp_path: Path) -> None:
    body = """
        TABLE = "spans"


        def _drop(column):
            op.drop_column(TABLE, column)


        def upgrade():
            _drop("arn")


        def downgrade():
            raise NotImplementedError
    """
    [finding] = lint(tmp_path, body)
    assert finding.rule == "SO103" and finding.message.startswith("A column of spans is dropped")


def test_sql_run_through_the_migrations_connection_in_any_form(tmp_path: Path) -> None:
    """A helper's parameter, a Session or a session factory bound to the connection,
    op.get_context().connection, names bound to them (annotated too): the SQL they run
    is read. A helper handed something else runs nothing the linter sees."""
    body = """
        def _purge(connection, table):
            connection.execute(sa.text("DELETE FROM spans"))


        def _log(cursor):
            cursor.execute("DELETE FROM audit")


        def upgrade():
            _purge(op.get_bind(), "spans")
            sa.orm.Session(bind=op.get_bind()).execute(sa.text("DELETE FROM owners"))
            op.get_context().connection.execute(sa.text("TRUNCATE audit"))
            context = op.get_context()
            bind: sa.Connection = context.bind
            with sa.orm.Session(bind) as session:
                session.execute(sa.text("UPDATE spans SET name = 'x'"))
            factory = sa.orm.sessionmaker(bind=bind.execution_options(isolation_level="AUTOCOMMIT"))
            factory().execute(sa.text("DELETE FROM tags"))
            _purge(connection=bind, table="spans")
            _log(print)


        def downgrade():
            raise NotImplementedError
    """
    deletes = "without WHERE deletes every row of"
    assert [
        (f.line, f.rule, f.severity, f.message.split(" See ")[0]) for f in lint(tmp_path, body)
    ] == [
        (
            13,
            "SO119",
            "warning",
            f"Raw SQL `DELETE FROM spans`: DELETE {deletes} spans in one transaction.",
        ),
        (
            13,
            "SO119",
            "warning",
            f"Raw SQL `DELETE FROM spans`: DELETE {deletes} spans in one transaction.",
        ),
        (
            22,
            "SO119",
            "warning",
            f"Raw SQL `DELETE FROM owners`: DELETE {deletes} owners in one transaction.",
        ),
        (23, "SO119", "warning", "Raw SQL `TRUNCATE audit`: TRUNCATE deletes every row of audit."),
        (
            27,
            "SO119",
            "warning",
            "Raw SQL `UPDATE spans SET name = 'x'`: UPDATE without WHERE rewrites every row of"
            " spans in one transaction.",
        ),
        (
            29,
            "SO119",
            "warning",
            f"Raw SQL `DELETE FROM tags`: DELETE {deletes} tags in one transaction.",
        ),
    ]


def test_downgrade_is_checked_for_what_fails(tmp_path: Path) -> None:
    """downgrade(): CONCURRENTLY in a transaction fails (SO110); one that only returns
    does nothing (SO118); one that raises keeps the enum type (no SO115)."""
    body = """
        def upgrade():
            with op.get_context().autocommit_block():
                op.create_index("ix_a", "spans", ["a"], postgresql_concurrently=True)


        def downgrade():
            op.drop_index("ix_a", table_name="spans", postgresql_concurrently=True)
            op.execute("DROP INDEX CONCURRENTLY ix_b")
            op.drop_column("spans", "b")
    """
    assert said(lint(tmp_path, body)) == [
        (
            "SO110",
            18,
            "drop_index('ix_a') uses CONCURRENTLY inside the migration's transaction:"
            " PostgreSQL refuses it (CREATE/DROP INDEX CONCURRENTLY cannot run inside a"
            " transaction block).",
        ),
        (
            "SO110",
            19,
            "DROP INDEX CONCURRENTLY uses CONCURRENTLY inside the migration's transaction:"
            " PostgreSQL refuses it (CREATE/DROP INDEX CONCURRENTLY cannot run inside a"
            " transaction block).",
        ),
    ]
    fixed = body.replace(
        "        def downgrade():\n",
        "        def downgrade():\n            with op.get_context().autocommit_block():\n    ",
    ).replace('    op.execute("DROP', '        op.execute("DROP')
    assert lint(tmp_path, fixed) == []

    enum = """
        def upgrade():
            postgresql.ENUM("a", "b", name="kind").create(op.get_bind())
            op.add_column("spans", sa.Column("kind", postgresql.ENUM(name="kind")))


        def downgrade():
            {}
    """
    assert rules(lint(tmp_path, enum.format("return"))) == ["SO115", "SO118"]
    irreversible = enum.format(
        '"""Kinds stay."""\n            raise NotImplementedError("kinds stay")'
    )
    assert lint(tmp_path, irreversible) == []


def test_suppression_comments(tmp_path: Path) -> None:
    body = """
        def upgrade():
            op.drop_column("spans", "a")  # schemaops: ignore[SO103] unused since release 4
            op.add_column(
                "spans",
                sa.Column("b", sa.String(), nullable=False),
            )  # schemaops: ignore[not-null-without-default]
            op.drop_column("spans", "c")  # schemaops: ignore[SO104] the wrong rule
            op.drop_table("old")  # schemaops: ignore[SO101, SO104]


        def downgrade():
            raise NotImplementedError
    """
    path = write(tmp_path, body)
    report = lint_paths([path], dialect="postgresql")
    assert [(f.rule, f.message.split(" ")[0]) for f in report.findings] == [("SO103", "spans.c")]
    assert report.suppressed == 3

    # At the top of the file, for the whole file.
    text = path.read_text().replace(
        "revision = ", "# schemaops: ignore[SO103] columns unused since release 4\nrevision = "
    )
    path.write_text(text)
    report = lint_paths([path], dialect="postgresql")
    assert report.findings == () and report.suppressed == 4


def test_a_suppression_comment_naming_no_rule(tmp_path: Path) -> None:
    body = """
        def upgrade():
            op.drop_column("spans", "a")  # schemaops: ignore[SO13, drop-column]
            op.drop_column("spans", "b")  # schemaops: ignore[drop-colum]


        def downgrade():
            raise NotImplementedError
    """
    path = write(tmp_path, body)
    path.write_text(
        path.read_text().replace("\nrevision", "\n# schemaops: ignore[S0119]\nrevision")
    )
    report = lint_paths([path], dialect="postgresql")
    assert [(f.rule, f.line, f.message.split(" See ")[0]) for f in report.findings] == [
        (
            "SO122",
            7,
            "The suppression comment names 'S0119', which is not a rule: it suppresses nothing.",
        ),
        (
            "SO122",
            14,
            "The suppression comment names 'SO13', which is not a rule: it suppresses nothing.",
        ),
        (
            "SO103",
            15,
            "spans.b is dropped: the release still running during the deploy reads"
            " it and fails, and its data is gone.",
        ),
        (
            "SO122",
            15,
            "The suppression comment names 'drop-colum', which is not a rule: it"
            " suppresses nothing.",
        ),
    ]
    assert report.suppressed == 1 and report.findings[0].severity == "warning"


def test_a_suppression_comment_above_upgrade_covers_the_file(tmp_path: Path) -> None:
    body = """
        def _helper():
            pass


        # schemaops: ignore[SO103] columns unused since release 4
        def upgrade():
            op.drop_column("spans", "a")
            op.drop_column("spans", "b")


        def downgrade():
            raise NotImplementedError
    """
    report = lint_paths([write(tmp_path, body)], dialect="postgresql")
    assert report.findings == () and report.suppressed == 2


def test_suppression_comments_that_cover_nothing(tmp_path: Path) -> None:
    """A comment without a rule, or where it covers no line of code, is reported: it
    would read as a reviewed exception while the finding stays."""
    body = """
        def upgrade():
            # schemaops: ignore[SO104] on its own line
            op.drop_table("archive")
            op.drop_column("spans", "a")  # schemaops: ignore
            op.drop_column("spans", "b")  # schemaops: ignore[]
            op.drop_column(
                "spans",
                # schemaops: ignore[SO103] inside the call: its lines
                "c",
            )


        # schemaops: ignore[SO123] below upgrade()
        def downgrade():
            raise NotImplementedError
    """
    report = lint_paths([write(tmp_path, body)], dialect="postgresql")
    fix = (
        "Name each rule by its id (SO103) or its name (drop-column), at the end of the line"
        " of the finding, or on a line of its own above def upgrade() for the whole file;"
        " or remove the comment."
    )
    assert [
        (f.line, f.rule, f.message.split(" See ")[0])
        for f in report.findings
        if f.rule == "SO122" and f.fix == fix
    ] == [
        (
            13,
            "SO122",
            "The suppression comment is on a line of its own inside a function:"
            " it suppresses nothing.",
        ),
        (15, "SO122", "The suppression comment names no rule: it suppresses nothing."),
        (16, "SO122", "The suppression comment names no rule: it suppresses nothing."),
        (
            24,
            "SO122",
            "The suppression comment is on a line of its own below def upgrade():"
            " it suppresses nothing.",
        ),
    ]
    assert [(f.line, f.rule) for f in report.findings if f.rule != "SO122"] == [
        (14, "SO104"),
        (15, "SO103"),
        (16, "SO103"),
    ]
    assert report.suppressed == 1


def test_a_suppression_after_another_tools_directive(tmp_path: Path) -> None:
    """Like pylint's, the comment is read anywhere in a comment, also after another
    tool's directive without a "#" of its own; not in a string."""
    body = """
        def upgrade():
            op.drop_column("spans", "a")  # noqa: E501  schemaops: ignore[SO103] unused
            op.drop_column("spans", "b")  # type: ignore  # schemaops: ignore[SO103] unused
            op.execute("UPDATE spans SET note = '# schemaops: ignore[SO119]'")
            op.drop_column("spans", "c")  # noqa  schemaops: ignore
            op.drop_column("spans", "d")  # noqa: E501 schemaops: ignore[SO13]
            op.drop_column("spans", "e")  # noqa: E501 myschemaops: ignore[SO103]
            # noqa: E501  schemaops: ignore[SO103]
            op.drop_column("spans", "f")


        def downgrade():
            raise NotImplementedError
    """
    report = lint_paths([write(tmp_path, body)], dialect="postgresql")
    assert [(f.line, f.rule, f.message.split(" See ")[0][:60]) for f in report.findings] == [
        (15, "SO119", "Raw SQL `UPDATE spans SET note = '# schemaops: ignore[SO119]"),
        (16, "SO103", "spans.c is dropped: the release still running during the dep"),
        (16, "SO122", "The suppression comment names no rule: it suppresses nothing"),
        (17, "SO103", "spans.d is dropped: the release still running during the dep"),
        (17, "SO122", "The suppression comment names 'SO13', which is not a rule: i"),
        (18, "SO103", "spans.e is dropped: the release still running during the dep"),
        (19, "SO122", "The suppression comment is on a line of its own inside a fun"),
        (20, "SO103", "spans.f is dropped: the release still running during the dep"),
    ]
    assert report.suppressed == 2


def test_settings_disable_regrade_and_threshold(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        _upgrade('op.drop_column("spans", "a")\n    op.execute("CREATE EXTENSION pg_trgm")'),
    )
    report = lint_paths([path], dialect="postgresql")
    assert [(f.rule, f.severity) for f in report.findings] == [
        ("SO103", "warning"),
        ("SO119", "info"),
    ]
    assert not report.failed and report.fails("warning") and not report.fails(None)
    report = lint_paths(
        [path],
        dialect="postgresql",
        disable=["raw-sql"],
        severity={"SO103": "error"},
    )
    assert [(f.rule, f.severity) for f in report.findings] == [("SO103", "error")]
    assert report.failed
    with pytest.raises(ConfigurationError, match="unknown rule 'SO999'"):
        lint_paths([path], disable=["SO999"])
    with pytest.raises(ConfigurationError, match="severity 'fatal'"):
        lint_paths([path], severity={"SO101": "fatal"})


def test_multiple_heads(tmp_path: Path) -> None:
    folder = tmp_path / "versions"
    base = "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    (folder).mkdir()
    for name, parent in (("a", None), ("b", "a"), ("c", "a")):
        (folder / f"{name}_x.py").write_text(
            f'revision = "{name}"\ndown_revision = {parent!r}\n\n{base}'
        )
    report = lint_paths([folder], histories=[folder])
    [finding] = report.findings
    assert finding.rule == "SO121" and finding.line == 2
    assert "has 2 heads (b, c)" in finding.message
    (folder / "d_merge.py").write_text(f'revision = "d"\ndown_revision = ("b", "c")\n\n{base}')
    assert lint_paths([folder], histories=[folder]).findings == ()


def test_annotated_headers_and_constants(tmp_path: Path) -> None:
    """The header style of Alembic's newer templates: ``revision: str = ...``."""
    folder = tmp_path / "versions"
    folder.mkdir()
    base = "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    for name, parent in (("a", None), ("b", "a"), ("c", "a")):
        (folder / f"{name}_x.py").write_text(
            "from typing import Sequence, Union\n\n"
            f'revision: str = "{name}"\n'
            f"down_revision: Union[str, Sequence[str], None] = {parent!r}\n\n{base}"
        )
    [finding] = lint_paths([folder], histories=[folder]).findings
    assert finding.rule == "SO121" and finding.line == 4
    assert "has 2 heads (b, c)" in finding.message

    body = """
        TABLE: str = "spans"


        def upgrade():
            column: str = "arn"
            op.drop_column(TABLE, column)


        def downgrade():
            raise NotImplementedError
    """
    [finding] = lint(tmp_path, body)
    assert finding.message.startswith("spans.arn is dropped:")


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        (
            "WITH d AS (DELETE FROM spans RETURNING id) SELECT * FROM d WHERE id > 1",
            "DELETE without WHERE deletes every row of spans",
        ),
        (
            "WITH u AS (UPDATE spans SET name = 'x' RETURNING id)"
            " INSERT INTO log (id) SELECT id FROM u",
            "UPDATE without WHERE rewrites every row of spans",
        ),
        (
            "WITH n AS (SELECT 1) UPDATE spans SET name = 'x'",
            "UPDATE without WHERE rewrites every row of spans",
        ),
        (
            "UPDATE spans SET name = (SELECT name FROM owners WHERE owners.id = spans.owner_id)",
            "UPDATE without WHERE rewrites every row of spans",
        ),
        ("WITH u AS (UPDATE spans SET name = 'x' WHERE id = 1 RETURNING id) SELECT 1", None),
        ("WITH s AS (SELECT id FROM spans FOR UPDATE) INSERT INTO log SELECT id FROM s", None),
        (
            "WITH n AS (SELECT 2) INSERT INTO spans (id) SELECT * FROM n"
            " ON CONFLICT (id) DO UPDATE SET name = 'x'",
            None,
        ),
        ("UPDATE spans SET name = 'a (b' WHERE id = 1", None),
    ],
)
def test_data_changes_without_where(tmp_path: Path, sql: str, detail: str | None) -> None:
    found = lint(tmp_path, _upgrade(f"op.execute({sql!r})"))
    if detail is None:
        assert found == []
    else:
        [finding] = found
        assert (finding.rule, finding.severity) == ("SO119", "warning")
        assert f"`: {detail} in one transaction. See " in finding.message


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("UPDATE spans SET note = 'a;b' WHERE id = 1", []),
        ("UPDATE spans SET note = 'it''s; fine', \"a;b\" = 1 WHERE id = 1", []),
        ("COMMENT ON TABLE spans IS 'x; DELETE FROM spans'", []),
        ("UPDATE spans SET a = 1 WHERE id = 1; -- ; DELETE FROM spans", []),
        ("UPDATE spans SET a = 1 /* ; /* nested; */ DELETE FROM spans; */ WHERE id = 1", []),
        (
            "DO $$ BEGIN PERFORM 1; END $$; DELETE FROM spans",
            [
                ("SO119", "info", "`DO $$ BEGIN PERFORM 1; END $$`"),
                ("SO119", "warning", "`DELETE FROM spans`: DELETE without WHERE"),
            ],
        ),
        (
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;"
            " DROP TABLE spans",
            [
                ("SO104", "warning", "Table spans is dropped"),
                (
                    "SO119",
                    "info",
                    "`CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql`",
                ),
            ],
        ),
    ],
)
def test_raw_sql_is_split_where_statements_end(
    tmp_path: Path, sql: str, found: list[tuple[str, str, str]]
) -> None:
    """A ";" in a string, a quoted name, a comment or a dollar-quoted body ends no
    statement, and a statement after a dollar-quoted body is checked."""
    findings = lint(tmp_path, _upgrade(f"op.execute({sql!r})"))
    assert [(f.rule, f.severity) for f in findings] == [(r, s) for r, s, _ in found]
    for finding, (_, _, text) in zip(findings, found, strict=True):
        assert text in finding.message


_DROPPED = ("SO104", "warning", "Table spans is dropped")
_EVERY_ROW = ("SO119", "warning", "UPDATE without WHERE rewrites every row of spans")


@pytest.mark.parametrize(
    ("dialect", "sql", "found"),
    [
        # PostgreSQL and SQLite keep a backslash in '...' as it is: the literal ends.
        ("postgresql", r"UPDATE spans SET path = 'C:\' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("sqlite", r"UPDATE spans SET path = 'C:\' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("postgresql", r"UPDATE spans SET path = 'C:\'; DROP TABLE spans", [_DROPPED, _EVERY_ROW]),
        # PostgreSQL's E'...' and MySQL's literals take backslash escapes.
        (
            "postgresql",
            r"UPDATE spans SET path = E'C:\\' WHERE id = 1; DROP TABLE spans",
            [_DROPPED],
        ),
        ("postgresql", r"UPDATE spans SET note = E'it\'s; DROP TABLE spans' WHERE id = 1", []),
        ("mysql", r"UPDATE spans SET path = 'C:\\' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("mariadb", r"UPDATE spans SET note = 'it\'s; DROP TABLE spans' WHERE id = 1", []),
        (
            "mysql",
            r"UPDATE spans SET note = 'a\'b' WHERE id = 1; DROP TABLE spans; SELECT 'c'",
            [_DROPPED],
        ),
        (
            "mysql",
            r'UPDATE spans SET note = "a\"b" WHERE id = 1; DROP TABLE spans; SELECT "c"',
            [_DROPPED],
        ),
        # No database given: what any of them would run is checked.
        (None, r"UPDATE spans SET path = 'C:\' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        (
            None,
            r"UPDATE spans SET note = 'a\'b' WHERE id = 1; DROP TABLE spans; SELECT 'c'",
            [_DROPPED],
        ),
    ],
)
def test_a_statement_after_a_literal_with_a_backslash(
    tmp_path: Path, dialect: str | None, sql: str, found: list[tuple[str, str, str]]
) -> None:
    """Where a literal holding a backslash ends depends on the database; a statement
    after it is checked as that database runs it, and as any database would when
    none is given."""
    findings = lint(tmp_path, _upgrade(f"op.execute({sql!r})"), dialect)
    assert [(f.rule, f.severity) for f in findings] == [(r, s) for r, s, _ in found]
    for finding, (_, _, text) in zip(findings, found, strict=True):
        assert text in finding.message


@pytest.mark.parametrize(
    ("dialect", "sql", "found"),
    [
        # MySQL: # starts a comment, -- only with a space after it, /* */ does not
        # nest, /*! ... */ runs.
        ("mysql", "UPDATE spans SET size = 0 # WHERE id = 1", [_EVERY_ROW]),
        (None, "UPDATE spans SET size = 0 # WHERE id = 1", [_EVERY_ROW]),
        ("postgresql", "UPDATE spans SET size = size # 1 WHERE id = 1", []),
        ("mysql", "DELETE FROM spans WHERE id = 1 # it's gone\n; DROP TABLE spans", [_DROPPED]),
        ("mysql", "UPDATE spans SET size = size--1 WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("mysql", r'UPDATE spans SET note = "x\" WHERE id = 1 -- "', [_EVERY_ROW]),
        ("mysql", "/* a /* b */ DROP TABLE spans; /* c */", [_DROPPED]),
        ("sqlite", "/* a /* b */ DROP TABLE spans; /* c */", [_DROPPED]),
        ("postgresql", "/* a /* b */ DROP TABLE spans; /* c */ */", []),
        (None, "/* a /* b */ DROP TABLE spans; /* c */", [_DROPPED]),
        ("mysql", "/*!50001 DROP TABLE spans */", [_DROPPED]),
        ("postgresql", "/*!50001 DROP TABLE spans */", []),
        # A comment's marks inside a literal, a literal's inside a dollar-quoted body.
        ("mysql", "UPDATE spans SET note = '-- #' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("postgresql", "UPDATE spans SET note = '/*' WHERE id = 1; DROP TABLE spans", [_DROPPED]),
        ("postgresql", "UPDATE spans SET note = $$a' WHERE id = 1 --$$", [_EVERY_ROW]),
        (
            "postgresql",
            "DO $fn$ BEGIN PERFORM '$$;'; END $fn$; DROP TABLE spans",
            [_DROPPED, ("SO119", "info", "`DO $fn$ BEGIN PERFORM '$$;'; END $fn$`")],
        ),
        # The actions of an ALTER TABLE end at commas outside literals.
        (
            "postgresql",
            "ALTER TABLE spans ADD COLUMN mood text DEFAULT ':(', DROP COLUMN legacy",
            [("SO103", "warning", "spans.legacy is dropped")],
        ),
        ("mysql", "ALTER TABLE spans ADD COLUMN note text DEFAULT 'a, DROP COLUMN name'", []),
    ],
)
def test_comments_and_quotes_as_each_database_reads_them(
    tmp_path: Path, dialect: str | None, sql: str, found: list[tuple[str, str, str]]
) -> None:
    findings = lint(tmp_path, _upgrade(f"op.execute({sql!r})"), dialect)
    assert [(f.rule, f.severity) for f in findings] == [(r, s) for r, s, _ in found]
    for finding, (_, _, text) in zip(findings, found, strict=True):
        assert text in finding.message


def test_a_script_that_python_cannot_read(tmp_path: Path) -> None:
    path = write(tmp_path, _upgrade('op.drop_column("spans", "a")'))
    path.write_text(path.read_text().replace("op.drop_column", "op.drop_column\0"))
    with pytest.raises(ScriptError) as error:
        lint_paths([path])
    assert str(error.value) == (
        f"{path} has a syntax error on line 13: source code string cannot contain null"
        " bytes. Fix it, then lint again."
    )


# --- No false positives -------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_projects_own_migrations_are_clean(dialect: str | None) -> None:
    folders = [
        *sorted(REPO.glob("examples/*/migrations/versions")),
        REPO / "tests" / "projects" / "race" / "migrations" / "versions",
    ]
    assert len(folders) >= 2
    report = lint_paths(folders, dialect=dialect, histories=folders)
    assert len(report.files) >= 5
    assert report.findings == () and report.suppressed == 0


_BLOCK = re.compile(
    r"^\.\. code-block:: python\n    :class: (safe|unsafe)\n\n((?:    .*\n|\n)+)", re.M
)


def _docs_examples() -> list[tuple[str, str, str]]:
    docs = (REPO / "docs" / "rules.rst").read_text(encoding="utf-8")
    found = []
    for section in re.split(r"^\.\. _(?=so\d+:)", docs, flags=re.M)[1:]:
        rule = section.split(":")[0].upper()
        for index, match in enumerate(_BLOCK.finditer(section)):
            code = textwrap.dedent(match.group(2))
            found.append(
                pytest.param(rule, match.group(1), code, id=f"{rule}-{match.group(1)}-{index}")
            )
    return found


@pytest.mark.parametrize(("rule", "kind", "code"), _docs_examples())
def test_the_docs_examples(tmp_path: Path, rule: str, kind: str, code: str) -> None:
    """Each unsafe example in docs/rules.rst triggers its rule; each safe pattern
    triggers nothing, on every database."""
    if "def downgrade" not in code:
        code += "\n\ndef downgrade():\n    raise NotImplementedError\n"
    if kind == "unsafe":
        assert rule in rules(lint(tmp_path, code, "postgresql"))
        return
    for dialect in DIALECTS:
        assert lint(tmp_path, code, dialect) == [], dialect


def test_docs_have_every_rule_with_examples() -> None:
    examples = {(rule, kind) for rule, kind, _ in (p.values for p in _docs_examples())}
    for rule in RULES:
        if rule != "SO121":
            assert {(rule, "unsafe"), (rule, "safe")} <= examples, rule


# --- Through the app: generation, the command, pending revisions ------------------------------


def _baseline(make_app: App) -> Flask:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    result = invoke(app, "revision", "--autogenerate", "-m", "baseline")
    assert result.exit_code == 0, result.output
    assert "SO1" not in result.output
    assert invoke(app, "upgrade").exit_code == 0
    return app


def test_generating_the_spans_arn_revision_prints_the_finding(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = _baseline(make_app)
    app = make_app(columns={"arn": sa.Column(sa.String(), nullable=False)})
    result = invoke(app, "revision", "--autogenerate", "-m", "add arn")
    assert result.exit_code == 0, result.output  # writing is never blocked
    [script] = (tmp_path / "migrations" / "versions").glob("*_add_arn.py")
    lines = script.read_text().splitlines()
    [line] = [n for n, text in enumerate(lines, 1) if "sa.Column('arn'" in text]
    relative = f"migrations/versions/{script.name}"
    assert (
        f"{relative}:{line}: SO101 error: spans.arn is added NOT NULL without a server default:"
        in result.output
    )
    assert f"See {DOCS_URL}rules.html#so101\n" in result.output
    assert (
        "    Fix: Give it a server default (server_default=sa.text(\"''\")), or add it nullable,"
        " backfill it, and set NOT NULL in a later revision.\n" in result.output
    )

    result = invoke(app, "lint", "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    [finding] = data["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("SO101", relative, line)
    assert finding["severity"] == "error" and "spans.arn" in finding["message"]
    assert data["failed"] is True and data["files"] == 2

    result = invoke(app, "lint", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"::error file={relative},line={line},title=SO101 not-null-without-default::spans.arn is"
    )
    assert invoke(app, "lint", "--fail-on", "never").exit_code == 0

    # The same column with a server default: nothing to report.
    script.unlink()
    app = make_app(columns={"arn": sa.Column(sa.String(), nullable=False, server_default="")})
    result = invoke(app, "revision", "--autogenerate", "-m", "add arn")
    assert result.exit_code == 0 and "SO1" not in result.output, result.output
    result = invoke(app, "lint")
    assert result.exit_code == 0, result.output
    assert result.output == "Checked 2 revision scripts: no findings.\n"


def test_pending_since_and_the_database_dialect(
    make_app: App, tmp_path: Path, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = _baseline(make_app)
    [baseline] = [r.revision for r in api.current(app=app)]
    assert invoke(app, "revision", "-m", "index", "--rev-id", "r_index").exit_code == 0
    [script] = (tmp_path / "migrations" / "versions").glob("r_index_*.py")
    script.write_text(
        script.read_text()
        .replace(
            "def upgrade():\n    pass",
            'def upgrade():\n    op.create_index("ix_spans_name", "spans", ["name"])',
        )
        .replace(
            "def downgrade():\n    pass",
            'def downgrade():\n    op.drop_index("ix_spans_name", "spans")',
        )
    )
    expected = ["SO109"] if dialect == "postgresql" else []
    for arguments in ((), ("--pending",), ("--since", baseline)):
        report = api.lint(
            pending="--pending" in arguments,
            since=arguments[1] if len(arguments) > 1 else None,
            app=app,
        )
        assert rules(list(report.findings)) == expected, arguments
        assert len(report.files) == (2 if not arguments else 1)
    forced = api.lint(pending=True, dialect="postgresql", app=app)
    assert rules(list(forced.findings)) == ["SO109"]
    result = invoke(app, "lint", "--pending", "--dialect", "postgresql", "--fail-on", "warning")
    assert result.exit_code == 1
    assert "Checked 1 revision script: 0 errors, 1 warning, 0 info." in result.output

    assert invoke(app, "upgrade").exit_code == 0
    result = invoke(app, "lint", "--pending")
    assert (result.exit_code, result.output) == (0, "Checked 0 revision scripts: no findings.\n")
    result = invoke(app, "lint", "--since", "nope")
    assert result.exit_code == 2 and "Unknown revision 'nope'" in result.output


def test_since_takes_revision_arguments_as_other_commands_do(
    make_app: App, tmp_path: Path, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--since`` resolves names as Alembic does (head, heads, base, a label, -1) and
    ``current`` reads the database: ``--since "$(flask db current --bare)"`` works at
    base, in between and at head."""
    monkeypatch.chdir(tmp_path)
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    for rev_id, label in (("r_one", "first"), ("r_two", None)):
        labels = ("--branch-label", label) if label else ()
        assert invoke(app, "revision", "-m", rev_id, "--rev-id", rev_id, *labels).exit_code == 0

    def linted(since: str) -> list[str]:
        result = invoke(app, "lint", "--since", since)
        assert result.exit_code == 0, result.output
        return [Path(f).name.split("_")[1] for f in api.lint(since=since, app=app).files]

    expected = {
        "head": [],
        "heads": [],
        "base": ["one", "two"],
        "first": ["two"],
        "first@head": [],
        "-1": ["two"],
        "r_o": ["two"],
        "current": ["one", "two"],
    }
    assert {since: linted(since) for since in expected} == expected
    for target, files in (("r_one", ["two"]), ("head", [])):
        assert invoke(app, "upgrade", target).exit_code == 0
        bare = invoke(app, "current", "--bare").output
        assert linted(bare) == files == linted("current")
    assert linted("") == ["one", "two"]  # `current --bare` at base prints nothing
    result = invoke(app, "lint", "--since", "r_")
    assert result.exit_code == 2
    assert "Multiple revisions start with 'r_'" in result.output
    assert "Give more characters of the id" in result.output


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_file_is_linted_alone(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script named by path is judged alone: the history's two heads (SO121) are
    reported when the history is linted, not against a file."""
    monkeypatch.chdir(tmp_path)
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    versions = tmp_path / "migrations" / "versions"
    base = "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    for name, parent in (("a", None), ("b", "a"), ("c", "a")):
        (versions / f"{name}_x.py").write_text(
            f'revision = "{name}"\ndown_revision = {parent!r}\n\n{base}'
        )
    result = invoke(app, "lint", "migrations/versions/b_x.py")
    assert (result.exit_code, result.output) == (0, "Checked 1 revision script: no findings.\n")
    result = invoke(app, "lint")
    assert result.exit_code == 1
    assert "migrations/versions/c_x.py:2: SO121 error: The history in" in result.output


def test_lint_settings_and_errors(make_app: App, tmp_path: Path) -> None:
    app = make_app(lint_disable=("SO999",))
    assert invoke(app, "init").exit_code == 0
    result = invoke(app, "lint")
    assert result.exit_code == 2
    assert "lint_disable names an unknown rule 'SO999'" in result.output

    app = make_app(lint_severity={"SO103": "error"}, lint_fail_on="info")
    write(tmp_path / "migrations" / "versions", _upgrade('op.drop_column("spans", "a")'))
    result = invoke(app, "lint")
    assert result.exit_code == 1 and ": SO103 error: spans.a is dropped" in result.output
    result = invoke(app, "lint", "migrations/versions/nothing.py")
    assert result.exit_code == 2 and "no such file" in result.output


_OWNERS = '''"""owners and spans"""

import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "spans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer()),
    )


def downgrade():
    op.drop_table("spans")
    op.drop_table("owners")
'''


def test_an_unnamed_foreign_key_on_each_database(
    make_app: App, another_database: Callable[[str], str], tmp_path: Path, dialect: str
) -> None:
    """What SO123 says happens: SQLite refuses the batch operation, PostgreSQL and
    MariaDB make a name up; with a naming convention the linter is quiet and every
    database gets the convention's name."""
    body = _upgrade(
        'with op.batch_alter_table("spans") as batch_op:\n'
        '        batch_op.create_foreign_key(None, "owners", ["owner_id"], ["id"])'
    )
    made_up = {"postgresql": "spans_owner_id_fkey", "mysql": "spans_ibfk_1"}
    for convention in (None, NAMING_CONVENTION):
        root = tmp_path / ("named" if convention else "unnamed")
        app = make_app(root=root, url=another_database(root.name), naming_convention=convention)
        assert invoke(app, "init").exit_code == 0
        versions = root / "migrations" / "versions"
        (versions / "r1_owners.py").write_text(_OWNERS, encoding="utf-8")
        write(versions, body, name="r2_owner_fk.py")

        result = invoke(app, "lint")
        upgrade = invoke(app, "upgrade")
        with app.app_context():
            engine = app.extensions["sqlalchemy"].engines[None]
            names = [fk["name"] for fk in sa.inspect(engine).get_foreign_keys("spans")]
        if convention is not None:
            assert "SO123" not in result.output, result.output
            assert upgrade.exit_code == 0, upgrade.output
            assert names == ["fk_spans_owner_id_owners"]
        elif dialect == "sqlite":
            assert result.exit_code == 1, result.output
            assert (
                "r2_owner_fk.py:14: SO123 error: A foreign key on spans is added without a name"
                " in upgrade(): SQLite adds a constraint only in batch mode, which refuses one"
                ' without a name ("Constraint must have a name"), so the revision fails.'
            ) in result.output
            assert upgrade.exit_code == 1
            assert "ValueError: Constraint must have a name" in upgrade.output
            assert names == []
        else:
            assert result.exit_code == 0, result.output
            assert (
                "r2_owner_fk.py:14: SO123 warning: A foreign key on spans is added without a"
                " name in upgrade(): the database makes one up"
            ) in result.output
            assert upgrade.exit_code == 0, upgrade.output
            assert names == [made_up[dialect]]


_SPANS_WITH_ROWS = '''"""owners and spans, with rows"""

import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "spans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("size", sa.Integer()),
        sa.Column("owner_id", sa.Integer()),
    )
    op.execute("INSERT INTO owners (id) VALUES (1)")
    op.execute("INSERT INTO spans (id, size, owner_id) VALUES (1, 1, 1), (2, 2, 1), (3, 3, 1)")
    {more}


def downgrade():
    raise NotImplementedError
'''


def _spans_with_rows(make_app: App, tmp_path: Path, *bodies: str, more: str = "pass") -> Flask:
    """An app whose history creates spans with 3 rows (r1), then runs ``bodies`` as
    r2, r3...; the database is at r1."""
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    versions = tmp_path / "migrations" / "versions"
    (versions / "r1_spans.py").write_text(_SPANS_WITH_ROWS.format(more=more), encoding="utf-8")
    for number, body in enumerate(bodies, 2):
        path = write(versions, body, name=f"r{number}_change.py", parent=f"r{number - 1}")
        path.write_text(path.read_text().replace('revision = "r2"', f'revision = "r{number}"'))
    assert invoke(app, "upgrade", "r1").exit_code == 0
    return app


def test_a_column_added_earlier_on_each_database(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    """What SO108 says of a column added earlier in the revision: it holds NULL in
    every existing row, so making it NOT NULL fails."""
    body = _upgrade(
        'with op.batch_alter_table("spans") as batch_op:\n'
        '        batch_op.add_column(sa.Column("arn", sa.String(20), nullable=True))\n'
        '    with op.batch_alter_table("spans") as batch_op:\n'
        '        batch_op.alter_column("arn", existing_type=sa.String(20), nullable=False)'
    )
    app = _spans_with_rows(make_app, tmp_path, body)
    result = invoke(app, "lint")
    assert result.exit_code == 0, result.output
    assert (
        "r2_change.py:16: SO108 warning: spans.arn is made NOT NULL: the ALTER fails if a row"
        " still holds NULL"
    ) in result.output
    upgrade = invoke(app, "upgrade")
    assert upgrade.exit_code == 1, upgrade.output
    refusal = {
        "postgresql": 'column "arn" of relation "spans" contains null values',
        "mysql": "Data truncated for column 'arn' at row 1",
        "sqlite": "NOT NULL constraint failed",
    }
    assert refusal[dialect] in upgrade.output
    assert execute(app, "SELECT version_num FROM alembic_version") == [("r1",)]


def test_columns_added_not_null_on_each_database(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    """What SO101 and SO102 say: PostgreSQL fills an identity, rewriting the table,
    and refuses a NOT NULL column without a default; MariaDB gives an Identity() a
    plain NOT NULL column and fills both with the type's empty value; SQLite refuses
    both."""
    identity = (
        'op.add_column("spans", sa.Column("seq", sa.Integer(), sa.Identity(), nullable=False))'
    )
    arn = 'op.add_column("spans", sa.Column("arn", sa.String(20), nullable=False))'
    app = _spans_with_rows(make_app, tmp_path, _upgrade(identity), _upgrade(arn))
    found = [line.split(" See ")[0] for line in invoke(app, "lint").output.splitlines()]
    if dialect == "mysql":
        not_null = (
            "MariaDB and MySQL fill every existing row with the type's empty value ('' or 0),"
            " which no one chose, or refuse a DATE or DATETIME column under NO_ZERO_DATE."
        )
    else:
        not_null = (
            "the ALTER fails on a table that has rows, though it passes on an empty"
            " development database."
        )
    r2 = (
        "r2_change.py:13: SO102 warning: spans.seq is added with the identity sa.Identity(),"
        " which the database computes for every existing row: the table is rewritten under a"
        " lock (or, for now(), every old row gets the migration's time)."
        if dialect == "postgresql"
        else "r2_change.py:13: SO101 error: spans.seq is added NOT NULL without a server"
        f" default: {not_null}"
    )
    r3 = (
        "r3_change.py:13: SO101 error: spans.arn is added NOT NULL without a server default:"
        f" {not_null}"
    )
    assert [line.split("/versions/")[-1] for line in found if ": SO1" in line] == [r2, r3]

    filenode = "SELECT pg_relation_filenode('spans')"
    before = execute(app, filenode) if dialect == "postgresql" else None
    upgrade = invoke(app, "upgrade", "r2")
    if dialect == "sqlite":
        assert upgrade.exit_code == 1
        assert "Cannot add a NOT NULL column with default value NULL" in upgrade.output
        return
    assert upgrade.exit_code == 0, upgrade.output
    seq = [row[0] for row in execute(app, "SELECT seq FROM spans ORDER BY id")]
    upgrade = invoke(app, "upgrade")
    if dialect == "postgresql":
        assert seq == [1, 2, 3] and execute(app, filenode) != before  # a new file: rewritten
        assert upgrade.exit_code == 1
        assert 'column "arn" of relation "spans" contains null values' in upgrade.output
    else:
        assert seq == [0, 0, 0]
        assert upgrade.exit_code == 0, upgrade.output
        assert execute(app, "SELECT DISTINCT arn FROM spans") == [("",)]


# Statements whose reach turns on where a literal or a comment ends, by database, and
# whether the database runs each on every row of spans ({n}: a size no row has).
_READINGS = {
    "postgresql": [
        (r"UPDATE spans SET size = {n}, note = 'C:\' WHERE id = 1", False),
        (r"UPDATE spans SET size = {n}, note = E'it\'s' WHERE id = 1", False),
        ("UPDATE spans SET size = {n} /* a /* b */ WHERE id = 1 */", True),
        ("UPDATE spans SET size = {n}, note = $$a' WHERE id = 1 --$$", True),
    ],
    "sqlite": [
        (r"UPDATE spans SET size = {n}, note = 'C:\' WHERE id = 1", False),
        ("UPDATE spans SET size = {n} /* a /* b */ WHERE id = 1", False),
    ],
    "mysql": [
        (r"UPDATE spans SET size = {n}, note = 'C:\\' WHERE id = 1", False),
        ("UPDATE spans SET size = {n} # WHERE id = 1", True),
        ("UPDATE spans SET size = size--{n} WHERE id = 1", False),
        (r'UPDATE spans SET size = {n}, note = "x\" WHERE id = 1 -- "', True),
        ("UPDATE spans SET size = {n} /*! WHERE id = 1 */", False),
    ],
}


def test_literals_and_comments_as_each_database_runs_them(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    """The linter reads a literal holding a backslash, and the comments, as the
    database does: an UPDATE is reported as rewriting every row exactly when the
    database rewrites every row."""
    cases = _READINGS[dialect]
    bodies = [
        _upgrade(f"op.execute({sql.format(n=100 + n)!r})") for n, (sql, _) in enumerate(cases, 2)
    ]
    note = 'op.add_column("spans", sa.Column("note", sa.String(50)))'
    app = _spans_with_rows(make_app, tmp_path, *bodies, more=note)
    output = invoke(app, "lint").output
    warned = re.findall(
        r"r(\d+)_change\.py:13: SO119 warning: Raw SQL `[^`]*`: UPDATE without WHERE rewrites"
        " every row of spans",
        output,
    )
    reported = {n: str(n) in warned for n in range(2, len(cases) + 2)}
    rewritten = {}
    for n in range(2, len(cases) + 2):
        before = execute(app, "SELECT id, size, note FROM spans ORDER BY id")
        result = invoke(app, "upgrade", f"r{n}")
        assert result.exit_code == 0, result.output
        after = execute(app, "SELECT id, size, note FROM spans ORDER BY id")
        rewritten[n] = sum(old != new for old, new in zip(before, after, strict=True)) == 3
    expected = {n: every_row for n, (_, every_row) in enumerate(cases, 2)}
    assert (rewritten, reported) == (expected, expected), output


def test_recreate_always_on_each_database(make_app: App, tmp_path: Path, dialect: str) -> None:
    """What SO124 says: a table another table's foreign key references cannot be
    recreated on PostgreSQL and MariaDB; SQLite recreates tables as a matter of course."""
    body = _upgrade(
        'with op.batch_alter_table("spans", recreate="always") as batch_op:\n'
        '        batch_op.add_column(sa.Column("note", sa.String(20), nullable=True))'
    )
    refs = (
        'op.create_table("refs", sa.Column("id", sa.Integer(), primary_key=True),'
        ' sa.Column("span_id", sa.Integer(), sa.ForeignKey("spans.id")))'
    )
    app = _spans_with_rows(make_app, tmp_path, body, more=refs)
    result = invoke(app, "lint", "--fail-on", "warning")
    upgrade = invoke(app, "upgrade")
    if dialect == "sqlite":
        assert result.exit_code == 0, result.output
        assert upgrade.exit_code == 0, upgrade.output
        assert execute(app, "SELECT COUNT(note) FROM spans") == [(0,)]
        return
    assert result.exit_code == 1
    assert (
        "r2_change.py:13: SO124 warning: Table spans is rebuilt by batch mode"
        ' (recreate="always"): every row is copied into a new table that replaces it'
    ) in result.output
    assert ", and it fails if another table's foreign key references it." in result.output
    assert upgrade.exit_code == 1
    refusal = {
        "postgresql": "cannot drop constraint pk_spans on table spans because other objects"
        " depend on it",
        "mysql": "Cannot delete or update a parent row: a foreign key constraint fails",
    }
    assert refusal[dialect] in upgrade.output


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_lint_names_the_dialects_it_knows(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    body = _upgrade('op.create_index("ix_spans_name", "spans", ["name"])')
    write(tmp_path / "migrations" / "versions", body)
    for name in ("postgres", "oracle2"):
        result = invoke(app, "lint", "--dialect", name)
        assert result.exit_code == 2, result.output
        assert result.output == (
            f"Error: Unknown dialect {name!r}: the linter knows mariadb, mssql, mysql, oracle,"
            " postgresql, sqlite. Give one of them, or none to lint each database for its own.\n"
        )
    with pytest.raises(ConfigurationError, match=r"^Unknown dialect 'postgres': "):
        api.lint(dialect="postgres", app=app)
    result = invoke(app, "lint", "--dialect", "PostgreSQL")
    assert result.exit_code == 0, result.output
    assert ": SO109 warning: Index ix_spans_name on spans is created" in result.output


# --- The safe patterns run on a real database ---------------------------------------------

_SETUP = {
    "SO105": "",
    "SO108": "ALTER TABLE spans ADD COLUMN arn VARCHAR; UPDATE spans SET arn = 'x'",
    "SO111": "CREATE INDEX ix_spans_name ON spans (name)",
    "SO116": "CREATE TYPE ticket_state AS ENUM ('open', 'closed')",
    "SO120": "ALTER TABLE spans ADD COLUMN arn VARCHAR",
}
_SKIP = {"SO117", "SO119"}  # a downgrade-only snippet; an extension the server may lack


def _safe_patterns() -> list[tuple[str, str]]:
    return [
        pytest.param(rule, code, id=rule)
        for rule, kind, code in (p.values for p in _docs_examples())
        if kind == "safe" and rule not in _SKIP
    ]


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("rule", "code"), _safe_patterns())
def test_the_safe_patterns_run_on_postgresql(
    make_app: App, tmp_path: Path, rule: str, code: str
) -> None:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    for statement in [
        "CREATE TABLE owners (id INTEGER PRIMARY KEY)",
        "CREATE TABLE span_archive (id INTEGER PRIMARY KEY)",
        "CREATE TABLE spans (id SERIAL PRIMARY KEY, name VARCHAR(200), size INTEGER,"
        " owner_id INTEGER, legacy_ref VARCHAR(20))",
        "INSERT INTO owners (id) VALUES (1), (2)",
        "INSERT INTO spans (name, size, owner_id) VALUES ('a', 1, 1), ('b', 2, 2), ('c', 3, 1)",
        *[s for s in _SETUP.get(rule, "").split(";") if s.strip()],
    ]:
        execute(app, statement)
    body = code if "def downgrade" in code else code + "\n\ndef downgrade():\n    pass\n"
    write(tmp_path / "migrations" / "versions", body, parent=None)
    result = invoke(app, "upgrade")
    assert result.exit_code == 0, result.output
    assert execute(
        app, "SELECT COUNT(*) FROM " + ("trace_spans" if rule == "SO106" else "spans")
    ) == [(3,)]


def _mariadb_patterns() -> list[tuple[str, str]]:
    return [
        pytest.param(rule, code, id=rule)
        for rule, kind, code in (p.values for p in _docs_examples())
        if kind == "safe" and '"mariadb"' in code
    ]


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
@pytest.mark.parametrize(("rule", "code"), _mariadb_patterns())
def test_the_safe_patterns_for_mariadb_run_on_mariadb(
    make_app: App, tmp_path: Path, rule: str, code: str
) -> None:
    """The safe patterns that do something else on MariaDB (SO108, SO112, SO123) run
    there, and do what they say."""
    assert len(_mariadb_patterns()) == 3
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    for statement in [
        "CREATE TABLE owners (id INTEGER PRIMARY KEY)",
        "CREATE TABLE spans (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200),"
        " size INTEGER, owner_id INTEGER, arn VARCHAR(20))",
        "INSERT INTO owners (id) VALUES (1), (2)",
        "INSERT INTO spans (name, size, owner_id, arn) VALUES ('a', 1, 1, 'x'), ('b', 2, 2, 'y')",
    ]:
        execute(app, statement)
    body = code if "def downgrade" in code else code + "\n\ndef downgrade():\n    pass\n"
    write(tmp_path / "migrations" / "versions", body, parent=None)
    result = invoke(app, "upgrade")
    assert result.exit_code == 0, result.output
    with app.app_context():
        inspector = sa.inspect(app.extensions["sqlalchemy"].engines[None])
        nullable = {c["name"]: c["nullable"] for c in inspector.get_columns("spans")}
        keys = [fk["name"] for fk in inspector.get_foreign_keys("spans")]
    if rule == "SO108":
        assert nullable["arn"] is False
    else:
        assert keys == ["fk_spans_owner_id_owners"]
    assert execute(app, "SELECT COUNT(*) FROM spans") == [(2,)]


@pytest.mark.parametrize(
    "sql",
    [
        'f"DROP TABLE {name}"',
        '"DROP TABLE %s" % name',
        '"DROP TABLE %(t)s" % {"t": name}',
        '"DROP TABLE {}".format(name)',
        'sa.text("DROP TABLE {t}".format(t=name))',
    ],
)
def test_sql_formatted_from_known_values_is_read(tmp_path: Path, sql: str) -> None:
    body = f"""
        def upgrade():
            name = "spans"
            op.execute({sql})


        def downgrade():
            raise NotImplementedError
    """
    assert [(f.rule, f.message.split(":")[0]) for f in lint(tmp_path, body)] == [
        ("SO104", "Table spans is dropped")
    ]


def test_a_name_is_read_as_bound_where_it_is_used(tmp_path: Path) -> None:
    """A local name stands for what it is bound to at that point of its own function:
    not for a value another function, an earlier line or one branch gives it."""
    body = """
        TABLE = "spans"


        def _drop(table):
            op.execute(f"DROP TABLE {table}")


        def downgrade():
            name = "owners"


        def upgrade():
            name = "scratch"
            op.create_table(name, sa.Column("id", sa.Integer()))
            op.drop_table(name)
            name = "spans"
            op.drop_table(name)
            for TABLE in ("scratch",):
                op.execute(f"DROP TABLE {TABLE}")
            if op.get_context().as_sql:
                name = "scratch"
            op.execute(f"DROP TABLE {name}")
            _drop("scratch")
    """
    unread = (
        "is built when the script runs, so the linter cannot read it: review what it locks"
        " and what the running release expects."
    )
    assert [(f.line, f.rule, f.message.split(" See ")[0]) for f in lint(tmp_path, body)] == [
        (16, "SO119", f"Raw SQL `f'DROP TABLE {{table}}'` {unread}"),
        (
            28,
            "SO104",
            "Table spans is dropped: the release still running during the deploy reads it"
            " and fails, and its rows are gone.",
        ),
        (30, "SO119", f"Raw SQL `f'DROP TABLE {{TABLE}}'` {unread}"),
        (33, "SO119", f"Raw SQL `f'DROP TABLE {{name}}'` {unread}"),
    ]


def test_sql_with_bound_parameters_or_through_a_cursor_is_read(tmp_path: Path) -> None:
    body = """
        def upgrade():
            op.execute(sa.text("UPDATE spans SET name = :n").bindparams(n="x"))
            cursor = op.get_bind().connection.cursor()
            cursor.execute("DROP TABLE spans")


        def downgrade():
            raise NotImplementedError
    """
    found = [(f.rule, f.severity, f.message.split(" See ")[0]) for f in lint(tmp_path, body)]
    assert found == [
        (
            "SO119",
            "warning",
            "Raw SQL `UPDATE spans SET name = :n`: UPDATE without WHERE rewrites every row of"
            " spans in one transaction.",
        ),
        (
            "SO104",
            "warning",
            "Table spans is dropped: the release still running during the deploy reads it"
            " and fails, and its rows are gone.",
        ),
    ]
