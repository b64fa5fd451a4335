"""What a migrations directory's env.py calls.

env.py stays a few lines long (load the app, take each database's URL and
metadata, run); the logic lives here, so a fix reaches existing projects
without regenerating their env.py.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from flask import Flask

from . import audit, autogen
from .config import (
    APP_ATTRIBUTE,
    COMMAND_ATTRIBUTE,
    LOCK_ATTRIBUTE,
    LOCK_WAIT_ATTRIBUTE,
    REACHED_ATTRIBUTE,
    STEP_CALLBACK,
    TARGET_ATTRIBUTE,
    TRANSACTIONAL_ATTRIBUTE,
    WARNINGS_ATTRIBUTE,
)
from .errors import (
    AppNotFoundError,
    ConfigurationError,
    DatabaseError,
    ForeignKeyCheckError,
    SchemaOpsError,
    failed_revision,
)
from .extension import State, get_state
from .locking import Holder, LockRequest, lock_name, log_wait, migration_lock
from .logs import configure_logging
from .results import Step
from .targets import (
    Target,
    all_targets,
    connect,
    current_heads,
    heads_unless_busy,
    masked_url,
)

if TYPE_CHECKING:
    from alembic.config import Config

SCRATCH_ENGINE = "schemaops.scratch_engine"  # runs the history on a scratch database instead

Hook = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


def _plain_alembic_errors(function: F) -> F:
    """Under plain ``alembic``, our errors become Alembic's ``CommandError``, which its
    command line prints as one ``FAILED:`` line instead of a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except SchemaOpsError as exc:
            if TARGET_ATTRIBUTE in context.config.attributes:  # `flask db` reports it
                raise
            raise CommandError(str(exc)) from exc

    return cast(F, wrapper)


@_plain_alembic_errors
def load_app() -> Flask:
    """The Flask app: the one running ``flask db``, or for plain ``alembic`` the one
    named by ``flask_app`` in alembic.ini or by ``FLASK_APP``."""
    config = context.config
    app = config.attributes.get(APP_ATTRIBUTE)
    if isinstance(app, Flask):
        return app
    configure_logging(1)  # plain `alembic`: show its progress lines, as it usually does
    path = config.get_main_option("flask_app") or os.environ.get("FLASK_APP")
    if not path:
        raise AppNotFoundError(
            "Alembic does not know which Flask app to load. Set `flask_app ="
            " package:create_app` in alembic.ini, or export FLASK_APP."
        )
    from flask.cli import NoAppException

    try:
        app = _locate_app(path)
    except NoAppException as exc:
        raise AppNotFoundError(f"Could not load the Flask app {path!r}: {exc}") from exc
    config.attributes[APP_ATTRIBUTE] = app
    return app


_MODULE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _locate_app(path: str) -> Flask:
    """The app at ``path``, an import path as for ``flask --app``."""
    from flask.cli import ScriptInfo, locate_app

    module, *name = re.split(r":(?![\\/])", path, maxsplit=1)  # as flask splits it
    if module.endswith(".py") or not _MODULE.fullmatch(module):
        # A file: flask reads it from the working directory.
        return ScriptInfo(app_import_path=path, set_debug_flag=False).load_app()
    # A module is imported from sys.path, where alembic.ini's prepend_sys_path put the
    # app's folder. ScriptInfo would take it for a file in the working directory and
    # prefix the packages around it: run in a migrations directory made by `init
    # --package`, it imports <package>.<module>. locate_app (flask.cli, undocumented)
    # is what ScriptInfo calls next. The working directory stays a last resort.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    return locate_app(module, name[0] if name else None)


@_plain_alembic_errors
def targets(app: Flask) -> list[Target]:
    """The database this Alembic run is for: the one ``flask db`` chose, or for plain
    ``alembic`` the default database."""
    chosen = context.config.attributes.get(TARGET_ATTRIBUTE)
    found = [t for t in all_targets(app) if t.bind_key == chosen]
    if not found:
        raise ConfigurationError(
            f"The app has no {'default database' if chosen is None else f'bind {chosen!r}'}"
            " to migrate. Plain `alembic` migrates SQLALCHEMY_DATABASE_URI; use"
            " `flask db ... --bind NAME` for the databases of SQLALCHEMY_BINDS."
        )
    scratch = context.config.attributes.get(SCRATCH_ENGINE)
    if scratch is not None:  # baseline and squash build schemas there
        found = [replace(t, engine=scratch) for t in found]
    return found


