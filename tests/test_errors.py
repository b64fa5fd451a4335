"""What a user sees when something goes wrong.

Every failure is a short message that says what happened and what to do next, a
non-zero exit code, no traceback, and never the database password.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import apps
import pytest
import sqlalchemy as sa
from apps import invoke
from click.testing import Result
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from servers import Server

from flask_schemaops import api, cli
from flask_schemaops.errors import NotRegisteredError

MakeApp = Callable[..., Flask]
SERVERS = pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)


# --- Helpers ----------------------------------------------------------------------------


def failed(result: Result, *phrases: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Assert ``result`` is a clean failure: ``phrases`` on stderr, none of ``secrets`` anywhere."""
    output = result.output
    # An exception that escaped would reach the user as a traceback; a clean failure exits.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code != 0, output
    assert "Traceback" not in output
    assert result.stderr.startswith("Error: ")
    for phrase in phrases:
        assert phrase in result.stderr
    for secret in secrets:
        if secret:
            assert secret not in output
    return output


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def password(url: str) -> str | None:
    return sa.make_url(url).password


def start(app: Flask, *revisions: str) -> None:
    """``flask db init``, then one empty revision per id, each on top of the last."""
    ok(invoke(app, "init"))
    for rev in revisions:
        ok(invoke(app, "revision", "-m", f"revision {rev}", "--rev-id", rev))


def script(app: Flask, rev: str) -> Path:
    """The file of revision ``rev``."""
    (path,) = (Path(app.root_path) / "migrations" / "versions").glob(f"{rev}_*.py")
    return path


def edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` with ``new`` in ``path``; return the line ``new`` starts on."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Revisions ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["upgrade", "downgrade", "show"])
def test_unknown_revision(make_app: MakeApp, database_url: str, command: str) -> None:
    app = make_app()
    start(app, "r1")
    ok(invoke(app, "upgrade"))
    failed(
        invoke(app, command, "nope"),
        "Unknown revision 'nope'",
        "See `flask db history`",
        secrets=(password(database_url),),
    )


def test_several_revision_arguments(make_app: MakeApp, database_url: str) -> None:
    app = make_app()
    start(app, "r0", "ra1a")
    ok(invoke(app, "revision", "-m", "b", "--rev-id", "ra1b", "--head", "r0", "--splice"))
    ok(invoke(app, "stamp", "ra1a", "ra1b"))
    assert invoke(app, "current", "--bare").output.split() == ["ra1a", "ra1b"]
    shown = ok(invoke(app, "show", "ra1a", "ra1b")).output
    assert "Rev: ra1a" in shown and "Rev: ra1b" in shown
    assert "Rev: ra1a" in ok(invoke(app, "show", "current")).output
    secrets = (password(database_url),)
    failed(invoke(app, "merge", "ra1a", "nope"), "Unknown revision 'nope'", secrets=secrets)
    failed(invoke(app, "history", "-r", "nope:head"), "Unknown revision 'nope'", secrets=secrets)
    failed(
        invoke(app, "upgrade", "ra1"),
        "Multiple revisions start with 'ra1'",
        "Give more characters of the id",
        secrets=secrets,
    )


def test_missing_migrations_directory(make_app: MakeApp, database_url: str) -> None:
    failed(
        invoke(make_app(), "upgrade"),
        "No migrations directory at",
        "Run `flask db init`",
        secrets=(password(database_url),),
    )


def test_syntax_error_in_revision(make_app: MakeApp, database_url: str) -> None:
    app = make_app()
    start(app, "r1")
    path = script(app, "r1")
    line = edit(path, "def upgrade():", "def upgrade(:")
    failed(
        invoke(app, "upgrade"),
        f"Syntax error in migrations/versions/{path.name}, line {line}",
        "Fix the file",
        secrets=(password(database_url),),
    )


def test_several_heads_then_merge(make_app: MakeApp, database_url: str) -> None:
    app = make_app()
    start(app, "r0", "ra")
    ok(invoke(app, "revision", "-m", "b", "--rev-id", "rb", "--head", "r0", "--splice"))
    failed(
        invoke(app, "upgrade"),
        "The revision history has 2 heads",
        'flask db merge -m "merge heads"',
        secrets=(password(database_url),),
    )
    ok(invoke(app, "merge", "-m", "merge heads"))
    ok(invoke(app, "upgrade"))
    assert invoke(app, "status").exit_code == 0


def test_advice_for_heads_that_grew_apart(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r0", "ra")
    ok(invoke(app, "revision", "-m", "b", "--rev-id", "rb", "--head", "r0", "--splice"))
    result = invoke(app, "upgrade")
    failed(result)
    assert result.stderr == (
        "Error: The revision history has 2 heads (ra, rb), so 'head' is ambiguous. If two"
        ' branches each added a revision, merge them: `flask db merge -m "merge heads"`,'
        " then `flask db upgrade`. If they are meant to stay apart, apply every head with"
        " `flask db upgrade heads`, or one branch with `flask db upgrade <rev>`.\n"
    )
    failed(invoke(app, "check"), "Run `flask db upgrade heads` first")
    ok(invoke(app, "upgrade", "heads"))
    for args, new in (
        (("revision", "-m", "c"), "revision"),
        (("revision", "--autogenerate", "-m", "c"), "revision --autogenerate"),
    ):
        result = invoke(app, *args)
        failed(result)
        assert result.stderr == (
            "Error: The revision history has 2 heads (ra, rb), so 'head' is ambiguous. If two"
            ' branches each added a revision, merge them: `flask db merge -m "merge heads"`,'
            f' then `flask db {new} -m "..."`. If they are meant to stay apart, name the head'
            f' the new revision goes on: `flask db {new} --head <rev> -m "..."`.\n'
        )

    # check's advice works as written: the models have a table no revision creates.
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert result.output.endswith(
        "  add_table spans\n"
        "The revision history has 2 heads (ra, rb). If two branches each added a revision,"
        ' merge them: `flask db merge -m "merge heads"`, then `flask db revision'
        ' --autogenerate -m "..."`. If they are meant to stay apart, name the head the new'
        ' revision goes on: `flask db revision --autogenerate --head <rev> -m "..."`.\n'
    )
    ok(invoke(app, "revision", "--autogenerate", "--head", "ra", "-m", "spans"))

    # A merge joins heads only.
    heads = ", ".join(sorted(invoke(app, "heads").output.split()[::2]))
    result = invoke(app, "merge", "r0", "ra")
    failed(result)
    assert result.stderr == (
        f"Error: r0 is not a head, and a merge joins heads (the heads are {heads}). Name"
        ' heads only, or none to merge them all: `flask db merge -m "merge heads"`.\n'
    )


