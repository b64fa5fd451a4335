"""`flask db doctor`: each check fires on a database broken that way, with its fix, and
stays silent on a healthy one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apps import execute, invoke
from flask import Flask
from sqlalchemy.pool import NullPool

App = Callable[..., Flask]
HALFWAY = Path(__file__).parent / "projects" / "halfway"


def _ok(app: Flask, *args: str) -> str:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _at_head(app: Flask) -> str:
    """init, baseline and upgrade; the baseline's id."""
    _ok(app, "init")
    _ok(app, "baseline")
    _ok(app, "upgrade")
    return invoke(app, "current", "--bare").output.strip()


def _revision(app: Flask, tmp_path: Path, rev_id: str, body: str, *more: str) -> Path:
    """A hand-written revision ``rev_id`` whose upgrade() is ``body``."""
    _ok(app, "revision", "-m", f"step {rev_id}", "--rev-id", rev_id, *more)
    [path] = (tmp_path / "migrations" / "versions").glob(f"{rev_id}_*.py")
    text = path.read_text().replace("def upgrade():\n    pass", f"def upgrade():\n{body}", 1)
    path.write_text(text)
    return path


def _doctor(app: Flask, *args: str) -> tuple[int, str]:
    result = invoke(app, "doctor", *args)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _report(app: Flask) -> dict[str, Any]:
    code, output = _doctor(app, "--json")
    report: dict[str, Any] = json.loads(output)
    assert code == (0 if report["healthy"] else 1)
    return report


def _checks(app: Flask) -> list[str]:
    return [p["check"] for d in _report(app)["databases"] for p in d["problems"]]


