"""Moving from Flask-Migrate: real Flask-Migrate 4.1.0 projects, then one changed import.

Each project is made by Flask-Migrate itself (its ``flask db`` commands or its
functions); then a new app object with the same models and directory registers
``flask_schemaops.compat.Migrate`` instead and carries on.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    **options: Any,
) -> Flask:
    """An app with ``Span`` (``spans``), and with ``bind_url`` a bind ``other`` holding
    ``Note`` (``notes``); ``arn`` and ``body`` are the columns a model change adds."""
    app = Flask("fmapp", root_path=str(root))
    app.config["SQLALCHEMY_DATABASE_URI"] = url
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


# --- The Migrate object ------------------------------------------------------------------


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

    # As with Flask-Migrate, no db: nothing registered until init_app.
    bare = Flask("bare", root_path=str(tmp_path))
    compat.Migrate(bare)
    assert "migrate" not in bare.extensions


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
            f"{first} -> {second} (head, current), add arn",
            f"<base> -> {first}, initial",
        ]
        compat.show(revision=first)
        assert capsys.readouterr().out.startswith(f"Rev: {first}\nParent: <base>\n")
        if database_url.startswith("sqlite"):  # batch mode must reflect the live table
            assert "--sql mode" in _fails(lambda: compat.downgrade(sql=True))
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
