"""The pytest plugin (flask_schemaops.testing), run on fixture projects through
pytester against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg  # noqa: F401
import pymysql  # noqa: F401
import pytest
import sqlalchemy as sa
from servers import Server

# Imported here, so the in-process pytester runs find them loaded: pytester unloads
# the modules a run imports; SQLAlchemy warns when its dialects load twice, and a
# second psycopg no longer matches the errors its compiled part raises.
import flask_schemaops.testing.checks
from flask_schemaops.lint.rules import RULES
from flask_schemaops.targets import masked_url
from flask_schemaops.testing.databases import backend_for

pytest_plugins = ["pytester"]

TEMPLATE = Path(__file__).resolve().parent.parent / "flask_schemaops" / "templates" / "flask"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "testing"

SCRIPT = '''"""{message}

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = {depends_on!r}


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''

# The clean project's history: (file, revision, down revision, message, upgrade, downgrade).
HISTORY = [
    (
        "r1_items",
        "r1",
        None,
        "create items",
        "op.create_table('items', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('name', sa.String(50), nullable=False))",
        "op.drop_table('items')",
    ),
    (
        "r2_price",
        "r2",
        "r1",
        "add price",
        "op.add_column('items', sa.Column('price', sa.Integer(), nullable=True))\n"
        "    op.execute('UPDATE items SET price = 0')",
        "op.drop_column('items', 'price')",
    ),
    (
        "r3_notes",
        "r3",
        "r2",
        "create notes",
        "op.create_table('notes', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('body', sa.Text(), nullable=True))",
        "op.drop_table('notes')",
    ),
]

FAULTS = {
    # fault: (check, lines expected in the report)
    "downgrade keeps a column": (
        "no_trace",
        [
            "*Revision r2 ('add price', migrations/versions/r2_price.py): its downgrade leaves"
            " a trace.*",
            "  column items.price is left over",
        ],
    ),
    "model differs from its migration": (
        "models_match",
        [
            "*Database 'default' at head (r3): the models differ from the schema the"
            " migrations build:",
            "  add_column items.size",
        ],
    ),
    "two heads": (
        "single_head",
        [
            "*The history of database 'default' has 2 heads:",
            "  Revision r3 ('create notes', migrations/versions/r3_notes.py)",
            "  Revision r4 ('another branch', migrations/versions/r4_branch.py)",
        ],
    ),
    "lint error": (
        "lint",
        [
            "*The migration linter reports 1 finding(s) at error or above:",
            "  Revision r4 ('add flag', migrations/versions/r4_flag.py), line *: error SO101"
            " (not-null-without-default): items.flag is added NOT NULL without a server"
            " default*",
        ],
    ),
    "model module never imported": (
        "models_imported",
        [
            "*Creating the app with proj:create_app does not import these modules, so the"
            " migrations (env.py, autogenerate) do not see their models' tables:",
            "  proj.extra: Extra (line 4)",
        ],
    ),
    "unknown rule in a lint setting": (
        "lint",
        [
            f"lint_disable names an unknown rule 'SO999'. Rules are SO101 to {max(RULES)}, or"
            " their names (e.g. 'not-null-without-default')."
        ],
    ),
}