@_plain_alembic_errors
def run_migrations(
    app: Flask,
    targets: Sequence[Target],
    *,
    include_object: Hook | None = None,
    process_revision_directives: Hook | None = None,
    **configure_args: Any,
) -> None:
    """Run the command Alembic asked for, offline (``--sql``) or online, on each target.

    ``configure_args`` go to ``context.configure()`` and win over the settings.
    """
    state = get_state(app)
    with app.app_context():
        for target in targets:
            progress = _Progress(state, context.is_offline_mode())
            options = _configure_options(state, target, include_object, process_revision_directives)
            options["on_version_apply"] = [progress.record]
            options.update(configure_args)
            if context.is_offline_mode():
                context.configure(
                    url=target.engine.url.set(password=None),
                    literal_binds=True,
                    dialect_opts={"paramstyle": "named"},
                    **options,
                )
                with context.begin_transaction():
                    context.run_migrations()
            else:
                with (
                    connect(target.engine, target.setting) as connection,
                    _lock(state, target, connection) as needed,
                ):
                    if not needed:  # the work is done, by another process or before
                        _reached(current_heads(state, connection))
                        continue
                    _refuse_batch_leftovers(connection)
                    with _sqlite_procedure(connection, options):
                        context.configure(connection=connection, **options)
                        # Alembic's `current` (and our read of where a database
                        # stands) runs env.py with dont_mutate: it creates nothing.
                        read_only = context.get_context().opts.get("dont_mutate", False)
                        if progress.audit is not None and not read_only:
                            audit.ensure(connection, progress.audit)
                        autogen.reflect_serials_at_once(context.get_context())
                        progress.start(context.get_context())
                        try:
                            with context.begin_transaction():
                                context.run_migrations()
                                progress.finish(context.get_context())
                        except Exception as exc:
                            progress.failed(target.engine, exc)
                            raise
                        _reached(tuple(context.get_context().get_current_heads()))


def _reached(revisions: tuple[str, ...]) -> None:
    """Tell ``flask db`` where the database stands after the run: the database this
    env.py chose, which may not be the app's (one picked from -x, say)."""
    reached = context.config.attributes.get(REACHED_ATTRIBUTE)
    if reached is not None:
        reached.append(revisions)


def _configure_options(
    state: State,
    target: Target,
    include_object: Hook | None,
    process_revision_directives: Hook | None,
) -> dict[str, Any]:
    settings = state.settings
    batch = settings.render_as_batch
    if batch == "auto":
        batch = target.engine.dialect.name == "sqlite"
    options: dict[str, Any] = {
        "target_metadata": target.metadata,
        "compare_server_default": settings.compare_server_default,
        "render_as_batch": batch,
        "version_table": settings.version_table,
        "version_table_schema": settings.version_table_schema,
        "transaction_per_migration": settings.transaction_per_migration,
        "process_revision_directives": _revision_hook(context.config, process_revision_directives),
    }
    # The user's filters and renderer run inside ours instead of replacing them.
    options.update(
        autogen.configure_options(
            settings, target.engine.dialect, include_object, dict(settings.configure_args)
        )
    )
    options.update(
        (k, v) for k, v in settings.configure_args.items() if k not in autogen.CHAINED_ARGS
    )
    return options


def _revision_hook(config: Config, user_hook: Hook | None) -> Hook:
    """Our clean-up of the autogenerated ops (:func:`autogen.rewrite`), the user's
    ``process_revision_directives``, then: an autogenerate run that found no change
    writes no file. The decision is per run, never remembered."""
    skip_empty = bool(getattr(config.cmd_opts, "autogenerate", False))

    def hook(migration_context: MigrationContext, revision: Any, directives: list[Any]) -> None:
        for script in directives:
            autogen.rewrite(
                migration_context,
                script,
                generating=skip_empty,
                config_attributes=config.attributes,
            )
        if user_hook is not None:
            user_hook(migration_context, revision, directives)
        if (
            skip_empty
            and directives
            and all(ops.is_empty() for ops in directives[0].upgrade_ops_list)
        ):
            directives[:] = []

    return hook


