"""The flask_schemaops pytest plugin (entry point ``pytest11``: ``schemaops``).

It is inert until a project opts in: it adds options and ``schemaops_*``
fixtures, and only when the project sets ``schemaops_app`` does it provide an
``app`` fixture (for pytest-flask), only with ``schemaops_checks`` does it collect
the ready-made checks. This module imports nothing but pytest and the standard
library; the rest is imported by the fixtures that need it.
"""

from __future__ import annotations

import importlib
import inspect
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    from flask import Flask

    from .databases import Databases, Suite
    from .runner import MigrationRunner

URL_VARIABLE = "SCHEMAOPS_TEST_DATABASE_URL"
BINDS_VARIABLE = "SCHEMAOPS_TEST_BINDS"
CHECK_NAMES = (
    "single_head",
    "upgrade",
    "models_match",
    "stairway",
    "no_trace",
    "lint",
    "models_imported",
)


@dataclass(frozen=True)
class Options:
    """The plugin's options: command line, then environment, then ini file.

    The URLs are left out of the repr, which pytest shows in tracebacks: they may
    hold passwords."""

    app: str | None = None
    url: str | None = field(default=None, repr=False)
    binds: dict[str, str] = field(default_factory=dict, repr=False)
    # Where each URL was set (e.g. ``--schemaops-url``), by database: ``default``
    # or a bind name; error messages name it.
    sources: dict[str, str] = field(default_factory=dict)
    isolation: str = "clone"
    keep_template: bool = False
    checks: tuple[str, ...] = ()
    changed_since: str | None = None
    lint_severity: str = "error"
    models_package: str | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("schemaops", "flask_schemaops migrated test databases")
    group.addoption(
        "--schemaops-app",
        help="The app factory, package.module:create_app (ini: schemaops_app).",
    )
    group.addoption(
        "--schemaops-url",
        help=f"Database server for the test databases (env {URL_VARIABLE}; ini schemaops_url;"
        " default: SQLite files).",
    )
    group.addoption(
        "--schemaops-bind",
        action="append",
        default=[],
        metavar="NAME=URL",
        help=f"Server for one bind's test databases (env {BINDS_VARIABLE}; ini schemaops_binds).",
    )
    group.addoption(
        "--schemaops-isolation",
        choices=["clone", "rollback"],
        help="How each test gets its database (ini schemaops_isolation; default clone).",
    )
    group.addoption(
        "--schemaops-keep-template",
        action="store_true",
        default=None,
        help="Keep the migrated template for the next session (ini schemaops_keep_template).",
    )
    group.addoption(
        "--schemaops-changed-since",
        metavar="REF",
        help="Run the stairway and no-trace checks only on revisions changed since the git REF"
        " (ini schemaops_changed_since).",
    )
    parser.addini("schemaops_app", "The app factory: package.module:create_app.")
    parser.addini("schemaops_url", "Database server URL for the test databases.")
    parser.addini("schemaops_binds", "NAME=URL lines: servers of the binds.", type="linelist")
    parser.addini("schemaops_isolation", "clone (default) or rollback.", default="clone")
    parser.addini(
        "schemaops_keep_template", "Keep the template across sessions.", type="bool", default=False
    )
    parser.addini("schemaops_checks", "Ready-made checks to run, or 'all'.", type="args")
    parser.addini("schemaops_changed_since", "Git ref: check only revisions changed since.")
    parser.addini("schemaops_lint_severity", "Lowest lint severity that fails.", default="error")
    parser.addini("schemaops_models_package", "The package whose modules define models.")


_OPTIONS = pytest.StashKey[Options]()


def options(config: pytest.Config) -> Options:
    """The plugin's options for this run."""
    if _OPTIONS not in config.stash:
        config.stash[_OPTIONS] = _read(config)
    return config.stash[_OPTIONS]