def write_project(root: Path, url: str, *, fault: str | None = None, ini: str = "") -> None:
    """The fixture project ``proj``: an app factory, models in two modules, three
    revisions; ``fault`` plants one of FAULTS."""
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = .\nschemaops_app = proj:create_app\nschemaops_url = {url}\n{ini}"
    )
    (root / "conftest.py").write_text("")
    package = root / "proj"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """\
            from flask import Flask

            from .models import db, schemaops


            def create_app(config=None):
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///never-used.db"
                app.config.update(config or {})
                db.init_app(app)
                schemaops.init_app(app, db)
                from . import notes  # noqa: F401

                return app
            """
        )
    )
    if fault == "unknown rule in a lint setting":
        init = package / "__init__.py"
        init.write_text(
            init.read_text().replace(
                "    db.init_app(app)\n",
                "    app.config['SCHEMAOPS_LINT_DISABLE'] = 'SO999'\n    db.init_app(app)\n",
            )
        )
    size = (
        "    size = db.Column(db.Integer)\n" if fault == "model differs from its migration" else ""
    )
    (package / "models.py").write_text(
        "from flask_sqlalchemy import SQLAlchemy\n\nfrom flask_schemaops import SchemaOps\n\n"
        "db = SQLAlchemy()\nschemaops = SchemaOps()\n\n\n"
        "class Item(db.Model):\n    __tablename__ = 'items'\n"
        "    id = db.Column(db.Integer, primary_key=True)\n"
        "    name = db.Column(db.String(50), nullable=False)\n"
        f"    price = db.Column(db.Integer)\n{size}"
    )
    (package / "notes.py").write_text(
        "from .models import db\n\n\nclass Note(db.Model):\n    __tablename__ = 'notes'\n"
        "    id = db.Column(db.Integer, primary_key=True)\n    body = db.Column(db.Text)\n"
    )
    if fault == "model module never imported":
        (package / "extra.py").write_text(
            "from .models import db\n\n\nclass Extra(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
        )
    migrations = package / "migrations"
    (migrations / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copyfile(TEMPLATE / name, migrations / name)
    history = list(HISTORY)
    if fault == "downgrade keeps a column":
        history[1] = (*history[1][:5], "pass")
    if fault == "two heads":
        history.append(("r4_branch", "r4", "r2", "another branch", "pass", "pass"))
    if fault == "lint error":
        add = "op.add_column('items', sa.Column('flag', sa.Boolean(), nullable=False))"
        history.append(("r4_flag", "r4", "r3", "add flag", add, "op.drop_column('items', 'flag')"))
    for history_entry in history:
        write_revision(migrations / "versions", *history_entry)


def write_revision(
    folder: Path,
    name: str,
    revision: str,
    down: str | tuple[str, ...] | None,
    message: str,
    upgrade: str,
    downgrade: str,
    depends_on: str | None = None,
) -> None:
    (folder / f"{name}.py").write_text(
        SCRIPT.format(
            message=message,
            revision=revision,
            down=", ".join(down) if isinstance(down, tuple) else down or "",
            down_revision=down,
            depends_on=depends_on,
            upgrade=upgrade,
            downgrade=downgrade,
        )
    )


@pytest.fixture
def server_url(database_server: Server | None, tmp_path: Path) -> Iterator[str]:
    """The URL the plugin makes its databases next to; whatever is left there with
    its name is dropped afterwards."""
    if database_server is None:
        yield f"sqlite:///{tmp_path / 'databases' / 'proj.db'}"
        return
    base = f"plg_{uuid.uuid4().hex[:8]}"
    url = database_server.url(base)
    yield url
    backend = backend_for(sa.make_url(url), tmp_path)
    try:
        for name in backend.names(base):
            backend.drop(name)
    finally:
        backend.close()


def _names(url: str, suffix: str, tmp_path: Path) -> list[str]:
    """The databases the plugin left next to ``url`` whose names go on with ``suffix``."""
    backend = backend_for(sa.make_url(url), tmp_path)
    try:
        return sorted(backend.names(backend.base + suffix))
    finally:
        backend.close()


# --- The ready-made checks -------------------------------------------------------------


def test_every_check_passes_on_the_clean_project(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url)
    # The one-line way to enable them all.
    pytester.makepyfile(test_migrations="from flask_schemaops.testing.checks import *\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "*test_migrations.py::test_migrations_downgrade_leaves_no_trace PASSED*",
            "*test_migrations.py::test_migrations_lint PASSED*",
            "*test_migrations.py::test_migrations_models_imported PASSED*",
            "*test_migrations.py::test_migrations_models_match PASSED*",
            "*test_migrations.py::test_migrations_single_head PASSED*",
            "*test_migrations.py::test_migrations_stairway PASSED*",
            "*test_migrations.py::test_migrations_upgrade PASSED*",
        ]
    )


@pytest.mark.parametrize("fault", FAULTS)
def test_each_planted_fault_is_caught_by_its_check(
    pytester: pytest.Pytester, server_url: str, fault: str
) -> None:
    check, expected = FAULTS[fault]
    # The ini way: the check is collected under the top conftest.py.
    write_project(pytester.path, server_url, fault=fault, ini=f"schemaops_checks = {check}\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1)
    name = flask_schemaops.testing.checks.CHECKS[check].__name__
    result.stdout.fnmatch_lines([f"*conftest.py::{name} FAILED*", f"_* {name} _*", *expected])
    assert "Traceback" not in result.stdout.str()
    assert "During handling" not in result.stdout.str()


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_kept_column_also_breaks_the_stairway(pytester: pytest.Pytester, server_url: str) -> None:
    write_project(
        pytester.path,
        server_url,
        fault="downgrade keeps a column",
        ini="schemaops_checks = stairway",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Revision r2 ('add price', migrations/versions/r2_price.py): the upgrade after its"
            " downgrade failed:",
            "*duplicate column name: price*",
        ]
    )


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_changed_since_checks_only_the_changed_revisions(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_checks = stairway no_trace\n")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=pytester.path, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "history")
    result = pytester.runpytest("-rs", "--schemaops-changed-since=HEAD")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*No revision changed since HEAD.*"])

    # r2 loses its downgrade; r4 is new (untracked): only they are checked.
    versions = pytester.path / "proj" / "migrations" / "versions"
    write_revision(versions, *HISTORY[1][:5], "pass")
    write_revision(versions, "r4_more", "r4", "r3", "more", "pass", "pass")
    result = pytester.runpytest("-v", "--schemaops-changed-since=HEAD")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*Revision r2 ('add price', migrations/versions/r2_price.py): its downgrade leaves*"]
    )
    assert "Revision r1 " not in result.stdout.str()


