"""Moving from Flask-Migrate: real Flask-Migrate 4.1.0 projects, then one changed import.

Each project is made by Flask-Migrate itself (its ``flask db`` commands or its
functions); then a new app object with the same models and directory registers
``flask_schemaops.compat.Migrate`` instead and carries on.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import alembic.command
import flask_migrate
import pytest
import sqlalchemy as sa
from apps import NAMING_CONVENTION, invoke
from click.testing import Result
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from servers import Server

from flask_schemaops import api, cli, compat
from flask_schemaops.extension import get_state

TEMPLATE_ENV = Path(api.__file__).parent / "templates" / "flask" / "env.py"

Build = Callable[..., Flask]

# Flask-Migrate's env.py tries Flask-SQLAlchemy 2's get_engine() first.
pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Flask-Migrate's env.py calls fileConfig(), which rewires and disables loggers."""
    manager = logging.root.manager
    loggers = [logging.root] + [
        x for x in manager.loggerDict.values() if isinstance(x, logging.Logger)
    ]
    saved = [(x, x.level, list(x.handlers), x.propagate, x.disabled) for x in loggers]
    yield
    for logger, level, handlers, propagate, disabled in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled
    known = {x for x, *_ in saved}
    for logger in list(manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger not in known:
            logger.disabled = False  # made during the test, then disabled by fileConfig()


@pytest.fixture
def other_url(database_server: Server | None, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the server of ``database_url``."""
    if database_server is None:
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    name = f"schemaops_{uuid.uuid4().hex[:12]}"
    database_server.create_database(name)
    yield database_server.url(name)
    database_server.drop_database(name)


def _builder() -> Iterator[Build]:
    made: list[Flask] = []

    def make(*args: Any, **kwargs: Any) -> Flask:
        app = _build(*args, **kwargs)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()


@pytest.fixture
def build(database_url: str, other_url: str) -> Iterator[Build]:
    """``build(migrate_class, root, url, ...)``: see ``_build``. The engines are disposed
    of before the databases are dropped."""
    yield from _builder()


@pytest.fixture
def build_sqlite() -> Iterator[Build]:
    """``build`` for tests that bring their own SQLite files."""
    yield from _builder()


def _build(
    migrate_class: type[Any],
    root: Path,
    url: str,
    *,
    bind_url: str | None = None,
    arn: bool = False,
    body: bool = False,
    directory: str | Path | None = None,
    config: dict[str, Any] | None = None,
    **options: Any,
) -> Flask:
    """An app with ``Span`` (``spans``), and with ``bind_url`` a bind ``other`` holding
    ``Note`` (``notes``); ``arn`` and ``body`` are the columns a model change adds;
    ``config`` goes into ``app.config``."""
    app = Flask("fmapp", root_path=str(root))
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.update(config or {})
    if bind_url is not None:
        app.config["SQLALCHEMY_BINDS"] = {"other": bind_url}
    db = SQLAlchemy(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
    spans: dict[str, Any] = {
        "__tablename__": "spans",
        "id": sa.Column(sa.Integer, primary_key=True),
        "name": sa.Column(sa.String(200), nullable=False),
    }
    if arn:
        spans["arn"] = sa.Column(sa.String(200))
    type("Span", (db.Model,), spans)
    if bind_url is not None:
        notes: dict[str, Any] = {
            "__tablename__": "notes",
            "__bind_key__": "other",
            "id": sa.Column(sa.Integer, primary_key=True),
        }
        if body:
            notes["body"] = sa.Column(sa.Text)
        type("Note", (db.Model,), notes)
    db.init_app(app)
    migrate_class(app, db, directory=directory or root / "migrations", **options)
    return app


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _engine(app: Flask, bind: str | None = None) -> sa.Engine:
    with app.app_context():
        engine: sa.Engine = app.extensions["sqlalchemy"].engines[bind]
        return engine


def _schema(app: Flask, bind: str | None = None) -> dict[str, list[tuple[str, str, bool]]]:
    """Each table's columns: name, type, nullable."""
    inspector = sa.inspect(_engine(app, bind))
    return {
        table: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        for table in sorted(inspector.get_table_names())
    }


def _versions(app: Flask, bind: str | None = None, table: str = "alembic_version") -> list[str]:
    with _engine(app, bind).connect() as connection:
        return [row[0] for row in connection.execute(sa.text(f"SELECT version_num FROM {table}"))]


def _chain(folder: Path) -> list[tuple[str, str]]:
    """The revisions from base to head as (message, script with ids and dates blanked)."""
    scripts = {}
    for path in (folder / "versions").glob("*.py"):
        text = path.read_text()
        revision = re.search(r"^revision = '(\w+)'", text, re.MULTILINE)
        down = re.search(r"^down_revision = '?(\w+)'?", text, re.MULTILINE)
        assert revision and down, text
        scripts[revision.group(1)] = (None if down.group(1) == "None" else down.group(1), text)
    chain: list[tuple[str, str]] = []
    parent = None
    while len(chain) < len(scripts):
        [(revision, (_, text))] = [(r, s) for r, s in scripts.items() if s[0] == parent]
        blank = text
        for known in scripts:
            blank = blank.replace(known, "<id>")
        blank = re.sub(r"^Create Date: .*$", "Create Date: <date>", blank, flags=re.MULTILINE)
        chain.append((text.splitlines()[0].strip('"'), blank))
        parent = revision
    return chain


def _flask_migrate_project(build: Build, root: Path, url: str, *init: str, **kw: Any) -> str:
    """Init, autogenerate and upgrade with Flask-Migrate's own CLI; the revision id."""
    app = build(flask_migrate.Migrate, root, url, **kw)
    ok(invoke(app, "init", *init))
    ok(invoke(app, "migrate", "-m", "initial"))
    ok(invoke(app, "upgrade"))
    [revision] = _versions(app, table=kw.get("version_table", "alembic_version"))
    return revision


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


# --- One database ------------------------------------------------------------------------


def test_single_database_project_carries_on_as_under_flask_migrate(
    build: Build, database_url: str, other_url: str, tmp_path: Path
) -> None:
    # Project a moves to flask_schemaops; project b stays on Flask-Migrate, for comparison.
    projects = {"a": (tmp_path / "a", database_url), "b": (tmp_path / "b", other_url)}
    initial = {}
    for name, (root, url) in projects.items():
        root.mkdir()
        initial[name] = _flask_migrate_project(build, root, url)
    setup = _files(tmp_path / "a" / "migrations")

    for name, migrate_class in (("a", compat.Migrate), ("b", flask_migrate.Migrate)):
        root, url = projects[name]
        app = build(migrate_class, root, url)
        result = ok(invoke(app, "upgrade"))
        assert _versions(app) == [initial[name]]
        if name == "a":
            assert "Nothing to do" in result.output

        app = build(migrate_class, root, url, arn=True)
        assert invoke(app, "check").exit_code == 1
        ok(invoke(app, "migrate", "-m", "add arn"))
        ok(invoke(app, "upgrade"))
        assert "arn" in {c[0] for c in _schema(app)["spans"]}
        [second] = _versions(app)
        assert second != initial[name]
        ok(invoke(app, "check"))
        ok(invoke(app, "downgrade"))
        assert _versions(app) == [initial[name]]
        assert "arn" not in {c[0] for c in _schema(app)["spans"]}
        ok(invoke(app, "upgrade"))
        assert _versions(app) == [second]

    a, b = (build(compat.Migrate, root, url, arn=True) for root, url in projects.values())
    assert _schema(a) == _schema(b)
    assert set(_schema(a)) == {"alembic_version", "spans"}
    chain = _chain(tmp_path / "a" / "migrations")
    assert chain == _chain(tmp_path / "b" / "migrations")
    assert [message for message, _ in chain] == ["initial", "add arn"]
    assert "with op.batch_alter_table('spans'" in chain[1][1]  # render_as_batch, as before
    # The project's own files are as Flask-Migrate left them, plus the new revision.
    after = _files(tmp_path / "a" / "migrations")
    assert {k: v for k, v in after.items() if k in setup} == setup
    assert [k for k in after if k not in setup] == [
        str(p.relative_to(tmp_path / "a" / "migrations"))
        for p in (tmp_path / "a" / "migrations" / "versions").glob("*add_arn.py")
    ]


def test_multidb_project_carries_on(
    build: Build, database_url: str, other_url: str, tmp_path: Path
) -> None:
    first = _flask_migrate_project(build, tmp_path, database_url, "--multidb", bind_url=other_url)
    folder = tmp_path / "migrations"
    setup = _files(folder)

    app = build(compat.Migrate, tmp_path, database_url, bind_url=other_url, body=True)
    assert set(_schema(app)) == {"alembic_version", "spans"}
    assert set(_schema(app, "other")) == {"alembic_version", "notes"}
    ok(invoke(app, "upgrade"))
    assert invoke(app, "check").exit_code == 1
    result = ok(invoke(app, "migrate", "-m", "add body"))
    [script] = folder.glob("versions/*_add_body.py")
    assert str(script) in result.output
    text = script.read_text()
    assert "def upgrade(engine_name):" in text  # Flask-Migrate's multidb script template
    upgrade_default = text.split("def upgrade_():")[1].split("def ")[0]
    upgrade_other = text.split("def upgrade_other():")[1].split("def ")[0]
    assert "add_column" not in upgrade_default
    assert "batch_op.add_column(sa.Column('body'" in upgrade_other

    ok(invoke(app, "upgrade"))
    [second] = _versions(app)
    assert second != first
    assert _versions(app, "other") == [second]
    assert "body" in {c[0] for c in _schema(app, "other")["notes"]}
    assert set(_schema(app)) == {"alembic_version", "spans"}
    ok(invoke(app, "check"))

    ok(invoke(app, "downgrade"))
    assert _versions(app) == [first]
    assert _versions(app, "other") == [first]
    assert "body" not in {c[0] for c in _schema(app, "other")["notes"]}
    assert set(_schema(app, "other")) == {"alembic_version", "notes"}
    ok(invoke(app, "upgrade"))
    assert _versions(app) == _versions(app, "other") == [second]
    after = _files(folder)
    assert {k: v for k, v in after.items() if k in setup} == setup
    assert [k for k in after if k not in setup] == [str(script.relative_to(folder))]


def test_multidb_project_reports_every_database(
    build: Build, database_url: str, other_url: str, tmp_path: Path
) -> None:
    # Flask-Migrate's --multidb env.py migrates the binds along with the default
    # database: status, current and the report of a run cover them all.
    first = _flask_migrate_project(build, tmp_path, database_url, "--multidb", bind_url=other_url)
    app = build(compat.Migrate, tmp_path, database_url, bind_url=other_url, body=True)
    with _engine(app, "other").begin() as connection:  # the bind is left at base
        connection.execute(sa.text("DELETE FROM alembic_version"))
        connection.execute(sa.text("DROP TABLE notes"))

    default, other = api.status(app=app)
    assert (default.target, default.current, default.up_to_date) == ("default", (first,), True)
    assert (other.target, other.current, other.up_to_date) == ("other", (), False)
    assert [r.revision for r in other.pending] == [first]
    result = invoke(app, "status")
    assert result.exit_code == 1, result.output
    assert "[other]\n" in result.output and f"Pending:  1 revision(s)\n  {first}" in result.output

    result = ok(invoke(app, "upgrade"))
    assert f"[default] Nothing to do: the database is already at {first}." in result.output
    assert f"[other] The database moved from <base> to {first}." in result.output
    assert _versions(app, "other") == [first]
    assert "notes" in _schema(app, "other")
    assert invoke(app, "current").output.splitlines() == [
        f"[default] {first} (head)",
        f"[other] {first} (head)",
    ]
    assert [s.up_to_date for s in api.status(app=app)] == [True, True]
    headings = [x for x in ok(invoke(app, "current", "-v")).output.splitlines() if "Current" in x]
    assert headings == [
        f"[{name}] Current revision(s) for {sa.make_url(url).render_as_string()}:"
        for name, url in (("default", database_url), ("other", other_url))
    ]

    # --bind cannot narrow a run of that env.py; the downgrade's data check covers the
    # bind, whose tables its downgrade_other() drops.
    with _engine(app, "other").begin() as connection:
        connection.execute(sa.text("INSERT INTO notes (id) VALUES (1)"))
    result = invoke(app, "downgrade", "--bind", "other")
    assert result.exit_code == 1 and "--bind cannot narrow" in result.output, result.output
    result = invoke(app, "upgrade", "--bind", "nosuch")
    assert result.exit_code == 1 and "Unknown database 'nosuch'" in result.output, result.output
    result = invoke(app, "downgrade")
    assert result.exit_code == 1, result.output
    assert "[other] table notes: 1 row" in result.output
    assert "nothing was reverted" in result.output
    assert (_versions(app), _versions(app, "other")) == ([first], [first])


# --- What the commands print -------------------------------------------------------------


def _unordered(text: str) -> str:
    """``text`` with the revisions after each branch point in order: Alembic lists
    them in the order of a set, which changes from one run to the next."""
    text = re.sub(
        r"^Branches into: (.*)$",
        lambda found: "Branches into: " + ", ".join(sorted(found.group(1).split(", "))),
        text,
        flags=re.MULTILINE,
    )
    parts = re.split(r"((?:^ +-> .*\n)+)", text, flags=re.MULTILINE)
    return "".join("".join(sorted(p.splitlines(True))) if "-> " in p[:40] else p for p in parts)


def _as_set(text: str) -> list[str]:
    """What ``current`` prints, in any order: Alembic lists the revisions in the order
    of a set, one line or one ``Rev:`` block each."""
    text = _unordered(text)
    verbose = "Rev: " in text
    return sorted(
        re.split(r"^(?=Rev: )", text, flags=re.MULTILINE) if verbose else text.splitlines()
    )


def test_revision_listings_print_as_under_flask_migrate(
    build: Build, database_url: str, tmp_path: Path
) -> None:
    # Scripts parse this output (`flask db current | grep -q '(head)'`): flask_schemaops
    # prints what Flask-Migrate (that is, Alembic) prints, for a linear history, then
    # at a branch point, then at a merge with a branch label, then with a second root
    # g1 and d1 on it, which depends on the merge (so the merge is an effective head).
    fm = build(flask_migrate.Migrate, tmp_path, database_url)

    @fm.extensions["migrate"].migrate.configure
    def print_here(config: Any) -> Any:
        config.stdout = sys.stdout  # Alembic's default: the sys.stdout of its import
        return config

    app = build(compat.Migrate, tmp_path, database_url)
    commands = [
        ("current",),
        ("current", "-v"),
        ("heads",),
        ("heads", "-v"),
        ("history",),
        ("history", "-i"),
        ("history", "-v"),
        ("branches",),
        ("branches", "-v"),
        ("show", "r2"),
    ]
    ok(invoke(fm, "init"))
    ok(invoke(fm, "revision", "-m", "one", "--rev-id", "r1"))
    ok(invoke(fm, "revision", "-m", "two", "--rev-id", "r2"))
    ok(invoke(fm, "upgrade", "r1"))
    steps = [
        [],
        [
            ("revision", "-m", "alpha", "--rev-id", "a1", "--branch-label", "alpha"),
            ("revision", "-m", "beta", "--rev-id", "b1", "--head", "r2", "--splice"),
            ("upgrade", "r2"),
        ],
        [("upgrade", "heads"), ("merge", "-m", "join", "--rev-id", "m1", "a1", "b1"), ("upgrade",)],
        [("upgrade", "heads")],  # after g1 and d1 (Flask-Migrate has no --depends-on)
    ]
    printed: dict[str, str] = {}
    for number, step in enumerate(steps):
        if number == 3:
            ok(invoke(app, "revision", "-m", "gamma", "--rev-id", "g1", "--head", "base"))
            delta = ("-m", "delta", "--rev-id", "d1", "--head", "g1", "--depends-on", "m1")
            ok(invoke(app, "revision", *delta))
            printed = {}  # what follows the merge is kept apart
        for args in step:
            ok(invoke(fm, *args))
        for command in commands:
            expected = ok(invoke(fm, *command)).stdout
            same = _as_set if command[0] == "current" else _unordered
            assert same(ok(invoke(app, *command)).stdout) == same(expected), command
            printed[" ".join(command)] = expected
        if number == 2:
            merged = printed

    # The merge is a head no revision builds on, but d1 depends on it: Alembic's
    # one-line listings call it an effective head, its full listings a head.
    assert _as_set(printed["current"]) == ["d1 (head)", "m1 (effective head) (mergepoint)"]
    assert sorted(printed["heads"].splitlines()) == ["d1 (head)", "m1 (alpha) (effective head)"]
    history = printed["history"]
    assert "\na1, b1 -> m1 (alpha) (effective head) (mergepoint), join\n" in history
    assert "\nRev: m1 (head) (mergepoint)\n" in printed["history -v"]

    # What that is, at the merge.
    printed = merged
    assert printed["current"] == "m1 (head) (mergepoint)\n"
    assert printed["heads"] == "m1 (alpha) (head)\n"
    assert printed["history -i"].startswith(
        "a1, b1 -> m1 (alpha) (head) (current) (mergepoint), join\n"
    )
    assert _unordered(printed["branches"]) == "r2 (branchpoint)\n   -> a1 (alpha)\n   -> b1\n\n"
    assert "\nBranches into: " in printed["branches -v"]
    assert "Merges: a1, b1\n" in printed["current -v"]
    heading = printed["current -v"].splitlines()[0]
    assert heading == f"Current revision(s) for {sa.make_url(database_url).render_as_string()}:"
    password = sa.make_url(database_url).password
    assert not password or (password not in heading and ":***@" in heading)


# --- The Migrate object ------------------------------------------------------------------


def test_a_version_table_named_in_flask_migrates_env_py(
    build_sqlite: Build, tmp_path: Path
) -> None:
    """status, the guard and the lock read the version table from the settings: a
    name only env.py knows is refused, and the fix the error gives works."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = build_sqlite(flask_migrate.Migrate, tmp_path, url)
    ok(invoke(app, "init"))
    env = tmp_path / "migrations" / "env.py"
    theirs = env.read_text()
    env.write_text(
        theirs.replace("connection=connection,", "connection=connection, version_table='fm_v',")
    )
    ok(invoke(app, "migrate", "-m", "initial"))
    ok(invoke(app, "upgrade"))
    [revision] = _versions(app, table="fm_v")

    app = build_sqlite(compat.Migrate, tmp_path, url)
    for command in ("status", "upgrade"):
        result = invoke(app, command)
        assert result.exit_code != 0
        assert "passes version_table= to context.configure() itself" in result.output
        assert "move the option to Migrate(version_table=...)" in result.output
    env.write_text(theirs)
    app = build_sqlite(compat.Migrate, tmp_path, url, version_table="fm_v")
    assert "Up to date." in ok(invoke(app, "status")).output
    assert f"already at {revision}" in ok(invoke(app, "upgrade")).output


def test_migrate_takes_flask_migrates_arguments(build_sqlite: Build, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    options = {"version_table": "fm_versions", "compare_server_default": True, "user_opt": 1}
    _flask_migrate_project(build_sqlite, tmp_path, url, **options)
    with sa.create_engine(url).connect() as connection:
        assert sa.inspect(connection).get_table_names() == ["fm_versions", "spans"]

    app = build_sqlite(compat.Migrate, tmp_path, url, **options)
    db = app.extensions["sqlalchemy"]
    config = app.extensions["migrate"]
    assert isinstance(config, compat.MigrateConfig)
    assert config.db is db
    assert config.metadata is db.metadata
    assert isinstance(config.migrate, compat.Migrate)
    assert config.directory == str(tmp_path / "migrations")
    assert config.configure_args == {
        "compare_type": True,
        "render_as_batch": True,
        "compare_server_default": True,
        "version_table": "fm_versions",
        "user_opt": 1,
    }
    assert config.migrate.alembic_ctx_kwargs == config.configure_args
    config.configure_args["mutated"] = True  # Flask-Migrate's env.py does this
    assert "mutated" not in config.configure_args
    settings = get_state(app).settings
    assert settings.render_as_batch is True
    assert settings.version_table == "fm_versions"
    assert dict(settings.configure_args) == {"user_opt": 1}
    # flask_schemaops reads the version table Flask-Migrate's env.py writes.
    [current] = _versions(app, table="fm_versions")
    assert ok(invoke(app, "current")).output.strip() == f"{current} (head)"

    # The app-factory form, with init_app's overrides and a Path; @configure callbacks.
    migrate = compat.Migrate(directory=Path("unused"), compare_type=False)
    seen = []

    @migrate.configure
    def remember(alembic_config: Any) -> Any:
        seen.append(alembic_config.get_main_option("script_location"))
        return alembic_config

    assert migrate.configure_callbacks == [remember]
    factory = Flask("factory", root_path=str(tmp_path))
    factory.config["SQLALCHEMY_DATABASE_URI"] = url
    SQLAlchemy(factory)
    migrate.init_app(factory, directory=tmp_path / "migrations", render_as_batch=False, a=2)
    args = factory.extensions["migrate"].configure_args
    assert args == {"compare_type": False, "render_as_batch": False, "a": 2}
    assert ok(invoke(factory, "current")).output.strip() == ""  # default version table
    assert seen == []  # nothing needed Alembic's config yet
    ok(invoke(factory, "heads"))
    assert seen == [str(tmp_path / "migrations")]
    with factory.app_context():
        alembic_config = migrate.get_config(opts=["autogenerate"])
    assert alembic_config.cmd_opts.autogenerate is True
    assert seen[-1] == str(tmp_path / "migrations")
    seen.clear()
    assert migrate.call_configure_callbacks(alembic_config) is alembic_config
    assert seen == [str(tmp_path / "migrations")]
    assert migrate.alembic_ctx_kwargs == {"compare_type": False, "render_as_batch": False, "a": 2}

    # As with Flask-Migrate, no db: nothing registered until init_app.
    bare = Flask("bare", root_path=str(tmp_path))
    compat.Migrate(bare)
    assert "migrate" not in bare.extensions


def test_alembic_commands_print_through_get_config(
    build: Build, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _flask_migrate_project(build, tmp_path, database_url)
    app = build(compat.Migrate, tmp_path, database_url)
    migrate = app.extensions["migrate"].migrate
    capsys.readouterr()
    with app.app_context():
        alembic.command.current(migrate.get_config())
        alembic.command.heads(migrate.get_config())
        alembic.command.history(migrate.get_config())
        assert capsys.readouterr().out == (
            f"{first} (head)\n{first} (head)\n<base> -> {first} (head), initial\n"
        )
        alembic.command.revision(migrate.get_config(), message="by hand", rev_id="hand1")
    [script] = tmp_path.glob("migrations/versions/hand1_*.py")
    assert capsys.readouterr().out == f"Generating {script} ...  done\n"
    # flask_schemaops's own commands keep Alembic quiet and print their own report.
    result = ok(invoke(app, "revision", "-m", "more"))
    [script] = tmp_path.glob("migrations/versions/*_more.py")
    assert result.output == f"Wrote {script}\n"


def test_relative_directory_is_resolved_against_the_working_directory(
    build_sqlite: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    project, package = tmp_path / "project", tmp_path / "project" / "package"
    package.mkdir(parents=True)
    monkeypatch.chdir(project)
    _flask_migrate_project(build_sqlite, package, url, directory="migrations")
    assert (project / "migrations" / "env.py").is_file()

    app = build_sqlite(compat.Migrate, package, url, directory="migrations")
    monkeypatch.chdir(tmp_path)  # later changes of directory do not move it
    assert app.extensions["migrate"].directory == str(project / "migrations")
    assert ok(invoke(app, "current")).output.strip().endswith("(head)")
    # A relative -d is the working directory's, as with Flask-Migrate.
    result = invoke(app, "-d", "project/migrations", "history")
    assert ok(result).output.endswith(", initial\n")
    monkeypatch.chdir(package)
    assert (
        "No migrations directory at " + str(package / "project")
        in invoke(app, "-d", "project/migrations", "history").output
    )


# --- Flask-Migrate's functions -------------------------------------------------------------


def _fails(call: Callable[[], None]) -> str:
    """Run ``call``, which must log an error and exit 1; the logged message."""
    messages: list[str] = []

    def remember(record: logging.LogRecord) -> bool:
        messages.append(record.getMessage())
        return True

    # A filter, not a handler: the fileConfig() of Flask-Migrate's env.py drops handlers.
    logger = logging.getLogger("flask_migrate")
    logger.addFilter(remember)
    try:
        with pytest.raises(SystemExit) as exit_info:
            call()
    finally:
        logger.removeFilter(remember)
    assert exit_info.value.code == 1
    [message] = messages
    return message


def test_module_functions(
    build: Build,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = build(flask_migrate.Migrate, tmp_path, database_url)
    with app.app_context():
        flask_migrate.init()
        flask_migrate.migrate(message="initial")
        flask_migrate.upgrade()
    [first] = _versions(app)
    capsys.readouterr()

    app = build(compat.Migrate, tmp_path, database_url, arn=True)
    with app.app_context():
        compat.upgrade()
        compat.current()
        assert capsys.readouterr().out.endswith(f"{first} (head)\n")
        message = _fails(compat.check)
        assert message.startswith("Error: New upgrade operations detected: add_column spans.arn")
        compat.migrate(message="add arn")
        [script] = tmp_path.glob("migrations/versions/*_add_arn.py")
        second = script.name.split("_")[0]
        assert capsys.readouterr().out == f"Wrote {script}\n"
        compat.upgrade(x_arg="k=v")
        assert _versions(app) == [second]
        compat.check()
        compat.heads()
        compat.history(indicate_current=True)
        compat.branches()
        assert capsys.readouterr().out.splitlines()[-3:] == [
            f"{second} (head)",
            f"{first} -> {second} (head) (current), add arn",
            f"<base> -> {first}, initial",
        ]
        compat.show(revision=first)
        assert capsys.readouterr().out.startswith(f"Rev: {first}\nParent: <base>\n")
        if database_url.startswith("sqlite"):  # batch mode must reflect the live table
            message = _fails(lambda: compat.downgrade(sql=True))
            assert "--sql cannot write the batch operation on table 'spans'" in message
        else:
            compat.downgrade(sql=True)  # head:-1, as Flask-Migrate does
            assert "DROP COLUMN ARN" in capsys.readouterr().out.upper().replace("`", "")
        compat.downgrade()
        assert _versions(app) == [first]
        compat.stamp(revision=second)
        assert _versions(app) == [second]
        compat.stamp(revision=[first])
        assert _versions(app) == [first]
        compat.revision(message="hand one", head=first, splice=True)
        assert len(api.heads()) == 2
        compat.merge(revisions=[], message="join")
        assert len(api.heads()) == 1
        appender = "import sys; open(sys.argv[1], 'a').write('# edited\\n')"
        monkeypatch.setenv("EDITOR", f'{sys.executable} -c "{appender}"')
        monkeypatch.delenv("VISUAL", raising=False)
        compat.edit()  # the current revision, by default
        [current] = tmp_path.glob(f"migrations/versions/{first}_*.py")
        assert current.read_text().endswith("# edited\n")
        compat.list_templates()
        assert "flask - " in capsys.readouterr().out
        monkeypatch.chdir(tmp_path)
        compat.init(directory="fresh", multidb=True)  # relative to the working directory
        assert (tmp_path / "fresh" / "env.py").read_text() == TEMPLATE_ENV.read_text()

        message = _fails(lambda: compat.upgrade(revision="nope"))
        assert message.startswith("Error: Unknown revision 'nope'")
        message = _fails(lambda: compat.init())
        assert "already exists and is not empty" in message
    message = _fails(compat.current)
    assert message.startswith("Error: Working outside of application context")


def test_init_takes_flask_migrates_template_options(
    build_sqlite: Build,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, other = (f"sqlite:///{tmp_path / name}" for name in ("app.db", "other.db"))
    app = build_sqlite(compat.Migrate, tmp_path, url, bind_url=other)
    monkeypatch.chdir(tmp_path)
    note = "Each database has a history of its own here: versions/ for the default one,"
    assert "--multidb" in ok(invoke(app, "init", "--help")).output
    listed = ok(invoke(app, "list-templates")).output
    assert re.search(
        r"^flask-multidb +Flask-Migrate's name; makes the flask template", listed, re.M
    )

    # Flask-Migrate's multi-database options make flask_schemaops's layout, and say so.
    for folder, options in (("a", ["--multidb"]), ("b", ["-t", "flask-multidb"]), ("c", [])):
        result = ok(invoke(app, "init", "-d", folder, *options))
        assert (note in result.output) == bool(options)
        assert (tmp_path / folder / "env.py").read_text() == TEMPLATE_ENV.read_text()
        assert (tmp_path / folder / "binds" / "other").is_dir()
    for name in ("aioflask", "aioflask-multidb"):
        result = invoke(app, "init", "-d", "d", "-t", name)
        assert result.exit_code == 1
        assert f"Error: flask-schemaops has no {name!r} template" in result.output
        assert not (tmp_path / "d").exists()

    with app.app_context():
        compat.init(directory="e", multidb=True)
        assert note in capsys.readouterr().out
        assert (tmp_path / "e" / "binds" / "other").is_dir()
        message = _fails(lambda: compat.init(directory="f", template="aioflask"))
        assert message.startswith("Error: flask-schemaops has no 'aioflask' template")
        compat.list_templates()
        assert "\nflask-multidb - Flask-Migrate's name" in capsys.readouterr().out


def test_scripted_downgrade_that_drops_rows_needs_yes(
    build: Build, database_url: str, tmp_path: Path
) -> None:
    first = _flask_migrate_project(build, tmp_path, database_url)
    app = build(compat.Migrate, tmp_path, database_url, arn=True)
    ok(invoke(app, "migrate", "-m", "add arn"))
    ok(invoke(app, "upgrade"))
    with _engine(app).begin() as connection:
        connection.execute(sa.text("INSERT INTO spans (name, arn) VALUES ('a', 'x')"))

    # Flask-Migrate reverted it; without a terminal it is refused now, unless --yes.
    result = invoke(app, "downgrade")
    assert result.exit_code == 1
    assert "the downgrade would lose the data listed above" in result.output
    assert "`flask db downgrade -1 --yes`" in result.output
    assert "arn" in {c[0] for c in _schema(app)["spans"]}
    ok(invoke(app, "downgrade", "--yes"))
    assert _versions(app) == [first]
    assert "arn" not in {c[0] for c in _schema(app)["spans"]}


def test_installing_adds_no_flask_command() -> None:
    # `flask db` comes from Migrate(app, db) on each app, not from the installation.
    commands = importlib.metadata.entry_points(group="flask.commands")
    assert [c.value for c in commands if c.value.startswith("flask_schemaops")] == []


def test_hints_name_the_command_group(build_sqlite: Build, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    _flask_migrate_project(build_sqlite, tmp_path, url)
    app = build_sqlite(compat.Migrate, tmp_path, url, arn=True, command="database")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["database", "upgrade", "nosuch"])
    assert result.exit_code == 1
    assert "See `flask database history` for the revisions there are." in result.output
    result = runner.invoke(args=["database", "check"])
    assert 'Generate a revision: flask database revision --autogenerate -m "..."' in result.output
    result = runner.invoke(args=["database", "convert-env"])
    assert "env.py was not changed. Run `flask database convert-env --yes`" in result.output
    with app.app_context():
        message = _fails(lambda: compat.upgrade(revision="nosuch"))
    assert "See `flask database history`" in message

    app = build_sqlite(compat.Migrate, tmp_path, url, config={"SCHEMAOPS_COMMAND": "schema"})
    result = app.test_cli_runner().invoke(args=["schema", "upgrade", "nosuch"])
    assert "See `flask schema history`" in result.output


# --- convert-env ---------------------------------------------------------------------------


def test_convert_env_swaps_a_flask_migrate_env(
    build: Build, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _flask_migrate_project(build, tmp_path, database_url)
    folder = tmp_path / "migrations"
    env, backup = folder / "env.py", folder / "env.py.flask-migrate"
    theirs = env.read_text()
    app = build(compat.Migrate, tmp_path, database_url)

    with app.app_context():
        preview = api.convert_env()
    assert preview.needed and not preview.written
    assert (preview.env, preview.backup) == (env, backup)
    assert "\n-fileConfig(config.config_file_name)\n" in preview.diff
    assert "\n+from flask_schemaops import environment\n" in preview.diff
    assert env.read_text() == theirs and not backup.exists()

    summary = r"^  convert-env +Replace env.py with flask_schemaops's, keeping a backup.$"
    assert re.search(summary, ok(invoke(app, "--help")).output, re.MULTILINE)
    result = ok(invoke(app, "convert-env"))  # not interactive: shows, does not write
    assert result.output.startswith(preview.diff)
    assert "env.py was not changed. Run `flask db convert-env --yes`" in result.output
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    result = ok(app.test_cli_runner().invoke(args=["db", "convert-env"], input="n\n"))
    assert "Write the new env.py? [y/N]: n" in result.output
    assert env.read_text() == theirs and not backup.exists()

    result = ok(app.test_cli_runner().invoke(args=["db", "convert-env"], input="y\n"))
    assert f"Wrote {env}; the old one is kept as env.py.flask-migrate." in result.output
    assert "script.py.mako" in result.output
    assert "For plain `alembic`, add to the [alembic] section of alembic.ini:" in result.output
    assert "\n    script_location = %(here)s\n    prepend_sys_path = %(here)s" in result.output
    assert f"\n    flask_app = {app.import_name}\n" in result.output
    assert env.read_text() == TEMPLATE_ENV.read_text()
    assert backup.read_text() == theirs
    assert "already runs through flask_schemaops" in ok(invoke(app, "convert-env")).output

    # An existing backup is never replaced.
    env.write_text(theirs + "# edited\n")
    result = invoke(app, "convert-env", "--yes")
    assert result.exit_code == 1
    assert f"Error: {backup} already exists" in result.output
    assert env.read_text() == theirs + "# edited\n" and backup.read_text() == theirs
    backup.unlink()
    ok(invoke(app, "convert-env", "--yes"))
    assert backup.read_text() == theirs + "# edited\n"

    # The project carries on with the new env.py.
    result = ok(invoke(app, "upgrade"))
    assert f"Nothing to do: the database is already at {first}" in result.output
    app = build(compat.Migrate, tmp_path, database_url, arn=True)
    assert invoke(app, "check").exit_code == 1
    ok(invoke(app, "migrate", "-m", "add arn"))
    [script] = folder.glob("versions/*_add_arn.py")
    text = script.read_text()
    assert "# revision identifiers, used by Alembic." in text  # their script.py.mako
    assert "with op.batch_alter_table('spans'" in text  # render_as_batch=True, as before
    result = ok(invoke(app, "upgrade"))
    assert "1 revision applied" in result.output
    assert "arn" in {c[0] for c in _schema(app)["spans"]}
    ok(invoke(app, "check"))
    ok(invoke(app, "downgrade"))
    assert _versions(app) == [first]
    assert "arn" not in {c[0] for c in _schema(app)["spans"]}


def test_convert_env_refuses_a_multidb_directory(build_sqlite: Build, tmp_path: Path) -> None:
    url, other = (f"sqlite:///{tmp_path / name}" for name in ("app.db", "other.db"))
    app = build_sqlite(flask_migrate.Migrate, tmp_path, url, bind_url=other)
    ok(invoke(app, "init", "--multidb"))
    before = _files(tmp_path / "migrations")

    app = build_sqlite(compat.Migrate, tmp_path, url, bind_url=other)
    result = invoke(app, "convert-env", "--yes")
    assert result.exit_code == 1
    assert "is a Flask-Migrate --multidb directory" in result.output
    assert "upgrade_<bind>()" in result.output
    assert "Keep this env.py" in result.output
    assert _files(tmp_path / "migrations") == before


def test_multidb_directory_started_over_as_the_docs_say(
    build: Build,
    database_url: str,
    other_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A package layout: the app in myapp/, commands run from the project, where
    # Flask-Migrate put migrations/.
    package = tmp_path / "myapp"
    package.mkdir()
    monkeypatch.chdir(tmp_path)
    options: dict[str, Any] = {"bind_url": other_url, "directory": "migrations"}
    _flask_migrate_project(build, package, database_url, "--multidb", **options)
    assert (tmp_path / "migrations" / "env.py").is_file()

    app = build(compat.Migrate, package, database_url, **options)
    ok(invoke(app, "init", "-d", "migrations-v2"))
    ok(invoke(app, "-d", "migrations-v2", "revision", "-m", "baseline", "--bind", "default"))
    ok(invoke(app, "-d", "migrations-v2", "revision", "-m", "baseline", "--bind", "other"))
    ok(invoke(app, "-d", "migrations-v2", "stamp", "--purge", "head"))
    folder = tmp_path / "migrations-v2"
    baselines = [
        next(folder.glob(f"{versions}/*_baseline.py")).name.split("_")[0]
        for versions in ("versions", "binds/other")
    ]
    assert [_versions(app), _versions(app, "other")] == [[b] for b in baselines]

    # Then SCHEMAOPS_DIRECTORY points at it, relative to the working directory as -d is.
    config = {"SCHEMAOPS_DIRECTORY": "migrations-v2"}
    app = build(compat.Migrate, package, database_url, body=True, config=config, **options)
    assert app.extensions["migrate"].directory == str(folder)
    assert ok(invoke(app, "current")).output.splitlines() == [
        f"[default] {baselines[0]} (head)",
        f"[other] {baselines[1]} (head)",
    ]
    ok(invoke(app, "migrate", "-m", "add body"))
    [script] = folder.glob("binds/other/*_add_body.py")
    ok(invoke(app, "upgrade"))
    assert "body" in {c[0] for c in _schema(app, "other")["notes"]}
    assert _versions(app, "other") == [script.name.split("_")[0]]
    assert _versions(app) == [baselines[0]]