class _Progress:
    """Each step of a run, as it completes: timed, handed to ``flask db`` (which
    prints it) and recorded in the audit table; and the step that failed."""

    def __init__(self, state: State, offline: bool):
        settings = state.settings
        self.on_step: Callable[[Step], None] | None = context.config.attributes.get(STEP_CALLBACK)
        self.audit = (
            None
            if offline or settings.audit_table is None
            else audit.table(settings.audit_table, settings.version_table_schema)
        )
        self.last = time.perf_counter()  # when the step running now started
        # What a --purge stamp deletes from the version table. Alembic empties the
        # table before the first step, so that step says it starts from nothing; a
        # purge to base has no step at all.
        self.purged: tuple[str, ...] = ()

    def start(self, ctx: MigrationContext) -> None:
        """The run begins: after the wait for the lock, which is no step's time."""
        self.last = time.perf_counter()
        if ctx.purge:
            self.purged = tuple(ctx.get_current_heads())

    def record(self, ctx: MigrationContext, step: Any, heads: set[str], run_args: Any) -> None:
        kind = "stamp" if step.is_stamp else "upgrade" if step.is_upgrade else "downgrade"
        # A stamp is described by where it lands; a migration by the revision it runs.
        scripts = step.destination_revisions if step.is_stamp else (step.up_revision,)
        script = scripts[0] if scripts else None
        self._done(
            ctx,
            kind=kind,
            # A stamp records where it moved the database; a migration, its revision.
            revision=(", ".join(step.destination_revision_ids) or audit.BASE)
            if step.is_stamp
            else step.up_revision_id,
            from_revisions=self.purged or tuple(step.source_revision_ids),
            to_revisions=tuple(step.destination_revision_ids),
            message=(script.doc if script is not None else "") or "",
        )

    def finish(self, ctx: MigrationContext) -> None:
        """Record a --purge stamp to base, which moved the database without a step;
        its purge commits as a step's work does."""
        if ctx.purge:
            # The transaction Alembic gives each step (a private parameter).
            with ctx.begin_transaction(_per_migration=True):
                if self.purged:
                    self._done(ctx, "stamp", audit.BASE, self.purged, (), "")

    def _done(
        self,
        ctx: MigrationContext,
        kind: str,
        revision: str,
        from_revisions: tuple[str, ...],
        to_revisions: tuple[str, ...],
        message: str,
    ) -> None:
        now = time.perf_counter()
        done = Step(kind, revision, from_revisions, to_revisions, message, now - self.last)
        self.last = now
        self.purged = ()
        if self.audit is not None and ctx.connection is not None:
            audit.record(ctx.connection, self.audit, done)
        if self.on_step is not None:
            self.on_step(done)

    def failed(self, engine: sa.Engine, exc: Exception) -> None:
        """Record the failed step in the audit table, in a transaction of its own."""
        if self.audit is None:
            return
        script, _ = failed_revision(exc, context.script)
        revision = script.revision if script is not None else "?"
        step = Step(_command(), revision, (), (), "", time.perf_counter() - self.last)
        if isinstance(exc, ForeignKeyCheckError):
            detail = exc.cause
        else:
            detail = str(getattr(exc, "orig", None) or exc).strip()
        with engine.begin() as connection:
            audit.record(connection, self.audit, step, success=False, error=detail[:2000])


def _command() -> str:
    """The Alembic command this run serves."""
    config = context.config
    if COMMAND_ATTRIBUTE in config.attributes:
        return str(config.attributes[COMMAND_ATTRIBUTE])
    # Plain `alembic`: its command line records the command function it runs.
    command = getattr(config.cmd_opts, "cmd", None)
    return getattr(command[0], "__name__", "") if command else ""


@contextmanager
def _lock(state: State, target: Target, connection: sa.Connection) -> Iterator[bool]:
    """Hold the migration lock, when this run changes the database and it is wanted.

    Yields False when an upgrade finds its work done: before the lock (replicas with
    nothing to do never wait), while waiting for it, or once it is held.
    """
    request = _lock_request(state)
    done = None if request is None else request.done
    if request is not None and request.command == "upgrade" and done is None:
        done = functools.partial(_at_destination, state, connection)
    if done is not None and done():
        yield False
        return
    if request is None:
        yield True
        return
    connection.rollback()  # a waiter must hold no snapshot (CREATE INDEX CONCURRENTLY)
    settings = state.settings
    name = lock_name(target.engine.url, settings.version_table, settings.version_table_schema)
    asked = time.perf_counter()
    waited = False

    def on_wait(holder: Holder | None) -> None:
        nonlocal waited
        waited = True
        if request.on_wait is not None:
            request.on_wait(holder)

    with migration_lock(
        target.engine, name, timeout=request.timeout, on_wait=on_wait, done=done
    ) as held:
        if waited:  # `flask db` reports the run's time without the wait, and the wait
            context.config.attributes[LOCK_WAIT_ATTRIBUTE] = time.perf_counter() - asked
        yield held and not (done is not None and done())


