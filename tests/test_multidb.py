"""Several databases (Flask-SQLAlchemy binds): one version history per database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
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


def _shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def test_two_names_for_one_database_are_refused_before_any_work(
    make_app: App, database_url: str, another_database: Database, tmp_path: Path
) -> None:
    """They would share one version table: each would take the other's revisions for
    its own, and `stamp --purge` on one would wipe the other's record."""
    app = make_app(binds={"audit": database_url})
    refusal = (
        'Error: SQLALCHEMY_DATABASE_URI and SQLALCHEMY_BINDS["audit"] are the same database'
        f" ({_shown(database_url)}), and each database keeps its revision history in one"
        " version table, so their histories would overwrite each other. Nothing was done."
        " Point them at different databases, or put these models in one of the two (the"
        " same __bind_key__) and remove the other.\n"
    )
    for args in (("init",), ("status",), ("upgrade", "--bind", "audit")):
        result = invoke(app, *args)
        assert result.exit_code != 0 and result.stderr == refusal, result.output
    assert not (tmp_path / "migrations").exists()
    assert tables(app) == set()

    # Two binds, and the same database spelt another way (a connection option for
    # PostgreSQL, MariaDB's own dialect name).
    other = another_database("other")
    respelt = other + "?connect_timeout=10" if other.startswith("postgresql") else other
    respelt = respelt.replace("mysql+", "mariadb+")
    app = make_app(tmp_path / "two", binds={"users": other, "audit": respelt})
    result = invoke(app, "status")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        'Error: SQLALCHEMY_BINDS["users"] and SQLALCHEMY_BINDS["audit"] are the same database'
    )


def test_a_bind_named_default_is_refused(make_app: App, another_database: Database) -> None:
    app = make_app(binds={"default": another_database("other")})
    result = invoke(app, "status")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: SQLALCHEMY_BINDS has a bind named 'default', the name flask-schemaops gives"
        " SQLALCHEMY_DATABASE_URI (as in --bind default), so commands could not tell the two"
        " apart. Rename that bind (its key and the models' __bind_key__).\n"
    )