# Two branches from r3, and the revision that merges them.
BRANCHES = [
    (
        "r4a_tags",
        "r4a",
        "r3",
        "create tags",
        "op.create_table('tags', sa.Column('id', sa.Integer(), primary_key=True))",
        "op.drop_table('tags')",
    ),
    (
        "r4b_colour",
        "r4b",
        "r3",
        "add colour",
        "op.add_column('items', sa.Column('colour', sa.String(10), nullable=True))",
        "op.drop_column('items', 'colour')",
    ),
    (
        "r5_merge",
        "r5",
        ("r4a", "r4b"),
        "merge, with a table",
        "op.create_table('merged', sa.Column('id', sa.Integer(), primary_key=True))",
        "op.drop_table('merged')",
    ),
]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)
def test_the_stairway_and_no_trace_walk_a_branched_and_merged_history(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_checks = stairway no_trace\n")
    versions = pytester.path / "proj" / "migrations" / "versions"
    for entry in BRANCHES:
        write_revision(versions, *entry)
    pytester.runpytest().assert_outcomes(passed=2)

    # r4b's downgrade keeps its column: the checks blame r4b, and only r4b.
    write_revision(versions, *BRANCHES[1][:5], "pass")
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "Revision r4b ('add colour', migrations/versions/r4b_colour.py): the upgrade after"
            " its downgrade failed:",
            "Revision r4b ('add colour', migrations/versions/r4b_colour.py): its downgrade"
            " leaves a trace. After the upgrade and the downgrade, the schema differs from"
            " before the upgrade:",
            "  column items.colour is left over",
        ]
    )
    output = result.stdout.str()
    assert "Revision r4a " not in output and "Revision r5 " not in output, output


# On top of BRANCHES' r4a and r4b: r5a, on r4a's branch, indexes the column r4b adds on
# the other branch, so it depends on r4b; z1 starts a history of its own (no parent)
# whose table refers to items, so it depends on r3. An upgrade to r5a applies r4b
# first, and records r5a alone; the one to z1 records z1 alone.
DEPENDS_ON = [
    (
        "r5a_colour_index",
        "r5a",
        "r4a",
        "index colour",
        "op.create_index('ix_items_colour', 'items', ['colour'])",
        "op.drop_index('ix_items_colour', table_name='items')",
        "r4b",
    ),
    (
        "z1_audit",
        "z1",
        None,
        "create audit",
        "op.create_table('audit', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id')))",
        "op.drop_table('audit')",
        "r3",
    ),
]


def test_the_stairway_and_no_trace_honour_depends_on(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_checks = stairway no_trace\n")
    versions = pytester.path / "proj" / "migrations" / "versions"
    for entry in (*BRANCHES[:2], *DEPENDS_ON):
        write_revision(versions, *entry)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)

    # r5a's downgrade keeps its index: the checks blame r5a, and only r5a.
    write_revision(versions, *DEPENDS_ON[0][:5], "pass", "r4b")
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "Revision r5a ('index colour', migrations/versions/r5a_colour_index.py): the"
            " upgrade after its downgrade failed:",
            "Revision r5a ('index colour', migrations/versions/r5a_colour_index.py): its"
            " downgrade leaves a trace. After the upgrade and the downgrade, the schema"
            " differs from before the upgrade:",
            "  index ix_items_colour on items is left over",
        ]
    )
    output = result.stdout.str()
    assert "Revision r4b " not in output and "Revision z1 " not in output, output


# --- Fixtures ---------------------------------------------------------------------------

APP_TESTS = """
import sqlalchemy as sa
from flask_schemaops import api
from proj.models import Item, db


def test_the_database_is_built_by_the_migrations(app):
    assert [r.revision for r in api.current()] == ["r3"]
    assert {"alembic_version", "items", "notes"} <= set(sa.inspect(db.engine).get_table_names())


def test_a_commit_here(app):
    db.session.add(Item(name="kept?"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) == 1


def test_is_gone_here(app, client):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) == 0
    assert client.get("/nothing").status_code == 404
"""


@pytest.mark.parametrize("isolation", ["clone", "rollback"])
def test_each_test_gets_its_own_migrated_database(
    pytester: pytest.Pytester, server_url: str, isolation: str
) -> None:
    write_project(pytester.path, server_url, ini=f"schemaops_isolation = {isolation}\n")
    pytester.makepyfile(test_app=APP_TESTS)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    # Only kept templates outlive the session.
    assert _names(server_url, "", pytester.path) == []


