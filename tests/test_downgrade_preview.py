"""Before an online downgrade, `flask db downgrade` shows the tables and columns the
reverted revisions drop, with their rows, and goes on only once that is confirmed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apps import columns, execute, invoke, tables
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import api, compat

App = Callable[..., Flask]


def _invoices(db: SQLAlchemy) -> None:
    attributes: dict[str, Any] = {
        "__tablename__": "invoices",
        "id": sa.Column(sa.Integer, primary_key=True),
        "total": sa.Column(sa.Integer, nullable=False),
    }
    type("Invoice", (db.Model,), attributes)


def _ok(app: Flask, *args: str) -> str:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _with_invoices(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Flask, str, str]:
    """An app at its second revision, which creates table invoices; return the app,
    the revision id and its script (relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    _ok(app, "revision", "--autogenerate", "-m", "baseline")
    _ok(app, "upgrade")
    app = make_app(models=_invoices)
    _ok(app, "revision", "--autogenerate", "-m", "invoices")
    _ok(app, "upgrade")
    [script] = (tmp_path / "migrations" / "versions").glob("*_invoices.py")
    return app, script.name.split("_")[0], f"migrations/versions/{script.name}"


def _drop_line(script: str) -> int:
    lines = Path(script).read_text().splitlines()
    [line] = [n for n, text in enumerate(lines, 1) if "drop_table('invoices')" in text]
    return line


def test_rows_lost_need_yes_without_a_terminal(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, revision, script = _with_invoices(make_app, tmp_path, monkeypatch)
    execute(app, "INSERT INTO invoices (total) VALUES (10), (20), (30)")

    preview = api.downgrade_preview("-1", app=app)
    assert [r.revision for r in preview.reverted] == [revision]
    [loss] = preview.losses
    assert (loss.table, loss.column, loss.rows, loss.revision) == ("invoices", None, 3, revision)
    assert preview.rows_lost == 3 and preview.needs_confirmation

    result = invoke(app, "downgrade")
    assert result.exit_code == 1, result.output
    assert (
        "This downgrade drops data:\n"
        f"  table invoices: 3 rows (revision {revision}, {script}:{_drop_line(script)})\n"
    ) in result.output
    assert (
        "Error: nothing was reverted: the downgrade would lose the data listed above and"
        " there is no terminal to confirm it." in result.output
    )
    assert "`flask db downgrade -1 --yes` (or set SCHEMAOPS_DOWNGRADE_CONFIRM = False)" in (
        result.output
    )
    assert "invoices" in tables(app)
    assert execute(app, "SELECT COUNT(*) FROM invoices") == [(3,)]
    assert [r.revision for r in api.current(app=app)] == [revision]

    output = _ok(app, "downgrade", "--yes")
    assert "table invoices: 3 rows" in output and "1 revision reverted" in output
    assert "invoices" not in tables(app)


def test_nothing_lost_means_no_question(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = _with_invoices(make_app, tmp_path, monkeypatch)  # invoices is empty
    preview = api.downgrade_preview("base", app=app)
    assert len(preview.reverted) == 2 and preview.rows_lost == 0
    assert {(loss.table, loss.rows) for loss in preview.losses} == {("invoices", 0), ("spans", 0)}
    assert not preview.needs_confirmation
    output = _ok(app, "downgrade", "base")
    assert "drops data" not in output and "2 revisions reverted" in output
    assert tables(app) == {"alembic_version"}


def test_dropped_columns_count_their_values(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    _ok(app, "revision", "--autogenerate", "-m", "baseline")
    _ok(app, "upgrade")
    app = make_app(columns={"arn": sa.Column(sa.String(50))})
    _ok(app, "revision", "--autogenerate", "-m", "arn")
    _ok(app, "upgrade")
    execute(app, "INSERT INTO spans (name, arn) VALUES ('a', 'x'), ('b', 'y'), ('c', NULL)")
    result = invoke(app, "downgrade", "-1")
    assert result.exit_code == 1
    assert "  column spans.arn: 2 values (revision " in result.output
    assert "lose the data listed above" in result.output
    assert "arn" in columns(app, "spans")


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)
def test_a_table_outside_the_default_schema_is_named_with_it(
    make_app: App,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dialect: str,
    another_database: Callable[[str], str],
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    if dialect == "postgresql":
        schema = "billing"
        execute(app, "CREATE SCHEMA billing")
    else:  # a schema is a database
        schema = str(sa.make_url(another_database("billing")).database)
    _ok(app, "init")
    _ok(app, "revision", "-m", "invoices", "--rev-id", "inv")
    [path] = (tmp_path / "migrations" / "versions").glob("inv_*.py")
    table = (
        "op.create_table('invoice', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('total', sa.Integer), schema=SCHEMA)\n"
        "    op.create_table('spans', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('total', sa.Integer))"
    )
    text = path.read_text().replace("def upgrade():\n    pass", f"def upgrade():\n    {table}")
    drop = "op.drop_table('spans')\n    op.drop_table('invoice', schema=SCHEMA)"
    text = text.replace("def downgrade():\n    pass", f"def downgrade():\n    {drop}")
    path.write_text(text.replace("\ndef upgrade", f"\nSCHEMA = {schema!r}\n\n\ndef upgrade"))
    _ok(app, "upgrade")
    execute(app, f"INSERT INTO {schema}.invoice (total) VALUES (10), (20)")
    execute(app, "INSERT INTO spans (total) VALUES (10)")

    result = invoke(app, "downgrade", "-1")
    assert result.exit_code == 1
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "drop_table('invoice'" in text)
    assert (
        "This downgrade drops data:\n"
        f"  table spans: 1 row (revision inv, migrations/versions/{path.name}:{line - 1})\n"
        f"  table {schema}.invoice: 2 rows (revision inv, migrations/versions/{path.name}:{line})\n"
    ) in result.output
    assert execute(app, f"SELECT COUNT(*) FROM {schema}.invoice") == [(2,)]


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_the_setting_and_the_prompt(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = _with_invoices(make_app, tmp_path, monkeypatch)
    execute(app, "INSERT INTO invoices (total) VALUES (10), (20), (30)")

    # At a terminal: asked, and "no" keeps everything.
    monkeypatch.setattr("flask_schemaops.cli._interactive", lambda: True)
    result = app.test_cli_runner().invoke(args=["db", "downgrade"], input="n\n")
    assert result.exit_code == 1
    assert "Revert these revisions and lose that data? [y/N]: n\nNothing was reverted.\n" in (
        result.output
    )
    assert "invoices" in tables(app)
    result = app.test_cli_runner().invoke(args=["db", "downgrade"], input="y\n")
    assert result.exit_code == 0 and "1 revision reverted" in result.output
    assert "invoices" not in tables(app)

    # SCHEMAOPS_DOWNGRADE_CONFIRM = False: shown, not asked.
    monkeypatch.setattr("flask_schemaops.cli._interactive", lambda: False)
    app = make_app(models=_invoices, config={"SCHEMAOPS_DOWNGRADE_CONFIRM": False})
    _ok(app, "upgrade")
    execute(app, "INSERT INTO invoices (total) VALUES (10)")
    output = _ok(app, "downgrade")
    assert "table invoices: 1 row " in output and "1 revision reverted" in output


def test_flask_migrate_functions_do_not_ask(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = _with_invoices(make_app, tmp_path, monkeypatch)
    execute(app, "INSERT INTO invoices (total) VALUES (10), (20), (30)")
    with app.app_context():
        compat.downgrade()
    assert "invoices" not in tables(app)


def _write(folder: Path, revision: str, parent: str | None, upgrade: str, downgrade: str) -> str:
    """Write the revision script ``<revision>.py`` into ``folder``; return its path
    relative to the working directory."""
    path = folder / f"{revision}.py"
    body = (
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {revision!r}\ndown_revision = {parent!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n"
    )
    path.write_text(body)
    return f"migrations/versions/{path.name}"


def _renaming_history(make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """r1 creates items, r2 adds items.nick, r3 renames them to products.nickname."""
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    folder = tmp_path / "migrations" / "versions"
    _write(
        folder,
        "r1",
        None,
        "    op.create_table('items', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('name', sa.String(50)))",
        "    op.drop_table('items')",
    )
    _write(
        folder,
        "r2",
        "r1",
        "    with op.batch_alter_table('items') as batch_op:\n"
        "        batch_op.add_column(sa.Column('nick', sa.String(50)))",
        "    with op.batch_alter_table('items') as batch_op:\n        batch_op.drop_column('nick')",
    )
    _write(
        folder,
        "r3",
        "r2",
        "    op.rename_table('items', 'products')\n"
        "    with op.batch_alter_table('products') as batch_op:\n"
        "        batch_op.alter_column('nick', new_column_name='nickname',"
        " existing_type=sa.String(50))",
        "    with op.batch_alter_table('products') as batch_op:\n"
        "        batch_op.alter_column('nickname', new_column_name='nick',"
        " existing_type=sa.String(50))\n"
        "    op.rename_table('products', 'items')",
    )
    _ok(app, "upgrade", "r2")
    execute(app, "INSERT INTO items (name, nick) VALUES ('a', 'x'), ('b', 'y'), ('c', NULL)")
    _ok(app, "upgrade")
    return app


def test_what_a_reverted_revision_renamed_is_counted_under_its_name_now(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _renaming_history(make_app, tmp_path, monkeypatch)

    result = invoke(app, "downgrade", "base")
    assert result.exit_code == 1, result.output
    assert (
        "This downgrade drops data:\n"
        "  column items.nick (now products.nickname): 2 values"
        " (revision r2, migrations/versions/r2.py:17)\n"
        "  table items (now products): 3 rows (revision r1, migrations/versions/r1.py:15)\n"
        "Error: nothing was reverted: the downgrade would lose the data listed above"
    ) in result.output
    assert execute(app, "SELECT COUNT(*) FROM products") == [(3,)]
    assert [r.revision for r in api.current(app=app)] == ["r3"]

    # Reverting r3 alone renames; nothing is dropped, nothing asked.
    output = _ok(app, "downgrade", "r2")
    assert "drops data" not in output and "1 revision reverted" in output
    assert execute(app, "SELECT COUNT(nick) FROM items") == [(2,)]


def test_a_dropped_table_that_cannot_be_found_still_asks(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _renaming_history(make_app, tmp_path, monkeypatch)
    _ok(app, "downgrade", "r2")
    execute(app, "ALTER TABLE items RENAME TO items_kept")  # by hand, outside the migrations

    preview = api.downgrade_preview("base", app=app)
    assert [(loss.what, loss.rows) for loss in preview.losses] == [
        ("column items.nick", None),
        ("table items", None),
    ]
    assert preview.rows_lost == 0 and preview.needs_confirmation
    result = invoke(app, "downgrade", "base")
    assert result.exit_code == 1, result.output
    assert (
        "This downgrade drops data:\n"
        "  column items.nick: not found in the database, so its data could not be counted"
        " (revision r2, migrations/versions/r2.py:17)\n"
        "  table items: not found in the database, so its data could not be counted"
        " (revision r1, migrations/versions/r1.py:15)\n"
    ) in result.output
    assert "Error: nothing was reverted" in result.output
    assert execute(app, "SELECT COUNT(*) FROM items_kept") == [(3,)]
    assert [r.revision for r in api.current(app=app)] == ["r2"]


def test_the_command_to_run_again_keeps_the_database_and_directory(
    make_app: App, another_database: Callable[[str], str], tmp_path: Path
) -> None:
    app = make_app(binds={"audit": another_database("audit")})
    _ok(app, "-d", "schema", "init")
    _ok(app, "-d", "schema", "revision", "--autogenerate", "-m", "baseline")
    _ok(app, "-d", "schema", "upgrade")
    execute(app, "INSERT INTO audit_items (label) VALUES ('signed in')", bind="audit")
    execute(app, "INSERT INTO spans (name) VALUES ('kept')")

    result = invoke(app, "downgrade", "base", "--bind", "audit", "-d", "schema", "-x", "k=v w")
    assert result.exit_code == 1, result.output
    # With -x, env.py may pick another database: nothing is counted, each drop asks.
    assert (
        "  [audit] table audit_items: in the database env.py picks from -x or --tag,"
        " so its data could not be counted (revision "
    ) in result.output
    assert (
        " then run `flask db downgrade base -d schema --bind audit -x 'k=v w' --yes`"
        " (or set SCHEMAOPS_DOWNGRADE_CONFIRM = False)."
    ) in result.output
    assert tables(app, "audit") == {"alembic_version", "audit_items"}


def test_a_preview_that_fails_reverted_nothing(
    make_app: App, another_database: Callable[[str], str], tmp_path: Path
) -> None:
    app = make_app(binds={"audit": another_database("audit")})
    _ok(app, "init")
    _ok(app, "revision", "--autogenerate", "-m", "baseline")
    _ok(app, "upgrade")
    _ok(app, "downgrade", "--bind", "audit", "base", "--yes")

    result = invoke(app, "downgrade", "-1", "--yes")
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "Error: [audit] Relative revision -1 didn't produce 1 migrations: there are not that"
        " many revisions to move over.\n"
        "See `flask db history -i` for where the database stands.\n"
        "Nothing was reverted on any database.\n"
    )
    assert "spans" in tables(app)
    assert [r.target for r in api.current(app=app)] == ["default"]


def test_what_the_downgrade_creates_again_holds_nothing_of_today(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    folder = tmp_path / "migrations" / "versions"
    create = "    op.create_table('notes', sa.Column('id', sa.Integer, primary_key=True))"
    _write(folder, "n1", None, create, "    op.drop_table('notes')")
    _write(folder, "n2", "n1", "    op.drop_table('notes')", create)
    _write(
        folder,
        "n3",
        "n2",
        "    op.execute('DROP TABLE IF EXISTS leftovers')",
        "    op.execute('DROP TABLE IF EXISTS leftovers')",
    )
    _ok(app, "upgrade")

    preview = api.downgrade_preview("base", app=app)
    assert [(loss.what, loss.rows) for loss in preview.losses] == [
        ("table leftovers", 0),
        ("table notes", 0),
    ]
    output = _ok(app, "downgrade", "base")
    assert "drops data" not in output and "3 revisions reverted" in output


def _line(script: str, text: str) -> int:
    [line] = [n for n, code in enumerate(Path(script).read_text().splitlines(), 1) if text in code]
    return line


def test_sql_built_as_the_script_runs_is_read_or_needs_a_confirmation(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    script = _write(
        tmp_path / "migrations" / "versions",
        "rw1",
        None,
        "    name = 'raw_e'\n"
        "    op.create_table(name, sa.Column('id', sa.Integer, primary_key=True))\n"
        "    for table in ('raw_a', 'raw_b', 'raw_c', 'raw_d'):\n"
        "        op.create_table(table, sa.Column('id', sa.Integer, primary_key=True))",
        "    name = 'raw_a'\n"
        "    op.execute(f'DROP TABLE {name}')\n"
        "    op.execute('DROP TABLE %s' % ('raw_' + 'b'))\n"
        "    op.execute(sa.text('DROP TABLE {}'.format('raw_c')))\n"
        "    name = 'raw_d'\n"
        "    op.drop_table(name)\n"
        "    for table in ['raw_e']:\n"
        "        op.execute(f'DROP TABLE {table}')",
    )
    _ok(app, "upgrade")
    for count, table in enumerate(["raw_a", "raw_b", "raw_c", "raw_d", "raw_e"], 1):
        rows = ", ".join(f"({n})" for n in range(1, count + 1))
        execute(app, f"INSERT INTO {table} (id) VALUES {rows}")

    result = invoke(app, "downgrade", "base")
    assert result.exit_code == 1, result.output

    def at(text: str) -> str:
        return f"(revision rw1, {script}:{_line(script, text)})"

    assert (
        "This downgrade drops data:\n"
        f"  table raw_a: 1 row {at('{name}')}\n"
        f"  table raw_b: 2 rows {at('%')}\n"
        f"  table raw_c: 3 rows {at('.format')}\n"
        f"  table raw_d: 4 rows {at('op.drop_table(name)')}\n"
        "  SQL `f'DROP TABLE {table}'`: what it drops is not known before it runs, so its"
        f" data could not be counted {at('{table}')}\n"
        "Error: nothing was reverted: the downgrade would lose the data listed above"
    ) in result.output
    assert tables(app) == {"alembic_version", "raw_a", "raw_b", "raw_c", "raw_d", "raw_e"}

    output = _ok(app, "downgrade", "base", "--yes")
    assert "1 revision reverted" in output
    assert tables(app) == {"alembic_version"}


def test_sql_the_preview_does_not_know_needs_a_confirmation(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    _ok(app, "init")
    script = _write(
        tmp_path / "migrations" / "versions",
        "pr1",
        None,
        "    op.create_table('kept', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.execute('CREATE VIEW kept_ids AS SELECT id FROM kept')\n"
        "    op.execute(sa.table('kept', sa.column('id')).insert().values(id=9))\n"
        "    op.execute('CALL archive_and_drop(1)')\n"
        "    op.execute(sa.schema.DropTable(sa.table('kept')))\n"
        "    op.get_bind().connection.cursor().execute('DROP TABLE kept')",
    )
    _ok(app, "upgrade")
    execute(app, "INSERT INTO kept (id) VALUES (1)")

    preview = api.downgrade_preview("base", app=app)
    assert [(loss.what, loss.rows) for loss in preview.losses] == [
        ("SQL `CALL archive_and_drop(1)`", None),
        ("SQL `sa.schema.DropTable(sa.table('kept'))`", None),
        ("table kept", 1),
    ]
    assert preview.needs_confirmation
    result = invoke(app, "downgrade", "base")
    assert result.exit_code == 1, result.output
    assert (
        "This downgrade drops data:\n"
        "  SQL `CALL archive_and_drop(1)`: what it drops is not known before it runs, so its"
        f" data could not be counted (revision pr1, {script}:{_line(script, 'CALL')})\n"
        "  SQL `sa.schema.DropTable(sa.table('kept'))`: what it drops is not known before it"
        f" runs, so its data could not be counted (revision pr1, {script}:"
        f"{_line(script, 'DropTable')})\n"
        f"  table kept: 1 row (revision pr1, {script}:{_line(script, 'cursor')})\n"
        "Error: nothing was reverted"
    ) in result.output
    assert tables(app) == {"alembic_version", "kept"}
