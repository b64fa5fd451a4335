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
from typing import TYPE_CHECKING, Any

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
    """The plugin's options: command line, then environment, then ini file."""

    app: str | None = None
    url: str | None = None
    binds: dict[str, str] = field(default_factory=dict)
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

    binds: dict[str, str] = {}
    sources = [
        ini("schemaops_binds"),
        os.environ.get(BINDS_VARIABLE, "").replace(",", " ").split(),
        config.getoption("schemaops_bind") or [],
    ]
    for source in sources:
        for item in source:
            name, sep, url = item.partition("=")
            if not sep or not name.strip() or not url.strip():
                raise pytest.UsageError(f"A schemaops bind must be NAME=URL, not {item!r}.")
            binds[name.strip()] = url.strip()
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
        url=config.getoption("schemaops_url")
        or os.environ.get(URL_VARIABLE)
        or ini("schemaops_url")
        or None,
        binds=binds,
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
            yield pytest.Function.from_parent(self, name=function.__name__, callobj=function)


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
        pytest.fail(
            "The flask_schemaops fixtures need the app: set `schemaops_app ="
            " package.module:create_app` in the pytest configuration, or override the"
            " `schemaops_create_app` fixture in conftest.py.",
            pytrace=False,
        )
    return _factory(path)


def _factory(path: str) -> Callable[[Mapping[str, Any]], Flask]:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"schemaops_app = {path}: cannot import {module_name}: {exc}", pytrace=False)
    factory = getattr(module, attribute or "create_app", None)
    if not callable(factory) or not _takes_one_argument(factory):
        pytest.fail(
            f"schemaops_app = {path} must name an app factory that takes a config mapping"
            " (def create_app(config=None): ... app.config.update(config or {}) before"
            " db.init_app(app)); or override the `schemaops_create_app` fixture.",
            pytrace=False,
        )

    def create(config: Mapping[str, Any]) -> Flask:
        return factory(dict(config))  # type: ignore[no-any-return]

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
    from ..errors import SchemaOpsError
    from .databases import Suite

    cache = getattr(pytestconfig, "cache", None)
    folder = (
        cache.mkdir("schemaops")
        if cache is not None and schemaops_options.keep_template
        else tmp_path_factory.mktemp("schemaops")
    )
    try:
        suite = Suite(
            schemaops_create_app,
            schemaops_options.url or "sqlite://",
            schemaops_options.binds,
            folder=Path(folder),
            keep_template=schemaops_options.keep_template,
        )
    except SchemaOpsError as exc:
        pytest.fail(str(exc), pytrace=False)
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
    from ..errors import SchemaOpsError

    mode = schemaops_options.isolation
    for marker in request.node.iter_markers("schemaops"):
        mode = marker.kwargs.get("isolation", marker.args[0] if marker.args else mode)
        break
    if mode not in ("clone", "rollback"):
        pytest.fail(f"schemaops isolation must be clone or rollback, not {mode!r}.", False)
    manager = schemaops_suite.clone() if mode == "clone" else schemaops_suite.rollback()
    try:
        databases = manager.__enter__()
    except SchemaOpsError as exc:
        pytest.fail(str(exc), pytrace=False)
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
    from ..errors import SchemaOpsError

    try:
        return databases.attach(create_app(databases.config))
    except SchemaOpsError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def schemaops_migrations(
    schemaops_suite: Suite, schemaops_create_app: Callable[[Mapping[str, Any]], Flask]
) -> Iterator[MigrationRunner]:
    """A :class:`~flask_schemaops.testing.runner.MigrationRunner` on new, empty
    databases: upgrade and downgrade, step by step, insert rows as of a revision."""
    from .runner import MigrationRunner

    with schemaops_suite.empty() as databases:
        yield MigrationRunner(_attach(databases, schemaops_create_app), databases)