def _block(output: str, check_line: str) -> str:
    """The lines of the finding whose first line contains ``check_line``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if check_line in line)
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines)
    )
    return "\n".join(lines[start:end])


# --- Healthy -------------------------------------------------------------------------------


def test_silent_on_a_healthy_database(make_app: App) -> None:
    app = make_app()
    _at_head(app)
    assert _doctor(app) == (0, "")
    report = _report(app)
    assert report["healthy"] is True
    [database] = report["databases"]
    assert database["target"] == "default" and database["problems"] == []
    assert invoke(app, "-v", "doctor").output.splitlines()[-1] == "No problems found."


# --- The version row names a deleted revision --------------------------------------------------


def test_a_deleted_revision_in_the_version_table(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    first = _at_head(app)
    app = make_app(columns={"arn": sa.Column(sa.String(20))})
    _ok(app, "revision", "--autogenerate", "-m", "add arn", "--rev-id", "feature1")
    _ok(app, "upgrade")
    # Back on a branch without that revision: its file and its model change are gone.
    [script] = (tmp_path / "migrations" / "versions").glob("feature1_*.py")
    script.unlink()
    app = make_app()

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: The database records revision 'feature1'")
    assert (
        "The database records revision 'feature1', which no script has, so every command fails"
        " with \"Can't locate revision identified by 'feature1'\"." in block
    )
    assert "Evidence: alembic_version holds 'feature1'" in block
    assert f"migrations/versions has 1 revision(s), none with that id; head: {first}" in block
    assert "compared with the models, the database differs by: remove_column spans.arn" in block
    assert (
        "Cause:    Newer code migrated it (a deploy migrates first, while the old code still"
        " serves), this checkout is on a branch without it, the database was migrated from"
        " another branch, or its script was deleted or renamed." in block
    )
    assert (
        "Fix:      If newer code migrated it, nothing is wrong: run the commands from that"
        " code. If not, undo by hand the differences above, then `flask db stamp --purge"
        f" {first}`; or restore its script" in block
    )
    assert output.splitlines()[-1] == "1 problem(s) found."

    # The fix, as written.
    execute(app, "ALTER TABLE spans DROP COLUMN arn")
    _ok(app, "stamp", "--purge", first)
    assert _doctor(app) == (0, "")


def test_an_unknown_revision_whose_schema_matches(make_app: App) -> None:
    app = make_app(audit_table="schemaops_audit")
    first = _at_head(app)
    execute(app, "UPDATE alembic_version SET version_num = 'deadbeef0001'")
    execute(
        app,
        "INSERT INTO schemaops_audit (revision, direction, started_at, seconds, success, host)"
        " VALUES ('deadbeef0001', 'upgrade', CURRENT_TIMESTAMP, 0.1, TRUE, 'ci')",
    )
    code, output = _doctor(app)
    assert code == 1
    assert "the schema matches the models" in output
    # The audit history shows the head applied before it: the database is ahead.
    assert output.startswith(
        "WARNING: The database records revision 'deadbeef0001', which no script here has: it"
        " was applied after this checkout's head, so the database is ahead of this code, and"
        " commands here fail with \"Can't locate revision identified by 'deadbeef0001'\".\n"
    )
    assert f"the audit history applied {first} before it: this checkout's head" in output
    assert (
        "  Cause:    Newer code migrated it: a newer version of the app, or a branch built on"
        " this checkout's head.\n"
        "  Fix:      Nothing to fix if deadbeef0001 belongs to newer code: run the commands"
        " from the code that has it. If it should not be there (a branch's migration on a"
        " shared database), check out the code that has it and from there `flask db downgrade"
        f" {first}`, or undo by hand what it changed and `flask db stamp --purge {first}`.\n"
    ) in output
    assert f"`flask db stamp --purge {first}`" in output
    assert _checks(app) == ["unknown-revision"]


def test_a_versioned_database_whose_scripts_are_gone(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    first = _at_head(app)
    versions = tmp_path / "migrations" / "versions"
    versions.rename(tmp_path / "elsewhere")
    versions.mkdir()

    code, output = _doctor(app)
    assert code == 1
    assert output == (
        f"ERROR: The database records revision '{first}', which no script has, so every"
        f" command fails with \"Can't locate revision identified by '{first}'\".\n"
        f"  Evidence: alembic_version holds '{first}'\n"
        "            migrations/versions has no revision script\n"
        "  Cause:    Newer code migrated it (a deploy migrates first, while the old code still"
        " serves), this checkout is on a branch without it, the database was migrated from"
        " another branch, or its script was deleted or renamed.\n"
        "  Fix:      If newer code migrated it, nothing is wrong: run the commands from that"
        " code. If not, restore the revision scripts of migrations/versions (check out the"
        " branch that has them, or move them back). Or, to start its history again from this"
        " database: `flask db stamp --purge base`, then `flask db baseline`.\n"
        "1 problem(s) found.\n"
    )
    shutil.rmtree(versions)  # no folder at all: the same
    assert _doctor(app) == (code, output)

    # The second fix, as written.
    versions.mkdir()
    _ok(app, "stamp", "--purge", "base")
    assert "stamped" in _ok(app, "baseline")
    assert _doctor(app) == (0, "")


def test_scripts_that_cannot_be_loaded(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    _at_head(app)
    path = _revision(app, tmp_path, "orphan", "    pass")
    text = path.read_text()
    [parent] = [line for line in text.splitlines() if line.startswith("down_revision = ")]

    path.write_text(text.replace(parent, "down_revision = 'gone1234'"))
    code, output = _doctor(app)
    assert code == 1
    assert output == (
        "ERROR: The revision scripts cannot be loaded, so no command can run.\n"
        f"  Evidence: {path.name} (revision 'orphan') has down_revision 'gone1234', a revision"
        " no script has. Set it to the revision the script builds on (see `flask db"
        " history`), then run the command again.\n"
        "  Fix:      Fix or restore the script the error names, then run `flask db doctor`"
        " again.\n"
        "1 problem(s) found.\n"
    )
    assert _checks(app) == ["scripts"]

    path.write_text(text + "\ndef (\n")
    code, output = _doctor(app)
    assert code == 1
    lines = len(text.splitlines()) + 2
    assert output == (
        "ERROR: The revision scripts cannot be loaded, so no command can run.\n"
        f"  Evidence: Syntax error in migrations/versions/{path.name}, line {lines}: invalid"
        " syntax.\n"
        "            Fix the file, then run the command again.\n"
        "  Fix:      Fix or restore the script the error names, then run `flask db doctor`"
        " again.\n"
        "1 problem(s) found.\n"
    )


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_json_reports_an_error_as_json(make_app: App, database_url: str) -> None:
    app = make_app(url=sa.make_url(database_url).set(port=1).render_as_string(False))
    _ok(app, "init")
    result = invoke(app, "doctor", "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["healthy"] is False and report["databases"] == []
    assert report["error"].startswith("Cannot connect to the database at postgresql")
    assert ":***@" in report["error"]


# --- Two heads -------------------------------------------------------------------------------


def test_two_heads(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    first = _at_head(app)
    _revision(app, tmp_path, "left", "    op.add_column('spans', sa.Column('l', sa.Integer))")
    body = "    op.add_column('spans', sa.Column('r', sa.Integer))"
    _revision(app, tmp_path, "right", body, "--head", first, "--splice")

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: The revision history has 2 heads")
    assert "head left: step left" in block and "head right: step right" in block
    assert (
        'Fix:      `flask db merge -m "merge heads"`, review the new file, then `flask db'
        " upgrade`" in block
    )
    assert _checks(app) == ["multiple-heads", "pending"]

    _ok(app, "merge", "-m", "merge heads")
    _ok(app, "upgrade")
    app = make_app(columns={"l": sa.Column(sa.Integer), "r": sa.Column(sa.Integer)})
    assert _doctor(app) == (0, "")


# --- Drift, and noise apart ------------------------------------------------------------------


def _noisy_columns(dialect: str) -> dict[str, Any]:
    """Columns whose reflected type differs from the model's on paper only."""
    types: dict[str, Any] = {
        "sqlite": sa.BINARY(16),
        "postgresql": sa.Float(10),  # real
        "mysql": sa.Float(53),  # DOUBLE
    }
    return {"measure": sa.Column(types[dialect])}