# Each test starts on a database equal to the first one, writes down which database
# it got, then changes it in one way. A clone comes back two tests later (the worker
# gets the next test's databases ready while a test runs) when only rows of tables
# the template has empty, or sequences, changed; any other change gets a new clone.
RESET_TESTS = r"""
import pytest
import sqlalchemy as sa
from proj.models import db

FIRST = {}
LEAKED = []


def state():
    def rows(sql):
        return [list(map(str, row)) for row in db.session.execute(sa.text(sql))]

    return {
        "columns": rows(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY 1, 2"
        ),
        "items": rows("SELECT * FROM items ORDER BY id"),
        "tags": rows("SELECT * FROM tags ORDER BY id"),
        "kinds": rows("SELECT * FROM kinds ORDER BY id"),
        # Each sequence as the next nextval() sees it.
        "sequences": [
            rows(f"SELECT '{name}', last_value, is_called FROM {name}")
            for [name] in rows("SELECT sequencename FROM pg_sequences ORDER BY 1")
        ],
        "comments": rows("SELECT objoid, description FROM pg_description WHERE objoid >= 16384"),
        "schemas": rows("SELECT nspname FROM pg_namespace ORDER BY 1"),
        "settings": rows(
            "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d"
            " ON d.oid = s.setdatabase WHERE d.datname = current_database()"
        ),
    }


@pytest.fixture(autouse=True)
def same_start(app, request):
    now = state()
    assert now == FIRST.setdefault("state", now)
    db.session.rollback()
    with open("got.txt", "a") as f:
        f.write(f"{request.node.name[5:]} {db.engine.url.database}\n")


def run(*statements):
    with db.engine.begin() as c:
        for statement in statements:
            c.execute(sa.text(statement))


def test_nothing(app):
    pass


def test_rows(app):
    run(
        "INSERT INTO items (name) VALUES ('a'), ('b')",
        "INSERT INTO tags (item_id, label) SELECT id, 'x' FROM items",
        "INSERT INTO notes (body) VALUES ('n')",
    )


def test_sequence(app):
    run("SELECT nextval('items_id_seq')")


def test_sequence_set_back(app):
    run("SELECT setval('items_id_seq', 50, false)")


def test_left_open(app):
    c = db.engine.connect()
    c.execute(sa.text("INSERT INTO items (name) VALUES ('never committed')"))
    LEAKED.append(c)  # no commit, no close: a connection the test forgot


def test_seed_row_changed(app):
    run("UPDATE kinds SET name = 'other' WHERE id = 1")


def test_seed_row_deleted(app):
    run("DELETE FROM kinds WHERE id = 2")


def test_column_added(app):
    run("ALTER TABLE notes ADD COLUMN extra integer")


def test_table_truncated(app):
    run("TRUNCATE notes")


def test_temporary_table(app):
    run("CREATE TEMPORARY TABLE scratch (x integer)")


def test_comment(app):
    run("COMMENT ON TABLE items IS 'changed'")


def test_database_setting(app):
    run(
        "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = ''8MB''',"
        " current_database()); END$$"
    )


def test_rows_again(app):
    run("INSERT INTO kinds (id, name) VALUES (3, 'c')")


def test_last(app):
    pass


def test_very_last(app):
    pass
"""

# Whether each test's change can be undone in place (True) or gets a new clone.
RESETTABLE = {
    "nothing": True,
    "rows": True,
    "sequence": True,
    "sequence_set_back": True,
    "left_open": True,
    "seed_row_changed": False,  # kinds has rows in the template
    "seed_row_deleted": False,
    "column_added": False,
    "table_truncated": False,
    "temporary_table": False,  # a schema for temporary tables stays behind
    "comment": False,
    "database_setting": False,
    "rows_again": False,  # into kinds, which the template has rows in
}


@pytest.fixture
def owner_url(database_server: Server, server_url: str) -> Iterator[str]:
    """``server_url`` for a role that may create databases but is no superuser."""
    role = f"plg_owner_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD 'owner-pw'")
    try:
        url = sa.make_url(server_url).set(username=role, password="owner-pw")
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            for (name,) in c.exec_driver_sql(
                f"SELECT datname FROM pg_database WHERE datdba = '{role}'::regrole"
            ).all():
                c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            c.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
