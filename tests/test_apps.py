"""Per-app state: settings, directories, two apps in one process, app logging."""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apps import invoke, make_app, tables
from flask import Flask

from flask_schemaops import SchemaOps, api
from flask_schemaops.errors import ConfigurationError
from flask_schemaops.extension import get_state

App = Callable[..., Flask]
sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)


def test_two_apps_in_one_process_do_not_interfere(
    make_app: App, tmp_path: Path, database_url: str
) -> None:
    one = make_app(root=tmp_path / "one", name="one")
    two = make_app(
        root=tmp_path / "two",
        url=f"sqlite:///{tmp_path / 'two.db'}",
        name="two",
        directory="alembic",
        version_table="two_versions",
        columns={"arn": sa.Column(sa.String(50))},
    )
    for app in (one, two):
        assert invoke(app, "init").exit_code == 0
    for app in (one, two, one, two):  # interleaved, twice: nothing leaks from one run to the next
        result = invoke(app, "revision", "--autogenerate", "-m", "baseline")
        assert result.exit_code == 0, result.output
        assert invoke(app, "upgrade").exit_code == 0

    [script_one] = (tmp_path / "one" / "migrations" / "versions").glob("*.py")
    [script_two] = (tmp_path / "two" / "alembic" / "versions").glob("*.py")
    assert "arn" not in script_one.read_text()
    assert "arn" in script_two.read_text()
    assert tables(one) == {"alembic_version", "spans"}
    assert tables(two) == {"two_versions", "spans"}
    assert [s.up_to_date for s in api.status(app=one) + api.status(app=two)] == [True, True]


@sqlite_only
def test_settings_defaults_constructor_then_config(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, compare_type=False, version_table="ctor")
    assert get_state(app).settings.compare_type is False
    assert get_state(app).settings.version_table == "ctor"
    assert get_state(app).settings.render_as_batch == "auto"

    app = make_app(
        tmp_path,
        database_url,
        version_table="ctor",
        config={"SCHEMAOPS_VERSION_TABLE": "from_config", "SCHEMAOPS_COMPARE_TYPE": "false"},
    )
    assert get_state(app).settings.version_table == "from_config"
    assert get_state(app).settings.compare_type is False