def test_an_added_column_is_drift_and_noise_is_apart(
    make_app: App, dialect: str, tmp_path: Path
) -> None:
    code = {"code": sa.Column(sa.String(20))}
    app = make_app(columns={**code, "__table_args__": (sa.Index("spans_code_idx", "code"),)})
    _at_head(app)
    # The model now says index=True: its convention names the index ix_spans_code; and
    # unique=True on the primary key, as models often do.
    columns = {
        "id": sa.Column(sa.Integer, primary_key=True, unique=True),
        "code": sa.Column(sa.String(20), index=True),
        **_noisy_columns(dialect),
    }
    app = make_app(columns=columns)
    execute(app, "ALTER TABLE spans ADD COLUMN measure " + _ddl(app, columns["measure"]))

    assert _doctor(app) == (0, "")  # noise alone is no problem
    [database] = _report(app)["databases"]
    assert "index naming: remove_index spans_code_idx on spans" in database["noise"]
    assert "index naming: add_index ix_spans_code on spans" in database["noise"]
    assert [n for n in database["noise"] if n.startswith("equivalent types: modify_type")]
    assert "unique on a primary key: add_constraint uq_spans_id on spans" in database["noise"]
    verbose = invoke(app, "-v", "doctor").output
    assert "Known noise (no change; autogenerate leaves it out):" in verbose

    execute(app, "ALTER TABLE spans ADD COLUMN extra INTEGER")
    code_, output = _doctor(app)
    assert code_ == 1
    block = _block(output, "WARNING: The database and the models differ in 1 way(s)")
    assert "Evidence: remove_column spans.extra" in block
    assert (
        'Fix:      If the models are right: `flask db revision --autogenerate -m "..."`, review'
        " it, then `flask db upgrade`. If the database was changed by hand, undo that change."
        in block
    )
    assert "Noise:    no change; autogenerate leaves these out:" in block
    assert "index naming: remove_index spans_code_idx on spans" in block
    assert _checks(app) == ["drift"]


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_an_enum_that_is_a_varchar_in_the_database(make_app: App) -> None:
    app = make_app(columns={"kind": sa.Column(sa.String(1))})
    _at_head(app)
    app = make_app(columns={"kind": sa.Column(sa.Enum("a", "b", name="kind"))})
    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "WARNING: The database and the models differ in 1 way(s)")
    assert "Evidence: modify_type spans.kind: VARCHAR(1) -> ENUM('a', 'b')\n" in block + "\n"