def _lock_request(state: State) -> LockRequest | None:
    config = context.config
    if LOCK_ATTRIBUTE in config.attributes:  # `flask db` decided
        request: LockRequest | None = config.attributes[LOCK_ATTRIBUTE]
        return request
    name = _command()
    if state.settings.lock and name in ("upgrade", "downgrade", "stamp"):
        return LockRequest(name, state.settings.lock_timeout, log_wait)
    return None


def _at_destination(state: State, connection: sa.Connection) -> bool:
    try:
        destination = context.get_revision_argument()
    except Exception:  # a relative or unusual target: let the locked run resolve it
        return False
    wanted = {destination} if isinstance(destination, str) else set(destination or ())
    now = heads_unless_busy(state, connection)
    connection.rollback()
    return bool(wanted) and now is not None and wanted == set(now)


def _refuse_batch_leftovers(connection: sa.Connection) -> None:
    """A batch operation that failed on SQLite can leave its copy table behind; the
    next one would then fail in a confusing way."""
    if connection.dialect.name != "sqlite":
        return
    names = sa.inspect(connection).get_table_names()
    connection.rollback()  # end the read's transaction, or Alembic would not commit its own
    leftovers = [n for n in names if n.startswith("_alembic_tmp_")]
    if leftovers:
        drops = " ".join(f'DROP TABLE "{n}";' for n in leftovers)
        raise DatabaseError(
            f"{', '.join(leftovers)} in {masked_url(connection.engine.url)} is left over from a"
            " batch operation that failed, and the original table is still intact. Drop it"
            f" (`{drops}`, e.g. with the sqlite3 shell), then run the command again."
        )


@contextmanager
def _sqlite_procedure(connection: sa.Connection, options: dict[str, Any]) -> Iterator[None]:
    """SQLite's procedure for schema changes that rebuild a table (batch mode's copy
    and move) when ``PRAGMA foreign_keys`` is on: dropping the old table would delete
    or refuse the rows that refer to it. ``options`` are the run's
    ``context.configure()`` arguments, completed here.

    The pragma goes off before any transaction (inside one, SQLite ignores it); each
    revision's transaction really begins before its DDL (sqlite3's legacy transaction
    control begins one before DML only), so it can roll back whole; ``PRAGMA
    foreign_key_check`` runs before each commit; the pragma comes back afterwards.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    if _raw(connection, "PRAGMA foreign_keys") != [(1,)]:
        yield
        return
    connection.rollback()
    if not _switch_foreign_keys(connection, on=False):
        raise DatabaseError(
            f"Could not turn SQLite's foreign keys off in {masked_url(connection.engine.url)}"
            " (the connection is inside a transaction), which batch operations need."
            " Nothing ran."
        )
    raw: Any = connection.connection.dbapi_connection
    # Not where the isolation level is None: autocommit (as in Alembic's
    # autocommit_block), or the app emits BEGIN itself.
    explicit_begin = getattr(raw, "isolation_level", None) is not None

    def begin(conn: sa.Connection) -> None:
        if raw.isolation_level is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN")

    if explicit_begin:
        sa.event.listen(connection, "begin", begin)
    options.setdefault("transactional_ddl", True)  # so transaction_per_migration holds
    context.config.attributes[TRANSACTIONAL_ATTRIBUTE] = True
    try:
        # Before the step is reported as done, so a failure fails the step.
        check = _foreign_key_check(connection, options)
        options["on_version_apply"] = [check, *options["on_version_apply"]]
        yield
    finally:
        if explicit_begin:
            sa.event.remove(connection, "begin", begin)
        if connection.in_transaction():
            connection.rollback()  # what closing the connection would do
        if not _switch_foreign_keys(connection, on=True):
            connection.invalidate()  # never back to the pool with its foreign keys off


def _switch_foreign_keys(connection: sa.Connection, *, on: bool) -> bool:
    """Set ``PRAGMA foreign_keys``; whether it took."""
    raw: Any = connection.connection.dbapi_connection
    # sqlite3's transaction control of Python 3.12+ (autocommit=False) keeps a
    # transaction open at all times: step out of it for the pragma.
    held = getattr(raw, "autocommit", None) is False
    if held:
        raw.autocommit = True
    try:
        _raw(connection, f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        if held:
            raw.autocommit = False
    return _raw(connection, "PRAGMA foreign_keys") == [(int(on),)]


def _foreign_key_check(connection: sa.Connection, options: dict[str, Any]) -> Hook:
    """An ``on_version_apply`` hook that fails a revision (which then rolls back) when
    it leaves more rows that refer to a missing row than there were before it. The
    rows that did before the run are the user's to fix: a warning names them."""
    before = _broken_rows(connection)
    if before:
        _warn(
            "Rows already referred to missing rows before this run (written while foreign"
            f" keys were off): {_describe(connection, before, _pairs(before))}. The foreign"
            " key check fails a revision only for the rows it breaks; delete or correct"
            " these (`PRAGMA foreign_key_check` lists them)."
        )
    one_transaction = not options.get("transaction_per_migration", False)
    passed = 0  # the revisions before this one in the run's transaction

    def check(ctx: MigrationContext, step: Any, heads: set[str], run_args: Any) -> None:
        nonlocal before, passed
        if step.is_stamp:
            return
        now = _broken_rows(connection)
        added = _pairs(now) - _pairs(before)
        if added:
            old = set(before)
            new = [row for row in now if row not in old]
            raise _broken(connection, step, _describe(connection, new, added), passed > 0)
        before = now
        if one_transaction:
            passed += 1

    return check


