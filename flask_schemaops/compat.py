"""Flask-Migrate's interface on flask_schemaops: moving costs one import line.

Replace ``from flask_migrate import Migrate`` with
``from flask_schemaops.compat import Migrate``; the ``migrations/`` directory,
its env.py (single-database or ``--multidb``), alembic.ini and revisions stay as
they are, and ``flask db ...`` runs them. The module-level functions
(:func:`upgrade`, :func:`migrate`, ...) take Flask-Migrate's arguments, need an
app context, and on an error log ``Error: ...`` and exit with status 1, as
Flask-Migrate's do. :func:`flask_schemaops.api.convert_env` (``flask db
convert-env``) later swaps the env.py for flask_schemaops's own.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import click
from alembic.util import CommandError
from flask import Flask, current_app, has_app_context

from . import api
from .config import build_config
from .errors import SchemaOpsError
from .extension import EXTENSION_KEY, SchemaOps, State, get_state
from .settings import PREFIX

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config
    from flask_sqlalchemy import SQLAlchemy

    from .results import Revision
    from .settings import Settings

__all__ = [
    "Migrate",
    "MigrateConfig",
    "branches",
    "check",
    "current",
    "downgrade",
    "edit",
    "heads",
    "history",
    "init",
    "list_templates",
    "merge",
    "migrate",
    "revision",
    "show",
    "stamp",
    "upgrade",
]

MIGRATE_KEY = "migrate"

# The logger Flask-Migrate projects' alembic.ini configures: its env.py calls
# fileConfig(), which disables every logger that file does not name.
log = logging.getLogger("flask_migrate")

# context.configure() arguments that are also settings: flask_schemaops reads them
# too (the version table for `status`, say), so they become settings.
_SETTINGS = (
    "compare_server_default",
    "version_table",
    "version_table_schema",
    "transaction_per_migration",
    "include_schemas",
)

P = ParamSpec("P")


def _key(name: str) -> str:
    """The config key of setting ``name``."""
    return PREFIX + name.upper()


class CompatState(State):
    """A ``State`` whose relative directories (``-d/--directory``, the ``directory``
    setting) are the working directory's, as with Flask-Migrate (Alembic)."""

    def resolve_directory(self, override: str | Path | None) -> Path:
        return Path(os.path.abspath(override if override is not None else self.settings.directory))