def _ddl(app: Flask, column: sa.Column[Any]) -> str:
    with app.app_context():
        dialect = app.extensions["sqlalchemy"].engine.dialect
    return str(column.type.compile(dialect=dialect))


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
def test_server_default_rendering_is_noise(make_app: App) -> None:
    seen = {"seen_at": sa.Column(sa.DateTime, server_default=sa.func.now())}
    app = make_app(columns=seen, compare_server_default=True)
    _at_head(app)
    assert _doctor(app) == (0, "")
    [database] = _report(app)["databases"]
    assert database["noise"] == [
        "server-default rendering: modify_default spans.seen_at: current_timestamp() -> now()"
    ]


# --- Leftovers of a failed batch operation -------------------------------------------------------


def test_leftover_batch_tables(make_app: App, database_url: str) -> None:
    app = make_app()
    _at_head(app)
    execute(app, "CREATE TABLE _alembic_tmp_spans (id INTEGER PRIMARY KEY)")
    execute(app, "CREATE TABLE _alembic_tmp_x (id INTEGER PRIMARY KEY)")
    execute(app, "INSERT INTO _alembic_tmp_x (id) VALUES (1)")

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: _alembic_tmp_spans is left over")
    assert "Evidence: table _alembic_tmp_spans holds 0 row(s)" in block
    assert "the original table spans is still there" in block
    sqlite = sa.make_url(database_url).get_backend_name() == "sqlite"
    path = sa.make_url(database_url).database
    drop = "DROP TABLE _alembic_tmp_spans;"
    assert f"Fix:      {f'sqlite3 {path} {drop!r}' if sqlite else drop}" in block
    block = _block(output, "ERROR: _alembic_tmp_x is left over")
    assert "table _alembic_tmp_x holds 1 row(s)" in block
    assert "the original table x is gone: the leftover has its rows" in block
    assert "ALTER TABLE _alembic_tmp_x RENAME TO x;" in block

    execute(app, "DROP TABLE _alembic_tmp_spans")
    execute(app, "DROP TABLE _alembic_tmp_x")
    assert _doctor(app) == (0, "")