@pytest.mark.parametrize("role", ["superuser", "owner"])
def test_a_used_clone_is_reset_only_when_that_is_sound(
    pytester: pytest.Pytester, database_server: Server, request: pytest.FixtureRequest, role: str
) -> None:
    server_url = request.getfixturevalue("server_url" if role == "superuser" else "owner_url")
    write_project(pytester.path, server_url)
    write_revision(
        pytester.path / "proj" / "migrations" / "versions",
        "r4_more",
        "r4",
        "r3",
        "tags and kinds",
        "op.create_table('tags', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id'), nullable=False),"
        " sa.Column('label', sa.String(20)))\n"
        "    kinds = op.create_table('kinds', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('name', sa.String(20)))\n"
        "    op.bulk_insert(kinds, [{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}])",
        "op.drop_table('kinds')\n    op.drop_table('tags')",
    )
    pytester.makepyfile(test_reset=RESET_TESTS)
    pytester.runpytest().assert_outcomes(passed=len(RESETTABLE) + 2)
    got = [line.split() for line in (pytester.path / "got.txt").read_text().splitlines()]
    assert [test for test, _ in got[: len(RESETTABLE)]] == list(RESETTABLE)
    for (test, database), (_, two_later) in zip(got, got[2:], strict=False):
        assert (database == two_later) == RESETTABLE[test], (test, got)
    assert _names(server_url, "", pytester.path) == []