def _read(config: pytest.Config) -> Options:
    def ini(name: str) -> Any:
        return config.getini(name)

    in_ini = f"in {config.inipath.name}" if config.inipath else "in the pytest configuration"
    sources: dict[str, str] = {}
    binds: dict[str, str] = {}
    for where, items in (
        (f"schemaops_binds {in_ini}", ini("schemaops_binds")),
        (BINDS_VARIABLE, os.environ.get(BINDS_VARIABLE, "").replace(",", " ").split()),
        ("--schemaops-bind", config.getoption("schemaops_bind") or []),
    ):
        for item in items:
            name, sep, url = item.partition("=")
            if not sep or not name.strip() or not url.strip():
                # Not echoed: the item may hold a password.
                raise pytest.UsageError(
                    f"A schemaops bind ({where}) must be NAME=URL, e.g."
                    " audit=postgresql+psycopg://me:secret@localhost/audit_test."
                )
            binds[name.strip()] = url.strip()
            sources[name.strip()] = where
    url = None
    for where, value in (
        ("--schemaops-url", config.getoption("schemaops_url")),
        (URL_VARIABLE, os.environ.get(URL_VARIABLE)),
        (f"schemaops_url {in_ini}", ini("schemaops_url")),
    ):
        if value:
            url, sources["default"] = value, where
            break
    isolation = config.getoption("schemaops_isolation") or ini("schemaops_isolation") or "clone"
    if isolation not in ("clone", "rollback"):
        raise pytest.UsageError(
            f"schemaops_isolation must be clone or rollback, not {isolation!r}."
        )
    checks = tuple(ini("schemaops_checks"))
    if "all" in checks:
        checks = CHECK_NAMES
    unknown = [c for c in checks if c not in CHECK_NAMES]
    if unknown:
        raise pytest.UsageError(
            f"Unknown schemaops_checks: {', '.join(unknown)}. Known: {', '.join(CHECK_NAMES)},"
            " or all."
        )
    keep = config.getoption("schemaops_keep_template")
    return Options(
        app=config.getoption("schemaops_app") or ini("schemaops_app") or None,
        url=url,
        binds=binds,
        sources=sources,
        isolation=isolation,
        keep_template=bool(ini("schemaops_keep_template") if keep is None else keep),
        checks=checks,
        changed_since=config.getoption("schemaops_changed_since")
        or ini("schemaops_changed_since")
        or None,
        lint_severity=ini("schemaops_lint_severity") or "error",
        models_package=ini("schemaops_models_package") or None,
    )


class _AppFixture:
    """Registered only when ``schemaops_app`` is set: the ``app`` fixture that
    pytest-flask (``client``, ``url_for``...) builds on."""

    @pytest.fixture
    def app(self, schemaops_app: Flask) -> Flask:
        """The app under test, on this test's database (see ``schemaops_app``)."""
        return schemaops_app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "schemaops(isolation): how this test gets its database: 'clone' or 'rollback'.",
    )
    if options(config).app:
        config.pluginmanager.register(_AppFixture(), "schemaops-app-fixture")


# --- The ready-made checks, collected when the ini file asks for them ----------------


class ChecksFile(pytest.File):
    """The ready-made checks, attached to the first conftest.py collected."""

    def collect(self) -> Iterator[pytest.Item]:
        from . import checks

        for name in options(self.config).checks:
            function = checks.CHECKS[name]
            yield Check.from_parent(self, name=function.__name__, callobj=function)


class Check(pytest.Function):
    """A ready-made check, collected from the pytest configuration."""

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # Reports head a failure with the check's name, as for a test in a module
        # (pytest would otherwise join the names of the folders above).
        path, line, _ = super().reportinfo()
        return path, line, self.name


_CHECKS_ATTACHED = pytest.StashKey[bool]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name != "conftest.py" or not options(parent.config).checks:
        return None
    if parent.config.stash.get(_CHECKS_ATTACHED, False):
        return None
    parent.config.stash[_CHECKS_ATTACHED] = True
    return ChecksFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if not options(config).checks or config.stash.get(_CHECKS_ATTACHED, False):
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:  # not a chosen subset of tests
        warnings.warn(
            pytest.PytestConfigWarning(
                "schemaops_checks is set, but no conftest.py was collected to attach the"
                " checks to: add one to the test folder."
            ),
            stacklevel=1,
        )


# --- Failing -------------------------------------------------------------------------

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: no traceback, and no exception it was
    handling shown before it."""
    __tracebackhide__ = True
    raise pytest.fail.Exception(message, pytrace=False) from None


def short(action: Callable[[], T]) -> T:
    """``action()``; an error of flask_schemaops fails the test with its message."""
    __tracebackhide__ = True
    from ..errors import SchemaOpsError

    try:
        return action()
    except SchemaOpsError as exc:
        fail(str(exc))


# --- Fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schemaops_options(pytestconfig: pytest.Config) -> Options:
    """The plugin's options (command line, environment, ini file)."""
    return options(pytestconfig)