# --- PostgreSQL: leaked enum types and INVALID indexes ---------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_leaked_enum(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    first = _at_head(app)
    body = (
        "    op.create_table('moods', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('mood', sa.Enum('sad', 'glad', name='mood')))"
    )
    path = _revision(app, tmp_path, "moods", body)
    path.write_text(
        path.read_text().replace(
            "def downgrade():\n    pass", "def downgrade():\n    op.drop_table('moods')"
        )
    )
    _ok(app, "upgrade")
    _ok(app, "downgrade", first)  # drop_table leaves the type behind
    path.unlink()

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "WARNING: The enum type mood (sad, glad) is used by no column.")
    assert "Evidence: no column, domain or function uses it" in block
    assert (
        "Cause:    The table or column that used it was dropped, by an upgrade or a downgrade,"
        " in a revision that does not drop the type with it"
    ) in block
    assert (
        "Fix:      DROP TYPE mood; (if a revision's downgrade adds a column of this type back"
        " without creating the type first, add postgresql.ENUM(..., name='mood')"
        ".create(op.get_bind(), checkfirst=True) before it)"
    ) in block
    execute(app, "DROP TYPE mood")
    assert _doctor(app) == (0, "")


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_an_invalid_index(make_app: App, database_url: str) -> None:
    app = make_app()
    _at_head(app)
    execute(app, "INSERT INTO spans (name) VALUES ('same'), ('same')")
    engine = sa.create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.text("CREATE UNIQUE INDEX CONCURRENTLY uq_name ON spans (name)"))
    engine.dispose()

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "WARNING: The index uq_name on spans is INVALID")
    assert "Evidence: pg_index.indisvalid is false" in block
    assert "definition: CREATE UNIQUE INDEX uq_name ON public.spans USING btree (name)" in block
    assert "Fix:      REINDEX INDEX CONCURRENTLY public.uq_name;" in block
    execute(app, "DROP INDEX uq_name")
    assert _doctor(app) == (0, "")


# --- Partly applied revisions --------------------------------------------------------------------


_TAGS = """\
    op.add_column('spans', sa.Column('tag_count', sa.Integer))
    op.create_table(
        'tags',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('name', sa.String(40), nullable=False),
    )
    op.create_index(op.f('ix_tags_name'), 'tags', ['name'])"""