def _broken(another_database: Database, dialect: str, tmp_path: Path) -> tuple[str, str]:
    """A URL for the bind ``audit`` that cannot be used, and the reason shown for it."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing' / 'audit.db'}"
        return url, "Check that the directory of the database file exists and is writable and that"
    url = sa.make_url(another_database("audit")).set(password="wrong-pw")
    return url.render_as_string(hide_password=False), "Check the user name and password in"


def test_an_unusable_bind_names_its_setting_and_hides_no_other_database(
    make_app: App, another_database: Database, dialect: str, tmp_path: Path
) -> None:
    users = another_database("users")
    app = make_app(binds={"users": users, "audit": another_database("audit")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    _ok(invoke(app, "upgrade", "--bind", "default", "--bind", "users"))
    [first] = [p.name[:12] for p in (tmp_path / "migrations" / "versions").glob("*.py")]
    [mine] = [p.name[:12] for p in (tmp_path / "migrations" / "binds" / "users").glob("*.py")]
    url, reason = _broken(another_database, dialect, tmp_path)
    app = make_app(binds={"audit": url, "users": users})

    result = invoke(app, "upgrade")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: [audit] ")
    assert f'{reason} SQLALCHEMY_BINDS["audit"]' in result.stderr
    assert "SQLALCHEMY_DATABASE_URI" not in result.stderr and "wrong-pw" not in result.stderr

    # status and current show the databases they could read, then the error.
    result = invoke(app, "status")
    assert result.exit_code == 2
    default_url = _shown(app.config["SQLALCHEMY_DATABASE_URI"])
    assert result.stdout == (
        f"[default]\nDatabase: {default_url}\nCurrent:  {first}\nHeads:    {first}\nUp to date.\n"
        f"[users]\nDatabase: {_shown(users)}\nCurrent:  {mine}\nHeads:    {mine}\nUp to date.\n"
    )
    assert result.stderr.startswith("Error: [audit] ")
    assert result.stderr.endswith("\nCompleted on: default, users. Not completed on: audit.\n")
    result = invoke(app, "status", "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["up_to_date"] is False
    assert [d["target"] for d in report["databases"]] == ["default", "users"]
    [error] = report["errors"]
    assert error["target"] == "audit" and f'{reason} SQLALCHEMY_BINDS["audit"]' in error["error"]
    result = invoke(app, "current", "--bare")
    assert result.exit_code == 1
    assert result.stdout == f"{first}\n{mine}\n"
    assert result.stderr.startswith("Error: [audit] ")


def test_baseline_reports_the_work_done_before_an_unusable_bind(
    make_app: App, another_database: Database, dialect: str, tmp_path: Path
) -> None:
    url, reason = _broken(another_database, dialect, tmp_path)
    app = make_app(binds={"audit": url})
    _ok(invoke(make_app(), "init"))
    with app.app_context():
        app.extensions["sqlalchemy"].create_all(bind_key=None)

    result = invoke(app, "baseline")
    assert result.exit_code == 1
    [written] = (tmp_path / "migrations" / "versions").glob("*.py")
    assert result.stdout == (
        f"[default] Wrote {written}\n"
        f"[default] The database matches the schema the new baseline {written.name[:12]} builds;"
        f" stamped {written.name[:12]}.\n"
    )
    assert f'{reason} SQLALCHEMY_BINDS["audit"]' in result.stderr
    assert result.stderr.endswith("\nCompleted on: default. Not completed on: audit.\n")
    assert _ok(invoke(app, "current", "--bind", "default", "--bare")) == f"{written.name[:12]}\n"


def test_a_bind_without_revisions_has_nothing_to_do(
    make_app: App, another_database: Database
) -> None:
    app = make_app(binds={"users": another_database("users")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    _ok(invoke(app, "upgrade"))
    app = make_app(
        binds={"users": app.config["SQLALCHEMY_BINDS"]["users"], "extra": another_database("extra")}
    )

    nothing = "[extra] Nothing to do: there is no revision for this database yet.\n"
    assert _ok(invoke(app, "upgrade")).endswith(nothing)
    for args in (
        ("upgrade", "--bind", "extra"),
        ("upgrade", "+1", "--bind", "extra"),
        ("downgrade", "-1", "--bind", "extra", "--yes"),
        ("downgrade", "base", "--bind", "extra", "--yes"),
        ("stamp", "head", "--bind", "extra"),
    ):
        assert _ok(invoke(app, *args)) == nothing, args
    assert tables(app, "extra") == set()


def test_offline_sql_is_for_one_database_at_a_time(
    make_app: App, another_database: Database, tmp_path: Path
) -> None:
    app = make_app(binds={"users": another_database("users")})
    _ok(invoke(app, "init"))
    _ok(invoke(app, "revision", "--autogenerate", "-m", "Initial baseline"))
    _ok(invoke(app, "upgrade"))
    [mine] = [p.name[:12] for p in (tmp_path / "migrations" / "binds" / "users").glob("*.py")]

    refusal = (
        "Error: --sql writes the script of one database, and this app has several (default,"
        " users), each with its own SQL for its own database. Pick one with --bind NAME (and"
        " run the command once per database); a revision range takes that database's ids,"
        ' e.g. `--sql "$(flask db current --bind NAME --bare):head"`.\n'
    )
    for args in (
        ("upgrade", "--sql"),
        ("downgrade", "--sql", "head:base"),
        ("stamp", "--sql", "head"),
        ("ensure-version", "--sql"),
        ("upgrade", "--sql", _ok(invoke(app, "current", "--bare")).strip() + ":head"),
    ):
        result = invoke(app, *args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", refusal), args

    # One database: its script alone, which names no other database's table.
    output = _ok(invoke(app, "upgrade", "--sql", "--bind", "users", "base:head"))
    assert "CREATE TABLE users_items" in output and "spans" not in output
    current = _ok(invoke(app, "current", "--bind", "users", "--bare")).strip()
    assert current == mine
    output = _ok(invoke(app, "upgrade", "--bind", "users", "--sql", f"{current}:head"))
    assert "CREATE TABLE" not in output