@pytest.fixture(scope="session")
def schemaops_create_app(schemaops_options: Options) -> Callable[[Mapping[str, Any]], Flask]:
    """``create_app(config)``: the app, with ``config`` (test database URLs) applied.

    By default the factory named by ``schemaops_app``, called with the config
    mapping as its one argument. Override this fixture in conftest.py for a factory
    that takes its settings another way.
    """
    path = schemaops_options.app
    if not path:
        fail(
            "The flask_schemaops fixtures need the app: set `schemaops_app ="
            " package.module:create_app` in the pytest configuration, or override the"
            " `schemaops_create_app` fixture in conftest.py."
        )
    return _factory(path)


def _factory(path: str) -> Callable[[Mapping[str, Any]], Flask]:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        fail(f"schemaops_app = {path}: cannot import {module_name}: {exc}")
    factory = getattr(module, attribute or "create_app", None)
    if not callable(factory) or not _takes_one_argument(factory):
        fail(
            f"schemaops_app = {path} must name an app factory that takes a config mapping"
            " (def create_app(config=None): ... app.config.update(config or {}) before"
            " db.init_app(app)); or override the `schemaops_create_app` fixture."
        )

    def create(config: Mapping[str, Any]) -> Flask:
        # The mapping itself: its repr, shown in a traceback of the factory, masks
        # the passwords.
        return factory(config)  # type: ignore[no-any-return]

    return create


def _takes_one_argument(function: Callable[..., Any]) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(
        p.kind in positional or p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters
    )


@pytest.fixture(scope="session")
def schemaops_suite(
    schemaops_options: Options,
    schemaops_create_app: Callable[[Mapping[str, Any]], Flask],
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[Suite]:
    """The session's test databases: the template, built once by the migrations."""
    from .databases import Suite, parse_url

    cache = getattr(pytestconfig, "cache", None)
    folder = (
        cache.mkdir("schemaops")
        if cache is not None and schemaops_options.keep_template
        else tmp_path_factory.mktemp("schemaops")
    )
    sources = schemaops_options.sources
    suite = short(
        lambda: Suite(
            schemaops_create_app,
            parse_url(schemaops_options.url or "sqlite://", sources.get("default")),
            {
                name: parse_url(url, sources.get(name))
                for name, url in schemaops_options.binds.items()
            },
            folder=Path(folder),
            keep_template=schemaops_options.keep_template,
            sources=sources,
        )
    )
    try:
        yield suite
    finally:
        suite.close()


@pytest.fixture
def schemaops_database(
    request: pytest.FixtureRequest, schemaops_suite: Suite, schemaops_options: Options
) -> Iterator[Databases]:
    """This test's databases, at head: a clone of the template, or (rollback mode) a
    shared copy inside a transaction rolled back after the test. The mode is
    ``schemaops_isolation``, or ``@pytest.mark.schemaops(isolation=...)``."""
    mode = schemaops_options.isolation
    for marker in request.node.iter_markers("schemaops"):
        mode = marker.kwargs.get("isolation", marker.args[0] if marker.args else mode)
        break
    if mode not in ("clone", "rollback"):
        fail(f"schemaops isolation must be clone or rollback, not {mode!r}.")
    manager = schemaops_suite.clone() if mode == "clone" else schemaops_suite.rollback()
    databases = short(manager.__enter__)
    try:
        yield databases
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def schemaops_app(
    schemaops_database: Databases, schemaops_create_app: Callable[[Mapping[str, Any]], Flask]
) -> Flask:
    """The app under test, made by the factory with ``schemaops_database.config``:
    every database (the default one and each bind) is this test's."""
    return _attach(schemaops_database, schemaops_create_app)


def _attach(databases: Databases, create_app: Callable[[Mapping[str, Any]], Flask]) -> Flask:
    return short(lambda: databases.attach(create_app(databases.config)))


@pytest.fixture
def schemaops_migrations(
    schemaops_suite: Suite, schemaops_create_app: Callable[[Mapping[str, Any]], Flask]
) -> Iterator[MigrationRunner]:
    """A :class:`~flask_schemaops.testing.runner.MigrationRunner` on new, empty
    databases: upgrade and downgrade, step by step, insert rows as of a revision."""
    from .runner import MigrationRunner

    manager = schemaops_suite.empty()
    databases = short(manager.__enter__)
    try:
        yield MigrationRunner(_attach(databases, schemaops_create_app), databases)
    finally:
        manager.__exit__(None, None, None)