@sqlite_only
def test_bad_settings_are_reported(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown SchemaOps option.*compare_types"):
        SchemaOps(compare_types=True)
    with pytest.raises(ConfigurationError, match="SCHEMAOPS_COMPARE_TYPE must be true or false"):
        make_app(tmp_path, database_url, config={"SCHEMAOPS_COMPARE_TYPE": "maybe"})

    def message(**config: Any) -> str:
        with pytest.raises(ConfigurationError) as caught:
            make_app(tmp_path, database_url, config=config)
        return str(caught.value)

    # True is no number of seconds; NaN and infinity never expire.
    assert message(SCHEMAOPS_LOCK_TIMEOUT=True) == (
        "SCHEMAOPS_LOCK_TIMEOUT must be a number of seconds, not True."
    )
    assert message(SCHEMAOPS_LOCK_TIMEOUT="nan") == (
        "SCHEMAOPS_LOCK_TIMEOUT must be a number of seconds, not 'nan'."
    )
    assert message(SCHEMAOPS_ON_START_TIMEOUT=float("inf")) == (
        "SCHEMAOPS_ON_START_TIMEOUT must be a number of seconds (None waits without a"
        " limit), not inf."
    )
    with pytest.raises(ConfigurationError) as caught:
        SchemaOps(lock_timeout=False)
    assert str(caught.value) == "lock_timeout must be a number of seconds, not False."
    # A severity the linter does not know stops init_app, not `flask db lint` later.
    assert message(SCHEMAOPS_LINT_SEVERITY={"SO103": "fatal"}) == (
        "SCHEMAOPS_LINT_SEVERITY['SO103'] must be one of 'error', 'warning', 'info', not 'fatal'."
    )
    app = make_app(tmp_path, database_url, config={"SCHEMAOPS_LOCK_TIMEOUT": "2.5"})
    assert get_state(app).settings.lock_timeout == 2.5


@sqlite_only
def test_unknown_config_keys_are_named_in_a_warning(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo would otherwise be ignored without a word (keys from another version of
    flask-schemaops must not stop the app, so they warn instead of failing)."""
    config = {"SCHEMAOPS_ON_STARTUP": "upgrade", "SCHEMAOPS_BOGUS": 1, "SCHEMAOPS_COMMAND": "db"}
    with caplog.at_level(logging.WARNING, logger="flask_schemaops"):
        app = make_app(tmp_path, database_url, config=config)
    assert [r.getMessage() for r in caplog.records] == [
        "SCHEMAOPS_BOGUS in app.config is not a flask-schemaops setting, so it is ignored.",
        "SCHEMAOPS_ON_STARTUP in app.config is not a flask-schemaops setting, so it is"
        " ignored; did you mean SCHEMAOPS_ON_START?",
    ]
    assert get_state(app).settings.on_start is None


@sqlite_only
def test_relative_directory_resolves_against_the_app_root(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    app = make_app(tmp_path / "project", database_url, directory="db/migrations")
    assert invoke(app, "init").exit_code == 0
    assert (tmp_path / "project" / "db" / "migrations" / "env.py").is_file()
    assert list(elsewhere.iterdir()) == []
    # -d on the group or the command overrides the setting, also relative to the root.
    assert invoke(app, "-d", "other", "init").exit_code == 0
    assert invoke(app, "init", "-d", "third").exit_code == 0
    assert (tmp_path / "project" / "other" / "env.py").is_file()
    assert (tmp_path / "project" / "third" / "env.py").is_file()


@sqlite_only
def test_init_refuses_a_directory_that_is_not_empty(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url)
    assert invoke(app, "init").exit_code == 0
    result = invoke(app, "init")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    result = invoke(app, "init", "-d", "x", "-t", "nope")
    assert "Unknown template 'nope'. Available: flask, flask-multidb." in result.output


def test_init_with_package_writes_init_files(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    assert invoke(app, "init", "--package").exit_code == 0
    assert (tmp_path / "migrations" / "__init__.py").is_file()
    assert (tmp_path / "migrations" / "versions" / "__init__.py").is_file()
    assert invoke(app, "revision", "--autogenerate", "-m", "one").exit_code == 0
    assert invoke(app, "upgrade").exit_code == 0


def _logging_snapshot() -> list[tuple[str, int, list[Any], bool, bool]]:
    names = ["", "app", "alembic", "alembic.runtime.migration", "flask_schemaops", "sqlalchemy"]
    return [
        (
            name,
            logging.getLogger(name).level,
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).disabled,
        )
        for name in names
    ]


@pytest.fixture
def app_logging() -> Iterator[None]:
    """The app's own logging setup, as a dictConfig; restored after the test."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"null": {"class": "logging.NullHandler"}},
            "loggers": {"app": {"level": "DEBUG", "handlers": ["null"]}},
            "root": {"level": "WARNING", "handlers": ["null"]},
        }
    )
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


@pytest.mark.usefixtures("app_logging")
def test_commands_do_not_grow_sys_path(make_app: App) -> None:
    """Alembic prepends alembic.ini's prepend_sys_path on every load of the scripts; a
    process that runs many commands (a test suite, the API) keeps one copy."""
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    assert invoke(app, "revision", "-m", "one").exit_code == 0
    assert invoke(app, "upgrade").exit_code == 0
    before = list(sys.path)
    for args in (["downgrade", "base", "--yes"], ["upgrade"], ["history"], ["status"]):
        assert invoke(app, *args).exit_code == 0, args
    api.status(app=app)
    assert sys.path == before


def test_commands_leave_the_app_logging_configuration_alone(make_app: App) -> None:
    app = make_app()
    before = _logging_snapshot()
    for args in (
        ["init"],
        ["revision", "--autogenerate", "-m", "one"],
        ["-v", "upgrade"],
        ["-q", "downgrade", "base"],
        ["-vv", "upgrade", "--sql"],
        ["upgrade"],
        ["status"],
    ):
        result = invoke(app, *args)
        assert result.exit_code == 0, result.output
        assert _logging_snapshot() == before, args
    assert not logging.getLogger("app").disabled
