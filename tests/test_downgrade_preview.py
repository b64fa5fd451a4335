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