def test_objects_of_a_pending_revision_that_exist(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    app = make_app()
    first = _at_head(app)
    path = _revision(app, tmp_path, "tags", _TAGS)
    execute(app, "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)")

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: Revision tags (step tags) is partly applied")
    assert (
        f"the database records {first}, yet 1 of the 3 object(s) it creates already exist" in block
    )
    line = path.read_text().splitlines().index("    op.create_table(") + 1
    assert (
        f"Evidence: exists: table tags, 0 rows (migrations/versions/{path.name}, line {line})"
        in block
    )
    assert "missing: column spans.tag_count" in block
    assert "missing: index ix_tags_name on tags" in block
    assert (
        "Fix:      They hold no data: drop them (DROP TABLE tags;), then `flask db upgrade`."
        " (Or finish the revision by hand and `flask db stamp tags`.)" in block
    )
    backend = {"sqlite": "SQLite", "mysql": "MariaDB"}.get(dialect)
    outside = (
        "something created them outside the migrations: db.create_all(), a change by hand, or"
        " a revision of another branch."
    )
    if backend is None:
        assert f"Cause:    S{outside[1:]}" in block
    else:  # without transactional DDL, a run of it that failed could have left them too
        assert (
            "Cause:    Either a run of tags that failed or was killed kept what it had done"
            f" (on {backend} each DDL statement takes effect at once), or {outside}" in block
        )
    assert _checks(app) == ["partly-applied", "pending"]

    # Once the table holds rows, no DROP is advised.
    execute(app, "INSERT INTO tags (id, name) VALUES (1, 'red'), (2, 'blue')")
    code, output = _doctor(app)
    block = _block(output, "ERROR: Revision tags (step tags) is partly applied")
    assert f"Evidence: exists: table tags, 2 rows (migrations/versions/{path.name}" in block
    assert (
        "Fix:      Keep them: table tags holds data that dropping would lose. Create by hand"
        " what is marked missing above, run the rest of its upgrade(), then record the"
        " revision: `flask db stamp tags`." in block
    )
    assert "DROP" not in output

    # Following that fix keeps the rows.
    execute(app, "ALTER TABLE spans ADD COLUMN tag_count INTEGER")
    execute(app, "CREATE INDEX ix_tags_name ON tags (name)")
    _ok(app, "stamp", "tags")
    assert _checks(app) == ["drift"]  # these models have no tags: nothing else is wrong
    assert execute(app, "SELECT COUNT(*) FROM tags") == [(2,)]


def test_an_index_made_unique_is_pending_not_partly_applied(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    _at_head(app)
    _revision(app, tmp_path, "named", "    op.create_index('ix_spans_name', 'spans', ['name'])")
    _ok(app, "upgrade")
    # What autogenerate writes when index=True becomes index=True, unique=True.
    _revision(
        app,
        tmp_path,
        "unique",
        "    with op.batch_alter_table('spans') as batch_op:\n"
        "        batch_op.drop_index(batch_op.f('ix_spans_name'))\n"
        "        batch_op.create_index(batch_op.f('ix_spans_name'), ['name'], unique=True)",
    )

    code, output = _doctor(app)
    assert code == 1
    assert output == (
        "WARNING: 1 revision(s) are not applied yet.\n"
        "  Evidence: pending: unique step unique\n"
        "  Fix:      flask db upgrade\n"
        "1 problem(s) found.\n"
    )
    _ok(app, "upgrade")
    execute(app, "INSERT INTO spans (name) VALUES ('a')")
    with pytest.raises(sa.exc.IntegrityError):
        execute(app, "INSERT INTO spans (name) VALUES ('a')")


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"], indirect=True)
def test_a_failed_run_in_the_audit_history_is_the_cause(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    app = make_app(audit_table="schemaops_audit")
    _at_head(app)
    _revision(app, tmp_path, "tags", _TAGS + "\n    op.execute('SELECT * FROM no_such_table')")
    assert invoke(app, "upgrade").exit_code == 1

    _, output = _doctor(app)
    block = _block(output, "ERROR: Revision tags (step tags) is partly applied")
    backend = {"sqlite": "SQLite", "mysql": "MariaDB"}[dialect]
    assert "exists: column spans.tag_count, 0 values" in block
    assert "exists: table tags, 0 rows" in block
    assert "the audit history records a failed upgrade of tags at " in block
    assert "no_such_table" in block
    assert (
        "Cause:    A run of tags failed and kept what it had done: on"
        f" {backend} each DDL statement takes effect at once." in block
    )


# As autogenerate writes them (in batch mode for SQLite), named by the convention.
_CONSTRAINTS = """\
    with op.batch_alter_table('spans') as batch_op:
        batch_op.create_index(batch_op.f('ix_spans_size'), ['size'])
        batch_op.create_unique_constraint(batch_op.f('uq_spans_name'), ['name'])
        batch_op.create_foreign_key(
            batch_op.f('fk_spans_parent_id_spans'), 'spans', ['parent_id'], ['id']
        )
        batch_op.create_check_constraint(batch_op.f('ck_spans_size'), 'size >= 0')"""
_FAILS = "\n    op.execute('SELECT no_such_function()')"


def _constraints_app(make_app: App) -> Flask:
    return make_app(
        columns={
            "size": sa.Column(sa.Integer),
            "parent_id": sa.Column(sa.Integer),
        },
    )


_DROPS = {
    "sqlite": "rebuild spans without ck_spans_size; rebuild spans without"
    " fk_spans_parent_id_spans; rebuild spans without uq_spans_name; DROP INDEX ix_spans_size;",
    "postgresql": "ALTER TABLE spans DROP CONSTRAINT ck_spans_size;"
    " ALTER TABLE spans DROP CONSTRAINT fk_spans_parent_id_spans;"
    " ALTER TABLE spans DROP CONSTRAINT uq_spans_name; DROP INDEX ix_spans_size;",
    "mysql": "ALTER TABLE spans DROP CONSTRAINT ck_spans_size;"
    " ALTER TABLE spans DROP FOREIGN KEY fk_spans_parent_id_spans;"
    " ALTER TABLE spans DROP INDEX uq_spans_name; DROP INDEX ix_spans_size ON spans;",
}


def test_constraints_made_outside_the_migrations(
    make_app: App, tmp_path: Path, dialect: str
) -> None:
    app = _constraints_app(make_app)
    first = _at_head(app)
    path = _revision(app, tmp_path, "checks", _CONSTRAINTS)
    _ok(app, "upgrade")
    _ok(app, "stamp", first)  # as if create_all or a change by hand had made them

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: Revision checks (step checks) is partly applied")
    assert f"the database records {first}, yet 4 of the 4 object(s) it creates" in block
    lines = path.read_text().splitlines()
    script = f"migrations/versions/{path.name}"
    for label, call in (
        ("index ix_spans_size on spans", "create_index"),
        ("unique constraint uq_spans_name on spans", "create_unique_constraint"),
        ("foreign key fk_spans_parent_id_spans on spans", "create_foreign_key"),
        ("check constraint ck_spans_size on spans", "create_check_constraint"),
    ):
        line = next(i for i, text in enumerate(lines, 1) if f"batch_op.{call}(" in text)
        assert f"exists: {label} ({script}, line {line})" in block
    [fix] = [line for line in block.splitlines() if line.startswith("  Fix:")]
    assert fix == (
        "  Fix:      If the rest of checks ran too, record it: `flask db stamp checks`."
        f" Otherwise drop them (they hold no data: {_DROPS[dialect]}) and `flask db upgrade`."
        + (
            " SQLite cannot drop a constraint in place: a rebuild copies the table without"
            " it, as batch_alter_table() with drop_constraint() does."
            if dialect == "sqlite"
            else ""
        )
    )
    assert _checks(app) == ["partly-applied", "pending"]
    if dialect != "sqlite":  # following the fix, as written
        for statement in _DROPS[dialect].split(";")[:-1]:
            execute(app, statement)
        assert _checks(app) == ["pending"]
        _ok(app, "upgrade")
    else:
        _ok(app, "stamp", "checks")
    assert _checks(app) == ["drift"]  # these models have none of them: nothing else is wrong


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
def test_constraints_a_failed_run_kept_on_mariadb(make_app: App, tmp_path: Path) -> None:
    app = _constraints_app(make_app)
    first = _at_head(app)
    path = _revision(app, tmp_path, "checks", _CONSTRAINTS + _FAILS)
    assert invoke(app, "upgrade").exit_code == 1  # each DDL statement took effect at once

    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "ERROR: Revision checks (step checks) is partly applied")
    assert f"the database records {first}, yet 4 of the 4 object(s) it creates" in block
    assert (
        "Cause:    Either a run of checks that failed or was killed kept what it had done"
        " (on MariaDB each DDL statement takes effect at once)" in block
    )
    assert (
        f"Otherwise drop them (they hold no data: {_DROPS['mysql']}) and `flask db upgrade`."
        in block
    )
    # Following the fix, with the script mended, the upgrade runs.
    for statement in _DROPS["mysql"].split(";")[:-1]:
        execute(app, statement)
    path.write_text(path.read_text().replace(_FAILS, ""))
    assert "1 revision applied" in _ok(app, "upgrade")
    assert _checks(app) == ["drift"]


def _wait_for_table(url: str, table: str, process: subprocess.Popen[str]) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + 60
        while table not in sa.inspect(engine).get_table_names():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, f"{table} never appeared"
            time.sleep(0.1)
    finally:
        engine.dispose()


def _flask(url: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app.py", "db", *args],
        cwd=HALFWAY,
        env={**os.environ, "DATABASE_URL": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
def test_a_revision_killed_halfway_on_mariadb(database_url: str) -> None:
    upgrade = _flask(database_url, "upgrade", HALFWAY_SLEEP="60")
    _wait_for_table(database_url, "tags", upgrade)  # h2 created it, then sleeps
    upgrade.send_signal(signal.SIGKILL)
    upgrade.wait()

    doctor = _flask(database_url, "doctor")
    output = doctor.communicate(timeout=120)[0]
    assert doctor.returncode == 1, output
    block = _block(output, "ERROR: Revision h2 (body and tags) is partly applied")
    assert "the database records h1, yet 2 of the 3 object(s) it creates already exist" in block
    script = "migrations/versions/h2_body_and_tags.py"
    assert f"Evidence: exists: column notes.body, 0 values ({script}, line 20)" in block
    assert f"exists: table tags, 0 rows ({script}, line 21)" in block
    assert f"missing: index ix_tags_name on tags ({script}, line 27)" in block
    assert (
        "Cause:    Either a run of h2 that failed or was killed kept what it had done (on"
        " MariaDB each DDL statement takes effect at once), or something created them" in block
    )
    [fix] = [line for line in block.splitlines() if line.startswith("  Fix:")]
    drops = fix.split("They hold no data: drop them (")[1].split("), then `flask db upgrade`.")[0]
    assert drops.startswith("DROP TABLE tags; ALTER TABLE notes DROP COLUMN ")

    # Following the fix, as written.
    engine = sa.create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        for statement in drops.split(";"):
            if statement.strip():
                connection.execute(sa.text(statement))
    engine.dispose()
    upgrade = _flask(database_url, "upgrade")
    output = upgrade.communicate(timeout=120)[0]
    assert upgrade.returncode == 0 and "1 revision applied" in output, output
    doctor = _flask(database_url, "doctor")
    output = doctor.communicate(timeout=120)[0]
    assert doctor.returncode == 1  # the models of this app are empty, nothing else is wrong
    assert output.startswith("ERROR: The models declare no table, but the database holds 2")
    assert output.endswith("\n1 problem(s) found.\n")


# --- Databases create_all built, and histories not started -------------------------------------


def test_a_database_without_version_table(make_app: App) -> None:
    app = make_app()
    with app.app_context():
        app.extensions["sqlalchemy"].create_all()
    _ok(app, "init")
    code, output = _doctor(app)
    assert code == 1
    block = _block(output, "WARNING: migrations/versions holds no revision yet")
    assert "Evidence: tables in the database: spans" in block
    assert "Fix:      flask db baseline" in block

    _ok(app, "revision", "-m", "Initial baseline")
    code, output = _doctor(app)
    block = _block(output, "ERROR: The database has tables but no alembic_version table")
    assert "built by db.create_all() or by hand" in block
    assert "Fix:      flask db baseline (compares the schema with the revisions" in block

    # What a first `flask db upgrade` that failed with "table already exists" leaves:
    # an empty version table. The way out is still baseline, not dropping the tables.
    execute(app, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    code, output = _doctor(app)
    block = _block(output, "ERROR: The database has tables but its alembic_version table")
    assert "records no revision" in block and "partly applied" not in output
    assert "Fix:      flask db baseline (compares the schema with the revisions" in block


def test_models_that_were_not_imported(make_app: App, database_url: str) -> None:
    """An app whose models module nobody imports: not drift to autogenerate away (a
    revision that drops every table), but the import to fix."""
    app = make_app()
    _at_head(app)
    execute(app, "INSERT INTO spans (name) VALUES ('kept')")
    bare = make_app(url=None, config={"SQLALCHEMY_DATABASE_URI": database_url})

    code, output = _doctor(bare)
    assert code == 1
    assert output == (
        "ERROR: The models declare no table, but the database holds 1 (spans): the module"
        " that defines the models is not imported when the app is created, so autogenerate"
        " would drop every table.\n"
        "  Evidence: tables in the database: spans\n"
        "            models: none\n"
        "  Fix:      Import the models before the app is created (e.g. in the app factory),"
        " then run `flask db doctor` again.\n"
        "1 problem(s) found.\n"
    )
    [database] = _report(bare)["databases"]
    assert [p["check"] for p in database["problems"]] == ["no-models"]
    assert database["skipped"] == ["drift: not compared while the models declare no table"]