def test_advice_for_branches_kept_apart(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r0", "r1")
    library = ("--head", "base", "--branch-label", "lib")
    ok(invoke(app, "revision", "-m", "lib", "--rev-id", "lib1", *library))
    ok(invoke(app, "revision", "-m", "lib 2", "--rev-id", "lib2", "--head", "lib@head"))
    uses = ("--head", "r1", "--depends-on", "lib1")
    ok(invoke(app, "revision", "-m", "uses lib", "--rev-id", "r2", *uses))
    result = invoke(app, "upgrade")
    failed(result)
    assert result.stderr == (
        "Error: The revision history has 2 heads (lib2, r2), so 'head' is ambiguous. They are"
        " branches kept apart on purpose (branch label lib; a base of its own), so do not"
        " merge them: apply every head with `flask db upgrade heads`, or one branch with"
        " `flask db upgrade lib@head`.\n"
    )
    ok(invoke(app, "upgrade", "lib@head"))
    ok(invoke(app, "upgrade", "heads"))
    result = invoke(app, "revision", "-m", "next")
    failed(result)
    assert "flask db merge" not in result.stderr
    assert result.stderr.endswith(
        "(branch label lib; a base of its own), so do not merge them: name the head the new"
        ' revision goes on: `flask db revision --head lib@head -m "..."`.\n'
    )
    result = invoke(app, "doctor")
    assert "heads" not in result.output  # nothing wrong with them

    # A head that grew apart on the main line is to merge, the library's is not.
    ok(invoke(app, "revision", "-m", "other", "--rev-id", "r3", "--head", "r1", "--splice"))
    result = invoke(app, "upgrade")
    failed(result)
    assert result.stderr == (
        "Error: The revision history has 3 heads (lib2, r2, r3), so 'head' is ambiguous. If"
        " two branches each added a revision, merge them: `flask db merge r2 r3 -m"
        ' "merge heads"`, then `flask db upgrade heads`. Do not merge lib2: kept apart on'
        " purpose (branch label lib). Or apply every head with `flask db upgrade heads`, or"
        " one branch with `flask db upgrade lib@head`.\n"
    )
    result = invoke(app, "doctor")
    assert "kept apart on purpose, not to merge: lib2 (branch label lib)" in result.output
    assert (
        'Fix:      `flask db merge r2 r3 -m "merge heads"`, review the new file, then'
        " `flask db upgrade heads`" in result.output
    )
    ok(invoke(app, "merge", "r2", "r3", "-m", "merge heads"))
    ok(invoke(app, "upgrade", "heads"))


def test_advice_for_a_head_another_depends_on(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r0", "r1")
    ok(invoke(app, "revision", "-m", "c", "--rev-id", "rc", "--head", "r0", "--splice"))
    ok(invoke(app, "revision", "-m", "d", "--rev-id", "rd", "--head", "r1", "--depends-on", "rc"))
    result = invoke(app, "upgrade")
    failed(result)
    assert result.stderr == (
        "Error: The revision history has 2 heads (rc, rd), so 'head' is ambiguous. They are"
        " branches kept apart on purpose (another revision depends on it), so do not merge"
        " them: apply every head with `flask db upgrade heads`, or one branch with"
        " `flask db upgrade <rev>`.\n"
    )
    ok(invoke(app, "upgrade", "rd"))
    assert invoke(app, "status").exit_code == 0


def test_a_reversed_history_range(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r0", "r1", "r2")
    ok(invoke(app, "upgrade", "r1"))
    for given, meant in (
        ("heads:base", "base:heads"),
        ("r2:r0", "r0:r2"),
        ("current:base", "base:current"),
    ):
        result = invoke(app, "history", "-r", given)
        failed(result)
        assert result.stderr == (
            f"Error: History range '{given}' is reversed: a range names the older revision"
            f" first. Use `flask db history -r {meant}`.\n"
        )
    for given in ("base:heads", "r0:r2", "base:current"):
        assert "r0" in ok(invoke(app, "history", "-r", given)).output


def test_a_relative_step_of_zero(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r0", "r1")
    ok(invoke(app, "upgrade", "r0"))
    for args in (("upgrade", "-0"), ("upgrade", "+0"), ("downgrade", "-0", "--yes")):
        result = invoke(app, *args)
        failed(result)
        assert result.stderr.startswith(
            "Error: A relative step of 0 (-0, +0) moves no revision. Give a step of 1 or more"
            " (e.g. `flask db upgrade +1`, `flask db downgrade -1`), or name the revision to"
            " reach (see `flask db history -i`).\n"
        )
    assert invoke(app, "current", "--bare").output == "r0\n"


def test_broken_revision_graph(make_app: MakeApp, database_url: str) -> None:
    """Two scripts with one id (two branches each added "their" revision), or a parent
    that no script has: no command may answer as if the history were whole."""
    app = make_app()
    start(app, "r1", "r2")
    ok(invoke(app, "upgrade"))
    versions = script(app, "r2").parent
    copy = versions / "r2_other_branch.py"
    copy.write_text(script(app, "r2").read_text(encoding="utf-8"), encoding="utf-8")
    for args in (
        ("status",),
        ("upgrade",),
        ("heads",),
        ("history",),
        ("upgrade", "r2"),
        ("downgrade", "base", "--yes"),
        ("stamp", "r1"),
    ):
        failed(
            invoke(app, *args),
            "Two scripts in",
            "have revision id 'r2': r2_other_branch.py and r2_revision_r2.py",
            secrets=(password(database_url),),
        )
    copy.unlink()
    edit(script(app, "r2"), "down_revision = 'r1'", "down_revision = 'r0'")
    for args in (("status",), ("upgrade",), ("downgrade", "base", "--yes"), ("stamp", "head")):
        failed(
            invoke(app, *args),
            "r2_revision_r2.py (revision 'r2') has down_revision 'r0', a revision no script has",
            secrets=(password(database_url),),
        )


def test_taken_revision_id_or_label_writes_nothing(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r1")
    ok(invoke(app, "revision", "-m", "labelled", "--rev-id", "r2", "--branch-label", "feature"))
    versions = script(app, "r1").parent
    before = sorted(versions.glob("*.py"))
    failed(
        invoke(app, "revision", "-m", "again", "--rev-id", "r1"), "Revision id 'r1' is already used"
    )
    failed(
        invoke(app, "revision", "-m", "again", "--branch-label", "feature"),
        "Branch label 'feature' is already used",
    )
    failed(invoke(app, "merge", "-m", "m", "--rev-id", "r2", "r1", "r2"), "already used")
    failed(invoke(app, "revision", "-m", "x", "--rev-id", "feature"), "'feature' is already used")
    failed(invoke(app, "revision", "-m", "x", "--branch-label", "r1"), "'r1' is already used")
    assert sorted(versions.glob("*.py")) == before
    ok(invoke(app, "upgrade"))
    ok(invoke(app, "status"))


def test_a_version_path_that_is_not_a_version_location(
    make_app: MakeApp, another_database: Callable[[str], str], tmp_path: Path
) -> None:
    app = make_app(binds={"users": another_database("users")})
    ok(invoke(app, "init"))
    elsewhere = tmp_path / "elsewhere"
    written = ("revision", "-m", "x", "--bind", "default", "--version-path", str(elsewhere))
    result = invoke(app, *written)
    failed(result)
    assert result.stderr == (
        f"Error: --version-path {elsewhere} is not one of the version locations"
        " (migrations/versions).\nAdd it to version_locations ([alembic] section of"
        " migrations/alembic.ini) together with the current ones, or leave out"
        " --version-path.\n"
    )
    result = invoke(app, "revision", "-m", "x", "--bind", "users", "--version-path", "versions")
    failed(result)
    assert result.stderr == (
        "Error: --version-path versions is not one of the version locations"
        " (migrations/binds/users).\nLeave out --version-path: a bind's revisions go in its"
        " own folder.\n"
    )
    assert not list(tmp_path.rglob("*_x.py"))

    # What the message says to do works.
    ini = tmp_path / "migrations" / "alembic.ini"
    text = ini.read_text(encoding="utf-8")
    locations = f"version_locations = %(here)s/versions{os.pathsep}{elsewhere}\n"
    ini.write_text(text.replace("[alembic]\n", f"[alembic]\n{locations}"), encoding="utf-8")
    ok(invoke(app, *written))
    assert [x.parent for x in tmp_path.rglob("*_x.py")] == [elsewhere]


def test_revision_fails_while_running(make_app: MakeApp, database_url: str) -> None:
    app = make_app()
    start(app, "r1")
    path = script(app, "r1")
    line = edit(path, "    pass", '    op.execute("SELECT * FROM no_such_table")')  # upgrade's
    failed(
        invoke(app, "upgrade"),
        f"Revision r1 failed (migrations/versions/{path.name}, line {line}, in upgrade)",
        "Statement: SELECT * FROM no_such_table",
        "no_such_table",
        "Applied in this run: none.",
        "The database is now at <base>.",
        secrets=(password(database_url),),
    )


def test_a_failed_downgrade_reports_what_it_reverted(make_app: MakeApp, database_url: str) -> None:
    app = make_app()
    start(app, "r1", "r2", "r3")
    path = script(app, "r2")
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex("    pass")] + '    raise RuntimeError("no way back")\n')
    line = text.count("\n")
    ok(invoke(app, "upgrade"))

    result = invoke(app, "downgrade", "r1", "--yes")
    failed(result, secrets=(password(database_url),))
    dialect = sa.make_url(database_url).get_dialect().name
    name = "SQLite" if dialect == "sqlite" else "MariaDB"  # the suite's server
    last = (
        "The failed revision was rolled back. Fix it and run the command again."
        if dialect == "postgresql"
        else f"{name} commits DDL statements at once, so the failed revision may be partly"
        " applied: compare the database with the script and undo or finish its steps by hand"
        " before running it again (`flask db doctor` lists what it finds)."
    )
    assert result.stderr == (
        f"Error: Revision r2 failed (migrations/versions/{path.name}, line {line}, in downgrade).\n"
        "Error: RuntimeError: no way back\n"
        "Reverted in this run: r3 (revision r3).\n"
        "The database is now at r2.\n"
        f"{last}\n"
    )


def test_errors_outside_a_revision_are_not_reported_as_one(
    make_app: MakeApp, database_url: str
) -> None:
    """Alembic's own refusals come from env.py's frame, but no revision ran: each gets
    its own message, not a failed revision's report."""
    app = make_app()
    start(app, "r1", "r2")
    ok(invoke(app, "upgrade", "r1"))
    cases = [
        (("upgrade", "+5"), "there are not that many revisions"),
        (("downgrade", "r2", "--yes"), "Cannot downgrade to 'r2': it is not below"),
        (("upgrade", "r1:r2"), "'r1:r2' is a range, which only --sql takes"),
        (("downgrade", "r1:base"), "'r1:base' is a range, which only --sql takes"),
        (("stamp", "r1:r2"), "'r1:r2' is a range, which only --sql takes"),
    ]
    for args, phrase in cases:
        result = failed(invoke(app, *args), phrase, secrets=(password(database_url),))
        assert "failed (" not in result and "partly applied" not in result
    engine = sa.create_engine(database_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = 'gone1'"))
    engine.dispose()
    for args in (("upgrade",), ("downgrade", "-1", "--yes"), ("stamp", "head")):
        result = failed(
            invoke(app, *args),
            "The database records revision 'gone1', but no script",
            "Most often the database is newer than this code",
            "Run this command from the code that has that revision.",
            "`flask db doctor` shows the evidence",
            secrets=(password(database_url),),
        )
        assert "failed (" not in result and "partly applied" not in result
        assert "stamp --purge" not in result


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_failure_in_autocommit_block_is_not_called_rolled_back(
    make_app: MakeApp, database_url: str
) -> None:
    """A failed CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index: the report
    must not say the revision was rolled back."""
    app = make_app()
    start(app, "r1")
    edit(
        script(app, "r1"),
        "    pass",
        "    op.create_table('people', sa.Column('name', sa.Text()))\n"
        "    op.execute(\"INSERT INTO people VALUES ('a'), ('a')\")",
    )
    ok(invoke(app, "upgrade"))
    ok(invoke(app, "revision", "-m", "index", "--rev-id", "r2"))
    edit(
        script(app, "r2"),
        "    pass",
        "    with op.get_context().autocommit_block():\n"
        "        op.create_index('ix_people_name', 'people', ['name'], unique=True,"
        " postgresql_concurrently=True)",
    )
    failed(
        invoke(app, "upgrade"),
        "Revision r2 failed",
        "autocommit_block() are not",
        "INVALID index",
        secrets=(password(database_url),),
    )
    # doctor names the INVALID index; a stamp would not mend it, so no "partly applied".
    doctor = invoke(app, "doctor").output
    assert "The index ix_people_name on people is INVALID" in doctor
    assert "partly applied" not in doctor


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_failure_in_one_transaction_applies_nothing(make_app: MakeApp, database_url: str) -> None:
    app = make_app(config={"SCHEMAOPS_TRANSACTION_PER_MIGRATION": False})
    start(app, "r1", "r2")
    edit(script(app, "r2"), "    pass", '    op.execute("SELECT * FROM no_such_table")')
    failed(
        invoke(app, "upgrade"),
        "Revision r2 failed",
        "Applied in this run: none: the run was one transaction, rolled back with the"
        " failure (r1 (revision r1)).",
        "The database is now at <base>.",
        secrets=(password(database_url),),
    )


# --- The database -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_server_unreachable(tmp_path: Path, scheme: str) -> None:
    port = closed_port()
    app = apps.make_app(tmp_path, f"{scheme}://user:secretpw@127.0.0.1:{port}/db")
    start(app)
    failed(
        invoke(app, "upgrade"),
        f"Cannot connect to the database at {scheme}://user:***@127.0.0.1:{port}/db",
        "Check that the server is running",
        secrets=("secretpw",),
    )


def test_sqlite_file_in_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'app.db'}"
    app = apps.make_app(tmp_path, url)
    start(app)
    failed(
        invoke(app, "upgrade"),
        f"Cannot connect to the database at {url}",
        "Check that the directory of the database file exists",
    )


@SERVERS
def test_wrong_password(make_app: MakeApp, database_server: Server, database_url: str) -> None:
    name = sa.make_url(database_url).database
    assert name is not None
    app = make_app(url=database_server.url(name, password="wrong-pw"))
    start(app)
    failed(
        invoke(app, "upgrade"),
        "refused the login",
        "Check the user name and password",
        secrets=("wrong-pw", database_server.password),
    )


@SERVERS
def test_wrong_password_in_the_query(
    make_app: MakeApp, database_server: Server, database_url: str
) -> None:
    """Drivers also take the password as a query parameter (``?password=``)."""
    url = sa.make_url(database_url)._replace(password=None)  # set() cannot remove it
    url = url.update_query_dict({"password": "bad-pw-9"})
    assert ":***@" not in url.render_as_string(hide_password=True)
    app = make_app(url=url.render_as_string(hide_password=False))
    start(app)
    for command in ("upgrade", "status"):
        failed(
            invoke(app, command),
            "password=***",
            "Check the user name and password",
            secrets=("bad-pw-9", database_server.password),
        )


@pytest.mark.parametrize("dialect", ["mysql"], indirect=True)
def test_no_access_to_the_database(
    make_app: MakeApp, database_server: Server, database_url: str
) -> None:
    """MariaDB's error 1044: the login worked, the database is not granted."""
    with database_server._admin() as admin:
        admin.execute(sa.text("CREATE USER IF NOT EXISTS 'nogrant'@'%' IDENTIFIED BY 'ng-pw-77'"))
    url = sa.make_url(database_url).set(username="nogrant", password="ng-pw-77")
    app = make_app(url=url.render_as_string(hide_password=False))
    start(app)
    failed(
        invoke(app, "upgrade"),
        "refused user 'nogrant' access to the database",
        "Grant the user access to it",
        secrets=("ng-pw-77",),
    )


@SERVERS
def test_offline_sql_has_no_password(make_app: MakeApp, database_url: str) -> None:
    app = make_app(version_table="my_versions")
    start(app, "r1")
    sql = ok(invoke(app, "upgrade", "--sql")).stdout
    assert "CREATE TABLE my_versions" in sql
    assert "INSERT INTO my_versions" in sql
    pw = password(database_url)
    assert pw
    assert pw not in sql


# --- The app and the CLI ---------------------------------------------------------------


def test_app_without_extension(tmp_path: Path) -> None:
    app = Flask("bare", root_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'app.db'}"
    SQLAlchemy(app)
    app.cli.add_command(cli.db)  # an app that adds the commands but not the extension
    failed(
        invoke(app, "upgrade"),
        "The Flask app 'bare' does not register flask_schemaops",
        "SchemaOps(app, db)",
        "init_app(app, db)",
    )
    with pytest.raises(NotRegisteredError):
        api.status(app=app)


def test_traceback_option_shows_the_traceback(make_app: MakeApp) -> None:
    app = make_app()
    start(app, "r1")
    result = invoke(app, "--traceback", "upgrade", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "\nflask_schemaops.errors.UnknownRevisionError: Unknown revision 'nope'" in (
        result.stderr
    )
    assert "\nError: " not in result.output

    # The error a user sees keeps the exception it came from.
    edit(script(app, "r1"), "def upgrade():", "def upgrade(:")
    result = invoke(app, "--traceback", "upgrade")
    assert result.exit_code == 1
    assert "SyntaxError: " in result.stderr
    cause = "The above exception was the direct cause of the following exception:"
    assert cause in result.stderr
    assert "\nflask_schemaops.errors.ScriptError: " in result.stderr


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("command", "code"), [("status", 2), ("doctor", 2), ("lint", 2), ("upgrade", 1)]
)
def test_traceback_option_keeps_the_exit_status(
    make_app: MakeApp, tmp_path: Path, command: str, code: int
) -> None:
    """Scripts read the exit status (status: 2 for an error, not 1 for pending
    revisions); --traceback adds the traceback and changes nothing else."""
    app = make_app()
    nowhere = tmp_path / "nowhere"
    message = (
        f"No migrations directory at {nowhere}. Run `flask db init` to create it, or point"
        " -d/--directory or SCHEMAOPS_DIRECTORY at the existing one.\n"
    )
    plain = invoke(app, command, "-d", str(nowhere))
    assert (plain.exit_code, plain.stderr) == (code, f"Error: {message}")
    result = invoke(app, "--traceback", command, "-d", str(nowhere))
    assert result.exit_code == code
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith(f"\nflask_schemaops.errors.DirectoryError: {message}")


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_file_where_the_migrations_directory_would_be(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    blocker = tmp_path / "m9"
    blocker.write_text("notes\n")
    for path, what in ((blocker, "it"), (blocker / "sub", str(blocker))):
        result = invoke(app, "init", "-d", str(path))
        assert (result.exit_code, result.stderr) == (
            1,
            f"Error: Cannot create the migrations directory {path}: {what} is a file. Pick"
            " another path with -d/--directory.\n",
        )
    too_long = tmp_path / ("x" * 300)
    result = invoke(app, "init", "-d", str(too_long))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: Cannot create the migrations directory {too_long}: File name too long. Pick"
        " a path where you may create a directory with -d/--directory.\n",
    )
    assert blocker.read_text() == "notes\n"

    # The other commands do not send you to `flask db init` there.
    point = "Point -d/--directory or SCHEMAOPS_DIRECTORY at the migrations directory.\n"
    result = invoke(app, "status", "-d", str(blocker))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {blocker} is a file, not a migrations directory. {point}",
    )
    result = invoke(app, "upgrade", "-d", str(blocker / "sub"))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: No migrations directory at {blocker / 'sub'}: {blocker} is a file. {point}",
    )
    result = invoke(app, "status", "-d", str(too_long))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: No migrations directory at {too_long}: File name too long. {point}",
    )


def test_status_exit_codes(make_app: MakeApp) -> None:
    app = make_app()
    failed(invoke(app, "status"), "Run `flask db init`")
    assert invoke(app, "status").exit_code == 2
    start(app, "r1")
    pending = invoke(app, "status")
    assert pending.exit_code == 1
    assert "Pending:  1 revision(s)" in pending.output
    ok(invoke(app, "upgrade"))
    assert "Up to date." in ok(invoke(app, "status")).output