def _broken(
    connection: sa.Connection, step: Any, problems: str, with_earlier: bool
) -> ForeignKeyCheckError:
    """The failure of ``step``, which left rows that refer to missing rows
    (``problems``); ``with_earlier``: the run is one transaction, and the revisions
    before it roll back too."""
    cause = (
        f"It leaves rows that refer to missing rows: {problems}. Foreign keys are off while"
        " a revision runs on SQLite (batch mode rebuilds tables), so ON DELETE actions do"
        " not fire: delete or update those rows in the revision itself."
    )
    rolled = "It was rolled back"
    if with_earlier:
        rolled += ", with the revisions before it in this run (the run is one transaction)"
    direction = "upgrade" if step.is_upgrade else "downgrade"
    return ForeignKeyCheckError(
        f"The {direction} of revision {step.up_revision_id} failed SQLite's foreign key"
        f" check. {cause} {rolled}. Fix it, then run the command again.",
        revision=step.up_revision_id,
        cause=cause,
    )


def _warn(message: str) -> None:
    """Tell the user: ``flask db`` prints it with the outcome of the run, plain
    ``alembic`` logs it."""
    found = context.config.attributes.get(WARNINGS_ATTRIBUTE)
    if found is not None:
        found.append(message)
    else:
        logging.getLogger("flask_schemaops").warning("%s", message)


def _raw(connection: sa.Connection, statement: str) -> list[tuple[Any, ...]]:
    """Run ``statement`` on the driver's connection: through SQLAlchemy's, it would
    begin a transaction first, where a ``PRAGMA`` may be ignored."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _quoted(name: str) -> str:
    return '"{}"'.format(name.replace('"', '""'))


def _broken_rows(connection: sa.Connection) -> list[tuple[Any, ...]]:
    """``PRAGMA foreign_key_check``'s rows (table, rowid, referred table, key id): the
    rows that refer to a missing row. Table by table, leaving out the tables whose
    foreign key SQLite cannot check ("foreign key mismatch": the referred columns
    are not unique), which it does not enforce either."""
    found: list[tuple[Any, ...]] = []
    for (table,) in _raw(connection, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        try:
            found += _raw(connection, f"PRAGMA foreign_key_check({_quoted(table)})")
        except connection.dialect.loaded_dbapi.Error:
            continue
    return found


def _pairs(rows: list[tuple[Any, ...]]) -> Counter[tuple[str, str]]:
    """How many of ``rows`` (:func:`_broken_rows`) each (table, referred table) has."""
    return Counter((table, parent) for table, _rowid, parent, _fkid in rows)


def _describe(
    connection: sa.Connection, rows: list[tuple[Any, ...]], counts: Counter[tuple[str, str]]
) -> str:
    """Each (table, referred table) of ``counts``: its columns, the count, and the
    first rowids of its ``rows``."""
    problems = []
    for table, parent in sorted(counts):
        found = [(rowid, fkid) for t, rowid, p, fkid in rows if (t, p) == (table, parent)]
        keys: dict[int, list[str]] = {}
        for fk in _raw(connection, f"PRAGMA foreign_key_list({_quoted(table)})"):
            keys.setdefault(fk[0], []).append(fk[3])
        columns = ", ".join(dict.fromkeys(", ".join(keys.get(f, ["?"])) for _, f in found))
        rowids = ", ".join(str(r) for r, _ in found[:5]) + (", ..." if len(found) > 5 else "")
        problems.append(
            f"{table} ({columns}) → {parent}: {counts[table, parent]} row(s), rowid {rowids}"
        )
    return "; ".join(problems)