# The test leaves dead rows in a table that autovacuum takes up at once and goes
# through slowly, and ends once an autovacuum worker is in its clone. A user who is
# no superuser sees that worker's session without its type.
AUTOVACUUM_TEST = r"""
import time

import sqlalchemy as sa
from proj.models import db


def test_vacuumed(app):
    with db.engine.begin() as c:
        c.execute(sa.text(
            "CREATE TABLE bulk (x integer, pad text) WITH (autovacuum_vacuum_threshold = 0,"
            " autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 100,"
            " autovacuum_vacuum_cost_limit = 1)"
        ))
        c.execute(sa.text(
            "INSERT INTO bulk SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g"
        ))
        c.execute(sa.text("DELETE FROM bulk"))
    db.engine.dispose()  # a session hands its statistics to autovacuum when it ends
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db.engine.connect() as c:
            if c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type IS DISTINCT FROM 'client backend'"
            )).scalar():
                return
        time.sleep(0.1)
    raise AssertionError("no autovacuum worker came to the clone")
"""


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_clone_autovacuum_works_in_is_dropped_for_a_user_who_is_no_superuser(
    pytester: pytest.Pytester, database_server: Server, owner_url: str
) -> None:
    # DROP DATABASE ... WITH (FORCE) refuses such a user when an autovacuum worker
    # is in the database; the clone was left behind.
    admin = sa.create_engine(database_server.url("postgres"), isolation_level="AUTOCOMMIT")

    def naptime(statement: str) -> None:  # how often autovacuum visits each database
        with admin.connect() as c:
            c.exec_driver_sql(statement)
            c.exec_driver_sql("SELECT pg_reload_conf()")

    naptime("ALTER SYSTEM SET autovacuum_naptime = 1")
    try:
        write_project(pytester.path, owner_url)
        pytester.makepyfile(test_vacuum=AUTOVACUUM_TEST)
        result = pytester.runpytest()
    finally:
        naptime("ALTER SYSTEM RESET autovacuum_naptime")
        admin.dispose()
    result.assert_outcomes(passed=1)
    assert "Could not drop" not in result.stdout.str()
    assert _names(owner_url, "", pytester.path) == []


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_clone_that_cannot_be_dropped_is_named_in_a_warning(
    pytester: pytest.Pytester, database_server: Server, owner_url: str
) -> None:
    # A superuser's session, which the role that owns the clone may not end.
    superuser = sa.make_url(database_server.url("postgres"))
    write_project(pytester.path, owner_url)
    pytester.makepyfile(
        test_left=f"""
        import sqlalchemy as sa
        from proj.models import db

        LEFT = []

        def test_left(app):
            url = sa.make_url({superuser.render_as_string(hide_password=False)!r})
            engine = sa.create_engine(url.set(database=db.engine.url.database))
            LEFT.append(engine.connect())
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    [left] = _names(owner_url, "_", pytester.path)
    result.stdout.fnmatch_lines(
        [
            "*UserWarning: Could not drop the test database"
            f' {masked_url(sa.make_url(owner_url).set(database=left))}: database "{left}" is'
            " being accessed by other users",
            "  Drop it once nothing is connected to it.",
        ]
    )


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
def test_a_mariadb_clone_goes_on_from_the_templates_sequences(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url)
    write_revision(
        pytester.path / "proj" / "migrations" / "versions",
        "r4_numbers",
        "r4",
        "r3",
        "invoice and order numbers",
        "op.execute('CREATE SEQUENCE invoice_numbers START WITH 100 NOCACHE')\n"
        "    op.execute('CREATE SEQUENCE order_numbers START WITH 100')\n"
        "    op.execute('SELECT NEXTVAL(invoice_numbers), NEXTVAL(order_numbers)')",
        "op.execute('DROP SEQUENCE order_numbers')\n"
        "    op.execute('DROP SEQUENCE invoice_numbers')",
    )
    pytester.makepyfile(
        test_numbers="""
        import sqlalchemy as sa
        from proj.models import db

        def test_numbers(app):
            invoice, order = db.session.execute(
                sa.text("SELECT NEXTVAL(invoice_numbers), NEXTVAL(order_numbers)")
            ).one()
            assert invoice == 101
            # MariaDB does not write down what it hands out of a sequence's cache (1000
            # numbers): the clone starts after the cached ones, as the template would
            # after a restart of the server.
            assert order == 1100
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_kept_template_is_reused_until_a_script_changes(
    pytester: pytest.Pytester, server_url: str, tmp_path: Path
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_keep_template = true\n")
    pytester.makepyfile(
        test_app="""
        import sqlalchemy as sa
        from proj.models import Item, db

        def test_items(app):
            print("ITEMS", db.session.scalars(sa.select(Item.name)).all())
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    [template] = _names(server_url, "_tpl_", tmp_path)
    # A row put into the template shows whether the next session rebuilds it.
    engine = sa.create_engine(
        sa.make_url(server_url).set(database=template)
        if not server_url.startswith("sqlite")
        else f"sqlite:///{Path(sa.make_url(server_url).database or '').parent / template}.db"
    )
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO items (id, name) VALUES (1, 'from the template')"))
    engine.dispose()

    result = pytester.runpytest("-s")
    assert "ITEMS ['from the template']" in result.stdout.str()
    assert _names(server_url, "_tpl_", tmp_path) == [template]

    versions = pytester.path / "proj" / "migrations" / "versions"
    (versions / "r3_notes.py").write_text((versions / "r3_notes.py").read_text() + "# edited\n")
    result = pytester.runpytest("-s")
    assert "ITEMS []" in result.stdout.str()
    [rebuilt] = _names(server_url, "_tpl_", tmp_path)
    assert rebuilt != template


# Each test changes the schema, so that the next tests' databases are new clones of
# the template. The first waits until told to go on.
WAITING_TESTS = """
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from proj.models import db


@pytest.fixture(autouse=True)
def change_the_schema(app):
    yield
    db.session.execute(sa.text("CREATE TABLE scratch (x integer)"))
    db.session.commit()


def test_waits(app):
    Path("started").touch()
    deadline = time.monotonic() + 120
    while not Path("go-on").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_two(app):
    pass


def test_three(app):
    pass


def test_four(app):
    pass
"""


def test_a_kept_template_in_use_by_another_session_is_not_dropped(
    server_url: str, tmp_path: Path
) -> None:
    """Two work trees of a project, with other scripts, keep their templates on one
    server under one prefix."""
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        root.mkdir()
        write_project(root, server_url, ini="schemaops_keep_template = true\n")
    (first / "test_app.py").write_text(WAITING_TESTS)
    (second / "test_app.py").write_text("def test_it(app):\n    pass\n")
    write_revision(
        second / "proj" / "migrations" / "versions", "r4", "r4", "r3", "r4", "pass", "pass"
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}

    def run(root: Path) -> str:
        done = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    running = subprocess.Popen(
        command, cwd=first, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (first / "started").exists():
            assert running.poll() is None and time.monotonic() < deadline, running.stdout
            time.sleep(0.05)
        [template] = _names(server_url, "_tpl_", tmp_path)
        run(second)  # while the first session runs
        assert template in _names(server_url, "_tpl_", tmp_path)
        (first / "go-on").touch()
        output, _ = running.communicate(timeout=300)
    finally:
        running.kill()
    assert running.returncode == 0, output
    assert "4 passed" in output, output

    # Once no session keeps it, the next session of the other scripts drops it.
    run(second)
    assert template not in _names(server_url, "_tpl_", tmp_path)
    assert len(_names(server_url, "_tpl_", tmp_path)) == 1


def test_the_migration_runner(pytester: pytest.Pytester, server_url: str) -> None:
    write_project(pytester.path, server_url)
    pytester.makepyfile(
        test_runner="""
        import pytest
        from flask_schemaops.errors import ConfigurationError

        def test_walk(schemaops_migrations):
            m = schemaops_migrations
            assert m.current() is None
            assert m.revisions() == ["r1", "r2", "r3"]
            m.insert("items", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], revision="r1")
            assert m.current() == "r1"
            # A key that is no column at this revision, in the one row or in any row.
            with pytest.raises(ConfigurationError) as caught:
                m.insert("items", {"id": 3, "name": "c", "price": 5})
            assert str(caught.value) == (
                "Table 'items' of database 'default' at revision r1 has no column price; its"
                " columns are id, name. Insert the rows at a revision that has those columns,"
                " or leave the keys out."
            )
            with pytest.raises(ConfigurationError, match="has no column nmae, prize;"):
                m.insert("items", [{"id": 3, "name": "c"}, {"id": 4, "nmae": "d", "prize": 1}])
            with pytest.raises(ConfigurationError, match="at revision r1 has no table 'notes'"):
                m.insert("notes", {"id": 1})
            assert len(m.rows("items")) == 2
            assert m.step_up() == "r2"  # the data migration fills price
            assert m.rows("items") == [
                {"id": 1, "name": "a", "price": 0},
                {"id": 2, "name": "b", "price": 0},
            ]
            assert [s.revision for s in m.upgrade()] == ["r3"]
            assert "notes" in m.schema()["table"]
            assert m.step_down() == "r2"
            m.downgrade("base")
            assert m.current() is None
            assert set(m.schema()["table"]) == set()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_an_app_that_ignores_the_test_config_is_refused_before_its_database_is_touched(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_checks = upgrade\n")
    init = pytester.path / "proj" / "__init__.py"
    init.write_text(init.read_text().replace("app.config.update(config or {})", "pass"))
    pytester.makepyfile(
        test_app="def test_app(app):\n    pass\n\n\n"
        "def test_runner(schemaops_migrations):\n    pass\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    message = (
        "The app's database is sqlite:///*/instance/never-used.db, not the test database"
        " sqlite:///*/databases/proj.db. Build the app from the config the plugin gives"
        " (create_app(schemaops_database.config)), applied before db.init_app."
    )
    result.stdout.fnmatch_lines([message, message, message])
    assert "During handling" not in result.stdout.str()
    # The database the app would have used instead: never migrated, not even created.
    assert not (pytester.path / "instance" / "never-used.db").exists()


# A test on a migrated database, one on empty ones, and (from the ini file) a check.
EVERY_KIND = """
def test_app(app):
    pass


def test_runner(schemaops_migrations):
    pass
"""


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)
@pytest.mark.parametrize("setting", ["--schemaops-url", "SCHEMAOPS_TEST_DATABASE_URL"])
def test_a_refused_login_fails_each_test_in_two_lines_without_the_password(
    pytester: pytest.Pytester, server_url: str, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    write_project(pytester.path, server_url, ini="schemaops_checks = upgrade\n")
    pytester.makepyfile(test_app=EVERY_KIND)
    url = sa.make_url(server_url).set(password="wrong-pw-4711")
    wrong = url.render_as_string(hide_password=False)
    if setting.startswith("--"):
        result = pytester.runpytest(f"{setting}={wrong}")
    else:
        monkeypatch.setenv(setting, wrong)
        result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    lines = [
        f"The database at {masked_url(url)} refused the login for user {url.username!r}: *",
        f"Check the user name and password in {setting}.",
    ]
    result.stdout.fnmatch_lines(lines * 3, consecutive=False)
    output = result.stdout.str()
    assert "wrong-pw-4711" not in output
    assert "Traceback" not in output and "During handling" not in output
    # Each error: its header and the two lines.
    start = next(i for i, line in enumerate(result.outlines) if " ERRORS " in line)
    end = next(i for i, line in enumerate(result.outlines) if " short test summary " in line)
    assert end - start - 1 == 3 * 3, output


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_failing_factory_shows_its_traceback_without_the_password(
    pytester: pytest.Pytester, server_url: str
) -> None:
    write_project(pytester.path, server_url)
    init = pytester.path / "proj" / "__init__.py"
    init.write_text(
        init.read_text().replace(
            "    db.init_app(app)\n", "    raise RuntimeError('no mail server')\n"
        )
    )
    pytester.makepyfile(test_app="def test_app(app):\n    pass\n")
    password = sa.make_url(server_url).password
    assert password
    for options in ((), ("--tb=long", "--showlocals")):
        result = pytester.runpytest(*options)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            ["config = {*'SQLALCHEMY_DATABASE_URI': '*:***@*", "E * RuntimeError: no mail server"]
        )
        assert password not in result.stdout.str()


@pytest.fixture
def limited(database_server: Server, server_url: str) -> Iterator[tuple[str, sa.Engine]]:
    """``server_url`` for a user who may log in but not create databases, and an
    engine of the server's administrator."""
    user = f"plg_lim_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(server_url)
    postgresql = database_server.dialect == "postgresql"
    admin = sa.create_engine(
        url.set(database="postgres" if postgresql else "mysql"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.exec_driver_sql(
            f"CREATE ROLE {user} LOGIN PASSWORD 'limited-pw'"
            if postgresql
            else f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'limited-pw'"
        )
    try:
        yield url.set(username=user, password="limited-pw").render_as_string(False), admin
    finally:
        with admin.connect() as c:
            if postgresql:
                for (name,) in c.exec_driver_sql(
                    f"SELECT datname FROM pg_database WHERE datdba = '{user}'::regrole"
                ).all():
                    c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
                c.exec_driver_sql(f"DROP ROLE {user}")
            else:
                c.exec_driver_sql(f"DROP USER '{user}'@'%%'")
        admin.dispose()


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)
def test_a_user_who_may_not_create_databases_is_told_what_to_grant(
    pytester: pytest.Pytester, limited: tuple[str, sa.Engine], database_server: Server
) -> None:
    url, admin = limited
    write_project(pytester.path, url, ini="schemaops_checks = upgrade\n")
    pytester.makepyfile(test_app=EVERY_KIND)
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    parsed = sa.make_url(url)
    base, user = parsed.database, parsed.username
    if database_server.dialect == "postgresql":
        grant = f'ALTER ROLE "{user}" CREATEDB;'
        detail = "permission denied to create database"
        what = "let the user create databases. As a superuser"
    else:
        pattern = (base or "").replace("_", "\\_") + "\\_%"  # _ matches any character
        grant = f"GRANT ALL PRIVILEGES ON `{pattern}`.* TO '{user}'@'%';"
        detail = f"(1044, \"Access denied for user '{user}'@'%' to database '{base}_*'\")"
        what = f"whose names start with {base}_. As an administrator"
    lines = [
        f"The test database user may not create the database {base}_* on {masked_url(parsed)}"
        f" (schemaops_url in pytest.ini): {detail}",
        f"The pytest plugin creates* {what}, run: {grant}",
    ]
    result.stdout.fnmatch_lines(lines * 3)
    assert "Traceback" not in result.stdout.str()

    # The statement, run as told, is all the user needs.
    with admin.connect() as c:
        c.exec_driver_sql(grant.replace("%", "%%"))
    pytester.runpytest().assert_outcomes(passed=3)


def test_without_schemaops_app_the_fixtures_say_what_to_set(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(schemaops_database):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*The flask_schemaops fixtures need the app: set `schemaops_app = package.module:*"]
    )


# --- Inert unless used --------------------------------------------------------------------

UNRELATED = {
    "conftest": """
        import pytest

        @pytest.fixture
        def app():
            return "the project's own app fixture"
        """,
    "test_unrelated": """
        import sys
        import warnings
        import pytest

        def test_passes(app):
            assert app == "the project's own app fixture"

        def test_fails():
            assert 1 == 2

        @pytest.mark.skip(reason="skipped")
        def test_skipped():
            pass

        @pytest.mark.xfail
        def test_xfails():
            raise ValueError

        def test_warns():
            warnings.warn("careful", UserWarning)

        def test_nothing_heavy_imported():
            assert not {"sqlalchemy", "alembic", "flask"} & set(sys.modules)
        """,
}


def test_a_project_that_does_not_use_the_plugin_runs_as_without_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(**UNRELATED)
    # In a new interpreter, and without pytest-flask, which imports Flask itself.
    runs = {
        plugin: pytester.runpytest_subprocess("-rA", "-p", "no:flask", *extra)
        for plugin, extra in (("with", ()), ("without", ("-p", "no:schemaops")))
    }
    for result in runs.values():
        result.assert_outcomes(passed=3, failed=1, skipped=1, xfailed=1, warnings=1)

    def report(lines: list[str]) -> list[str]:
        start = next(i for i, line in enumerate(lines) if "short test summary" in line)
        return [line for line in lines[start:] if " in " not in line]

    assert report(runs["with"].outlines) == report(runs["without"].outlines)
    collected = {
        plugin: pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:flask", *extra)
        for plugin, extra in (("with", ()), ("without", ("-p", "no:schemaops")))
    }
    assert collected["with"].outlines[:-1] == collected["without"].outlines[:-1]
    assert "schemaops" not in "\n".join(collected["with"].outlines)


# --- The example project -------------------------------------------------------------------


def test_the_example_projects_tests_pass(server_url: str, tmp_path: Path) -> None:
    """examples/testing: 20 app tests on per-test databases built by 50 revisions,
    and 6 tests of the migrations."""
    env = {**os.environ, "SCHEMAOPS_TEST_DATABASE_URL": server_url}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED ")]
    assert len([line for line in passed if "tests/test_shop.py::" in line]) == 20
    assert len([line for line in passed if "tests/test_migrations.py::" in line]) == 6
    assert " 26 passed in " in done.stdout.splitlines()[-1], done.stdout
