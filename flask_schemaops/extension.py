"""The Flask extension: ``SchemaOps`` and the per-app state it keeps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app

from .errors import ConfigurationError, NotRegisteredError
from .headers import Cache
from .settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config
    from flask_sqlalchemy import SQLAlchemy

    from .results import Health

EXTENSION_KEY = "schemaops"
log = logging.getLogger("flask_schemaops")


@dataclass(frozen=True)
class State:
    """What one app knows about its migrations; kept in ``app.extensions["schemaops"]``."""

    app: Flask
    db: SQLAlchemy
    settings: Settings
    extension: SchemaOps
    # Revision headers read from disk, by file path (see headers.py).
    headers: Cache = field(default_factory=dict, compare=False, repr=False)

    @property
    def directory(self) -> Path:
        """The migrations directory, resolved against the app's root path."""
        return self.resolve_directory(None)

    def resolve_directory(self, override: str | Path | None) -> Path:
        """Resolve ``override`` (or the configured directory) against the app's root path."""
        path = Path(override if override is not None else self.settings.directory)
        return path if path.is_absolute() else Path(self.app.root_path) / path


class SchemaOps:
    """Alembic migrations for a Flask app and its Flask-SQLAlchemy models.

    ``SchemaOps(app, db)`` sets up one app; ``SchemaOps()`` plus
    :meth:`init_app` serves app factories. Keyword options are the fields of
    :class:`~flask_schemaops.settings.Settings`; ``app.config["SCHEMAOPS_*"]``
    keys win over them.
    """

    def __init__(
        self,
        app: Flask | None = None,
        db: SQLAlchemy | None = None,
        *,
        directory: str | Path = "migrations",
        command: str = "db",
        **options: Any,
    ) -> None:
        self.db = db
        self.options: dict[str, Any] = {"directory": directory, "command": command, **options}
        self.config_callbacks: list[Callable[[Config], Config]] = []
        _resolve(self.options, {})  # fail early on an unknown or malformed option
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, db: SQLAlchemy | None = None, **overrides: Any) -> None:
        """Register the extension and the ``flask db`` commands on ``app``."""
        db = db or self.db or app.extensions.get("sqlalchemy")
        if db is None:
            raise ConfigurationError(
                "SchemaOps needs the Flask-SQLAlchemy object: call"
                " schemaops.init_app(app, db) after db.init_app(app)."
            )
        settings = _resolve({**self.options, **overrides}, app.config)
        for key, close in Settings.unknown_keys(app.config).items():
            log.warning(
                "%s in app.config is not a flask-schemaops setting, so it is ignored%s",
                key,
                f"; did you mean {close}?" if close else ".",
            )
        app.extensions[EXTENSION_KEY] = self._make_state(app, db, settings)

        # The command group lives in the CLI layer; importing it here, late, keeps
        # that layer out of the import of this module.
        from .cli import db as command_group

        app.cli.add_command(command_group, name=settings.command)
        from .create_all import guard_create_all

        guard_create_all()
        if settings.on_start is not None:
            from .guard import on_start  # built on the API, so imported only when used

            on_start(app.extensions[EXTENSION_KEY])

    def _make_state(self, app: Flask, db: SQLAlchemy, settings: Settings) -> State:
        """The state ``init_app`` keeps for ``app``."""
        return State(app=app, db=db, settings=settings, extension=self)

    def health(self, app: Flask | None = None) -> Health:
        """Whether ``app`` (default: the current app) can serve with its databases: each
        at head, or ahead of this code (newer code migrated it first), with no revision
        pending. For a ``/healthz`` endpoint (see :func:`flask_schemaops.api.health`).
        Never raises: errors are reported in the result."""
        from . import api

        return api.health(app=app)

    def configure(self, callback: Callable[[Config], Config]) -> Callable[[Config], Config]:
        """Decorator: ``callback(config)`` may adjust each Alembic ``Config`` before use
        and must return it (``@schemaops.configure``)."""
        self.config_callbacks.append(callback)
        return callback


def _resolve(options: Mapping[str, Any], config: Mapping[str, Any]) -> Settings:
    """:meth:`Settings.resolve`, whose errors the ``flask`` command line shows as one line."""
    try:
        return Settings.resolve(options, config)
    except ConfigurationError as exc:
        if under_flask_command_line():
            # It prints a click error as one line, any other error of the app as a traceback.
            raise click.ClickException(str(exc)) from None
        raise


def under_flask_command_line() -> bool:
    """Whether the `flask` command line is loading the app (``flask db``, ``flask run``)."""
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.find_root().command, FlaskGroup)


def get_state(app: Flask | None = None) -> State:
    """The state of ``app`` (default: the current app), or a clear error."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise NotRegisteredError(
            f"The Flask app {app.name!r} does not register flask_schemaops. Add"
            " `schemaops = SchemaOps(app, db)` (or `schemaops.init_app(app, db)` in your"
            " app factory) where the app is created."
        )
    assert isinstance(state, State)
    return state
