"""Several databases (Flask-SQLAlchemy binds): one version history per database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from apps import invoke, tables
from flask import Flask

App = Callable[..., Flask]
Database = Callable[[str], str]


def _ok(result: object) -> str:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return result.output  # type: ignore[attr-defined,no-any-return]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.py")}


def test_each_database_has_its_own_history(
    make_app: App, another_database: Database, tmp_path: Path
) -> None:
    users = another_database("users")
    app = make_app(binds={"users": users})
    _ok(invoke(app, "init"))
    folder = tmp_path / "migrations"
    assert (folder / "versions").is_dir() and (folder / "binds" / "users").is_dir()

    output = _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    assert len(re.findall(r"^Wrote ", output, re.MULTILINE)) == 2
    [default_script] = (folder / "versions").glob("*.py")
    [users_script] = (folder / "binds" / "users").glob("*.py")
    assert (
        "'spans'" in default_script.read_text() and "users_items" not in default_script.read_text()
    )
    assert "'users_items'" in users_script.read_text() and "spans" not in users_script.read_text()
    _ok(invoke(app, "upgrade"))
    assert tables(app) == {"alembic_version", "spans"}
    assert tables(app, "users") == {"alembic_version", "users_items"}

    # A third database arrives later: only it gets a revision; no script changes.
    before = _snapshot(folder)
    audit = another_database("audit")
    app = make_app(binds={"users": users, "audit": audit})
    output = _ok(invoke(app, "revision", "--autogenerate", "-m", "Add audit"))
    assert len(re.findall(r"^Wrote ", output, re.MULTILINE)) == 1
    after = _snapshot(folder)
    assert {k: v for k, v in after.items() if k in before} == before
    [added] = set(after) - set(before)
    assert added.startswith("binds/audit/")

    output = _ok(invoke(app, "upgrade"))
    assert "[audit]" in output
    assert tables(app, "audit") == {"alembic_version", "audit_items"}
    report = json.loads(_ok(invoke(app, "status", "--json")))
    assert report["up_to_date"] is True
    assert [d["target"] for d in report["databases"]] == ["default", "users", "audit"]

    output = _ok(invoke(app, "downgrade", "--bind", "audit", "base"))
    assert "[audit] 1 revision reverted" in output
    assert tables(app, "audit") == {"alembic_version"}
    assert tables(app, "users") == {"alembic_version", "users_items"}
    result = invoke(app, "status")
    assert result.exit_code == 1
    audit_section = result.output.split("[audit]\n")[1]
    assert "Current:  <base>\n" in audit_section
    assert re.search(r"Pending:  1 revision\(s\)\n  \w+  Add audit\n", audit_section)
    statuses = json.loads(invoke(app, "status", "--json").output)["databases"]
    assert [len(d["pending"]) for d in statuses] == [0, 0, 1]
    report = json.loads(_ok(invoke(app, "status", "--json", "--bind", "users")))
    assert [d["target"] for d in report["databases"]] == ["users"]

    # One database behind head: autogenerate and check refuse before any is compared,
    # so nothing is written for the others either.
    before = _snapshot(folder)
    for args in (("revision", "--autogenerate", "-m", "more"), ("check",)):
        result = invoke(app, *args)
        assert result.exit_code == 1, result.output
        assert "The database (audit) is not at the head revision" in result.stderr
        assert "Nothing was generated or compared." in result.stderr
    assert _snapshot(folder) == before


def test_a_failure_says_where_it_ran_and_where_not(
    make_app: App, another_database: Database, tmp_path: Path
) -> None:
    app = make_app(binds={"users": another_database("users"), "audit": another_database("audit")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    [script] = (tmp_path / "migrations" / "binds" / "users").glob("*.py")
    script.write_text(
        script.read_text().replace(
            "def upgrade():", "def upgrade():\n    raise RuntimeError('boom')"
        )
    )

    result = invoke(app, "upgrade")
    assert result.exit_code == 1
    assert "[users]" in result.stderr and "RuntimeError: boom" in result.stderr
    assert "Completed on: default. Not completed on: users, audit." in result.stderr
    assert tables(app) == {"alembic_version", "spans"}
    assert "audit_items" not in tables(app, "audit")


def test_an_app_with_binds_only(make_app: App, another_database: Database) -> None:
    app = make_app(url=None, binds={"users": another_database("users")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    _ok(invoke(app, "upgrade"))
    assert tables(app, "users") == {"alembic_version", "users_items"}
    assert "Up to date." in _ok(invoke(app, "status"))


def test_revisions_by_hand_and_by_id_name_their_database(
    make_app: App, another_database: Database, tmp_path: Path
) -> None:
    app = make_app(binds={"users": another_database("users")})
    _ok(invoke(app, "init"))
    result = invoke(app, "revision", "-m", "data fix")
    assert result.exit_code == 1
    assert "several databases (default, users)" in result.stderr and "--bind NAME" in result.stderr
    output = _ok(invoke(app, "revision", "-m", "data fix", "--bind", "users", "--rev-id", "fix1"))
    assert "binds/users/fix1_data_fix.py" in output

    # An id belongs to one history: upgrading to it touches that database only.
    _ok(invoke(app, "upgrade", "fix1"))
    assert tables(app, "users") == {"alembic_version"}
    assert tables(app) == set()
    assert _ok(invoke(app, "current", "--bind", "users", "--bare")).split() == ["fix1"]
    assert "Unknown database 'nope'" in invoke(app, "status", "--bind", "nope").stderr


def _timeless(output: str) -> str:
    """``output`` with its timings, which vary from run to run, as ``N``."""
    return re.sub(r"\d+ ms\)|\d+\.\d\d s;", lambda m: "N " + m.group().split()[-1], output)


def test_every_database_is_labelled_in_the_lines_of_a_run(
    make_app: App, another_database: Database, tmp_path: Path
) -> None:
    app = make_app(binds={"users": another_database("users")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    [first] = [p.name[:12] for p in (tmp_path / "migrations" / "versions").glob("*.py")]
    [users] = [p.name[:12] for p in (tmp_path / "migrations" / "binds" / "users").glob("*.py")]

    assert _timeless(_ok(invoke(app, "upgrade"))) == (
        f"  [default] upgrade   <base> -> {first}         Initial baseline  (N ms)\n"
        f"  [users] upgrade   <base> -> {users}         Initial baseline  (N ms)\n"
        f"[default] 1 revision applied in N s; the database is now at {first}.\n"
        f"[users] 1 revision applied in N s; the database is now at {users}.\n"
    )
    assert _ok(invoke(app, "upgrade")) == (
        f"[default] Nothing to do: the database is already at {first}.\n"
        f"[users] Nothing to do: the database is already at {users}.\n"
    )
    # One database of several: its lines still say which.
    assert _timeless(_ok(invoke(app, "downgrade", "--bind", "default", "base"))) == (
        f"  [default] downgrade {first} -> <base>         Initial baseline  (N ms)\n"
        "[default] 1 revision reverted in N s; the database is now at <base>.\n"
    )
    assert _timeless(_ok(invoke(app, "stamp", "--bind", "users", "base"))) == (
        f"  [users] stamp     {users} -> <base>           (N ms)\n"
        "[users] 1 revision stamped in N s; the database is now at <base>.\n"
    )

    # An app with one database: no label.
    single = make_app(tmp_path / "single", another_database("single"))
    _ok(invoke(single, "init"))
    _ok(invoke(single, "revision", "--autogenerate", "-m", "Initial baseline"))
    [only] = [p.name[:12] for p in (tmp_path / "single" / "migrations" / "versions").glob("*.py")]
    assert _timeless(_ok(invoke(single, "upgrade"))) == (
        f"  upgrade   <base> -> {only}         Initial baseline  (N ms)\n"
        f"1 revision applied in N s; the database is now at {only}.\n"
    )