class Migrate(SchemaOps):
    """Flask-Migrate's ``Migrate``, running on flask_schemaops.

    It takes Flask-Migrate's arguments and keeps its defaults, with which
    existing revisions were generated: ``compare_type=True`` and
    ``render_as_batch=True`` on every database. Other keyword arguments go to
    Alembic's ``context.configure()`` (the ``configure_args`` setting).
    ``app.config["SCHEMAOPS_*"]`` keys still win over them.

    Unlike :class:`~flask_schemaops.SchemaOps`, which resolves a relative
    ``directory`` against ``app.root_path``, a relative ``directory`` here, the
    argument's or ``SCHEMAOPS_DIRECTORY``'s, is resolved against the working
    directory when :meth:`init_app` runs (and a relative ``flask db -d`` against the
    working directory of the command), as Flask-Migrate does; the absolute path is
    what is kept.

    ``app.extensions["migrate"]`` is a :class:`MigrateConfig`, what Flask-Migrate's
    env.py files read. As with Flask-Migrate, ``Migrate(app)`` without ``db``
    registers nothing until :meth:`init_app` is called.
    """

    def __init__(
        self,
        app: Flask | None = None,
        db: SQLAlchemy | None = None,
        directory: str | Path = "migrations",
        command: str = "db",
        compare_type: bool = True,
        render_as_batch: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(None, db, directory=directory, command=command)
        self.directory = str(directory)
        self.command = command
        self.configure_args: dict[str, Any] = {
            **kwargs,
            "compare_type": compare_type,
            "render_as_batch": render_as_batch,
        }
        if app is not None and db is not None:
            self.init_app(app, db)

    def init_app(
        self,
        app: Flask,
        db: SQLAlchemy | None = None,
        directory: str | Path | None = None,
        command: str | None = None,
        compare_type: bool | None = None,
        render_as_batch: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Register the extension and the ``flask db`` commands on ``app``.

        Arguments given here replace the constructor's, for later apps too.
        """
        self.db = db or self.db
        self.command = command or self.command
        self.directory = str(directory or self.directory)
        self.configure_args.update(kwargs)
        if compare_type is not None:
            self.configure_args["compare_type"] = compare_type
        if render_as_batch is not None:
            self.configure_args["render_as_batch"] = render_as_batch
        explicit = {n for n in _SETTINGS if n in self.configure_args or _key(n) in app.config}
        # First: registering may already run env.py (the on_start setting).
        app.extensions[MIGRATE_KEY] = MigrateConfig(self, app, frozenset(explicit))
        super().init_app(app, self.db, **self._options())

    def _make_state(self, app: Flask, db: SQLAlchemy, settings: Settings) -> State:
        # A relative directory, the constructor's or SCHEMAOPS_DIRECTORY, is the working
        # directory's, and stays where it was found.
        directory = os.path.abspath(settings.directory)
        settings = replace(settings, directory=directory)
        return CompatState(app=app, db=db, settings=settings, extension=self)

    def _options(self) -> dict[str, Any]:
        args = dict(self.configure_args)
        settings = {name: args.pop(name) for name in _SETTINGS if name in args}
        return {
            "directory": self.directory,
            "command": self.command,
            "compare_type": args.pop("compare_type"),
            "render_as_batch": args.pop("render_as_batch"),
            **settings,
            "configure_args": args,
        }

    @property
    def configure_callbacks(self) -> list[Callable[[Config], Config]]:
        """The ``@migrate.configure`` callbacks (Flask-Migrate's name)."""
        return self.config_callbacks

    @property
    def alembic_ctx_kwargs(self) -> dict[str, Any]:
        """The arguments for Alembic's ``context.configure()`` given to the constructor
        and :meth:`init_app`, ``compare_type`` and ``render_as_batch`` included
        (Flask-Migrate's name). A change reaches the apps :meth:`init_app` sets up
        afterwards."""
        return self.configure_args

    def call_configure_callbacks(self, config: Config) -> Config:
        """Pass ``config`` through the ``@migrate.configure`` callbacks, in order, and
        return what the last one returns."""
        for callback in self.config_callbacks:
            config = callback(config)
        return config

    def get_config(
        self,
        directory: str | Path | None = None,
        x_arg: str | Sequence[str] | None = None,
        opts: Sequence[str] | None = None,
    ) -> Config:
        """The Alembic ``Config`` of the current app's default database, for calling
        ``alembic.command`` directly; each of ``opts`` is set true on ``cmd_opts``.

        The ``@migrate.configure`` callbacks have seen it. Alembic's commands print
        through it to ``sys.stdout`` (as it is when this is called), as they do
        under Flask-Migrate: ``alembic.command.current(migrate.get_config())``
        prints the current revision.
        """
        state = get_state()
        config = build_config(
            state,
            state.resolve_directory(directory),
            x_args=_x_args(x_arg),
            autogenerate="autogenerate" in (opts or ()),
        )
        # flask_schemaops's commands keep Alembic quiet and print the results themselves.
        config.cmd_opts.quiet = False  # type: ignore[union-attr]
        config.stdout = sys.stdout
        for name in opts or ():
            setattr(config.cmd_opts, name, True)
        return config


class MigrateConfig:
    """``app.extensions["migrate"]``: what Flask-Migrate's env.py and app code read."""

    def __init__(self, migrate: Migrate, app: Flask, explicit: frozenset[str] = frozenset()):
        self.migrate = migrate
        self._app = app
        self._explicit = explicit  # the settings of _SETTINGS the app chose

    @property
    def _state(self) -> State:
        return get_state(self._app)

    @property
    def db(self) -> SQLAlchemy:
        return self._state.db

    @property
    def directory(self) -> str:
        return str(self._state.directory)

    @property
    def metadata(self) -> sa.MetaData:
        return self._state.db.metadata

    @property
    def configure_args(self) -> dict[str, Any]:
        """The ``context.configure()`` arguments Flask-Migrate would pass: its two
        options, the keyword arguments, and the ``SCHEMAOPS_*`` keys the app sets.

        A new dict on each access: Flask-Migrate's env.py stores its
        ``process_revision_directives`` hook in it, and a hook kept from an earlier
        run would read that run's options (e.g. not autogenerate).
        """
        settings = self._state.settings
        batch = settings.render_as_batch
        if batch == "auto":
            with self._app.app_context():
                batch = self._state.db.engine.dialect.name == "sqlite"
        args: dict[str, Any] = {
            "compare_type": settings.compare_type,
            "render_as_batch": batch,
        }
        for name in self._explicit:
            args[name] = getattr(settings, name)
        args.update(settings.configure_args)
        return args


# --- Flask-Migrate's functions ---------------------------------------------------------


def _exits(function: Callable[P, None]) -> Callable[P, None]:
    """Log an error as ``Error: ...`` and exit with status 1, as Flask-Migrate does."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            function(*args, **kwargs)
        except (SchemaOpsError, CommandError, RuntimeError) as exc:  # RuntimeError: no app context
            log.error("Error: %s", _named(str(exc)))
            sys.exit(1)

    return run


def _named(text: str) -> str:
    """``text`` with the `flask db` of its hints naming the app's command group."""
    from .cli import _with_group

    state = current_app.extensions.get(EXTENSION_KEY) if has_app_context() else None
    return _with_group(text, state.settings.command) if isinstance(state, State) else text


def _x_args(x_arg: str | Sequence[str] | None) -> tuple[str, ...]:
    if x_arg is None:
        return ()
    return (x_arg,) if isinstance(x_arg, str) else tuple(x_arg)


def _revisions(value: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(value)


def _print_written(scripts: Sequence[Revision], sql: str | None) -> None:
    if sql is not None:
        click.echo(sql, nl=False)
    elif not scripts:
        click.echo("No changes in schema detected.")
    for script in scripts:
        click.echo(f"Wrote {script.path}")


def _run(name: str, verb: str, **kwargs: Any) -> None:
    from .cli import Options, _run_and_report

    _run_and_report(Options(None, (), 0, False), name, verb, **kwargs)


@_exits
def list_templates() -> None:
    """Print the templates ``init`` can use, Flask-Migrate's names among them."""
    click.echo("Available templates:\n")
    for found in api.list_templates():
        click.echo(f"{found.name} - {found.description}")


@_exits
def init(
    directory: str | Path | None = None,
    multidb: bool = False,
    template: str | None = None,
    package: bool = False,
) -> None:
    """Create a migrations directory with flask_schemaops's template, which keeps a
    history for each database. ``multidb`` and the template ``flask-multidb`` make
    that same layout (saying so), not Flask-Migrate's shared history; the aioflask
    templates are an error."""
    from .cli import MULTIDB_NOTE

    path = api.init(directory, template=template or "flask", package=package)
    click.echo(f"Created {path}.")
    if multidb or template == api.MULTIDB_TEMPLATE:
        click.echo(MULTIDB_NOTE)


@_exits
def revision(
    directory: str | Path | None = None,
    message: str | None = None,
    autogenerate: bool = False,
    sql: bool = False,
    head: str = "head",
    splice: bool = False,
    branch_label: str | None = None,
    version_path: str | None = None,
    rev_id: str | None = None,
) -> None:
    """Write a new revision script."""
    written = api.revision(
        message,
        autogenerate=autogenerate,
        sql=sql,
        head=head,
        splice=splice,
        branch_label=branch_label,
        version_path=version_path,
        rev_id=rev_id,
        directory=directory,
    )
    _print_written(written.scripts, written.sql)


@_exits
def migrate(
    directory: str | Path | None = None,
    message: str | None = None,
    sql: bool = False,
    head: str = "head",
    splice: bool = False,
    branch_label: str | None = None,
    version_path: str | None = None,
    rev_id: str | None = None,
    x_arg: str | Sequence[str] | None = None,
) -> None:
    """Autogenerate a revision script from the model changes."""
    written = api.revision(
        message,
        autogenerate=True,
        sql=sql,
        head=head,
        splice=splice,
        branch_label=branch_label,
        version_path=version_path,
        rev_id=rev_id,
        x_args=_x_args(x_arg),
        directory=directory,
    )
    _print_written(written.scripts, written.sql)


@_exits
def edit(directory: str | Path | None = None, revision: str = "current") -> None:
    """Open the script of ``revision`` in $EDITOR."""
    for path in api.edit(revision, directory=directory):
        click.edit(filename=str(path))


@_exits
def merge(
    directory: str | Path | None = None,
    revisions: str | Sequence[str] = "",
    message: str | None = None,
    branch_label: str | None = None,
    rev_id: str | None = None,
) -> None:
    """Write a revision merging ``revisions`` (default: the heads)."""
    written = api.merge(
        _revisions(revisions),
        message=message,
        branch_label=branch_label,
        rev_id=rev_id,
        directory=directory,
    )
    _print_written(written.scripts, None)


@_exits
def upgrade(
    directory: str | Path | None = None,
    revision: str = "head",
    sql: bool = False,
    tag: str | None = None,
    x_arg: str | Sequence[str] | None = None,
) -> None:
    """Upgrade to a later revision."""
    _run(
        "upgrade",
        "applied",
        revision=revision,
        sql=sql,
        tag=tag,
        x_args=_x_args(x_arg),
        directory=directory,
    )


@_exits
def downgrade(
    directory: str | Path | None = None,
    revision: str = "-1",
    sql: bool = False,
    tag: str | None = None,
    x_arg: str | Sequence[str] | None = None,
) -> None:
    """Revert to an earlier revision."""
    if sql and revision == "-1":
        revision = "head:-1"
    _run(
        "downgrade",
        "reverted",
        revision=revision,
        sql=sql,
        tag=tag,
        x_args=_x_args(x_arg),
        directory=directory,
    )


@_exits
def show(directory: str | Path | None = None, revision: str = "head") -> None:
    """Print the revision ``revision`` names."""
    from .cli import _print_revisions

    _print_revisions(api.show((revision,), directory=directory), True)


@_exits
def history(
    directory: str | Path | None = None,
    rev_range: str | None = None,
    verbose: bool = False,
    indicate_current: bool = False,
) -> None:
    """Print the revisions, newest first."""
    from .cli import _print_revisions

    found = api.history(rev_range, indicate_current=indicate_current, directory=directory)
    _print_revisions(found, verbose)


@_exits
def heads(
    directory: str | Path | None = None,
    verbose: bool = False,
    resolve_dependencies: bool = False,
) -> None:
    """Print the head revisions."""
    from .cli import _heads_line, _print_revisions

    found = api.heads(resolve_dependencies=resolve_dependencies, directory=directory)
    _print_revisions(found, verbose, _heads_line)


@_exits
def branches(directory: str | Path | None = None, verbose: bool = False) -> None:
    """Print the branch points."""
    from .cli import _print_branches

    _print_branches(api.branches(directory=directory), verbose)


@_exits
def current(directory: str | Path | None = None, verbose: bool = False) -> None:
    """Print the revision the database is at."""
    from .cli import _print_current

    _print_current(api.current(directory=directory), verbose, {"directory": directory})


@_exits
def stamp(
    directory: str | Path | None = None,
    revision: str | Sequence[str] = "head",
    sql: bool = False,
    tag: str | None = None,
    purge: bool = False,
) -> None:
    """Record ``revision`` as applied without running any migration."""
    _run(
        "stamp",
        "stamped",
        revisions=_revisions(revision) or ("head",),
        sql=sql,
        tag=tag,
        purge=purge,
        directory=directory,
    )


@_exits
def check(directory: str | Path | None = None) -> None:
    """Exit with status 1 when the models have changes no revision covers."""
    changes = [c for result in api.check(directory=directory) for c in result.changes]
    if changes:
        raise CommandError(f"New upgrade operations detected: {'; '.join(changes)}")
    click.echo("No new upgrade operations detected.")
