"""The startup guard: what app creation does when a database is not at head.

Its happy path is one query per database (the version table) and reads the
revision headers without importing the scripts.
"""

from __future__ import annotations

import logging
import sys
import time

from flask.typing import ResponseReturnValue

from . import api
from .errors import (
    DatabaseBusyError,
    DatabaseUnavailableError,
    NotUpToDateError,
    SchemaOpsError,
)
from .extension import State, under_flask_command_line
from .locking import log_wait
from .results import Status

log = logging.getLogger("flask_schemaops")


def on_start(state: State) -> None:
    """Apply the ``on_start`` setting to ``state.app``: now, or under the ``flask``
    command line at each request until it passes. Never while migrations run."""
    if _alembic_is_running():
        return  # the app is being built to run migrations, which must not wait for themselves
    if under_flask_command_line():
        passed = False

        @state.app.before_request
        def guard() -> ResponseReturnValue | None:
            nonlocal passed
            if passed:
                return None
            try:
                run(state, serving=True)
            except SchemaOpsError as exc:
                log.error("%s", exc)
                return f"{exc}\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
            passed = True
            return None

        return
    run(state)
    # An app server may fork its workers from this process next (gunicorn's
    # preload_app): they must not inherit, and share, the pooled connections.
    with state.app.app_context():
        for engine in state.db.engines.values():
            engine.dispose()


def run(state: State, *, serving: bool = False) -> None:
    """Check, warn, wait or upgrade, as the ``on_start`` setting says. A database
    ahead of this code (newer code migrated it first) lets the app start, with a
    warning. ``serving``: the app already runs (``flask run``), so a refusal refuses
    a request."""
    settings = state.settings
    mode, timeout = settings.on_start, settings.on_start_timeout
    if mode is None:
        return
    refused = "the app refuses requests" if serving else "the app does not start"
    try:
        found = _statuses(state, refused)
    except SchemaOpsError as exc:
        if mode != "warn":
            raise
        log.warning("%s\n%s", exc, _STARTS_ANYWAY)
        return
    _warn_ahead(found, mode)
    if mode == "upgrade":
        if not any(s.unknown for s in found):
            api.upgrade(app=state.app, on_wait=log_wait)
        elif any(s.pending for s in found):  # never a database ahead: no downgrade, no stamp
            pending = [s.target for s in found if s.pending]
            api.upgrade(binds=pending, app=state.app, on_wait=log_wait)
        return
    behind = [s for s in found if s.pending]
    if not behind:
        return
    if mode == "warn":
        log.warning("%s", _describe(behind, _STARTS_ANYWAY))
        return
    upgrade = "run `flask db upgrade` (e.g. in a deploy job)"
    if mode == "wait":
        assert timeout is not None  # without a limit, "wait" returns only at head
        advice = (
            f"{_databases(behind).capitalize()} did not reach head within {timeout:g} s"
            f" (SCHEMAOPS_ON_START_TIMEOUT), so {refused}: {upgrade}, or raise"
            " SCHEMAOPS_ON_START_TIMEOUT."
        )
    else:
        advice = (
            f"{refused.capitalize()} until the database is at head: {upgrade}, or set"
            ' SCHEMAOPS_ON_START to "wait" or "upgrade".'
        )
    raise NotUpToDateError(_describe(behind, advice))


_STARTS_ANYWAY = 'The app starts anyway (SCHEMAOPS_ON_START = "warn").'
LOG_EVERY = 30.0  # seconds between the log lines that say a wait goes on


def _statuses(state: State, refused: str) -> list[Status]:
    """Every database's status.

    ``"wait"`` reads them every second until none has revisions pending or
    ``on_start_timeout`` seconds (None: no limit) have passed, and tries an
    unreachable database as long; a database ahead of this code is not waited for.
    A SQLite database that another process keeps locked (a migration that rewrites
    a table) is waited for in the other modes too, except ``"warn"``, up to
    ``lock_timeout``, as upgraders wait for the migration lock. A wait is logged when
    it starts, then every :data:`LOG_EVERY` seconds."""
    settings = state.settings
    waiting = settings.on_start == "wait"
    started = time.monotonic()
    shown, logged = "", started
    while True:
        limit, setting = settings.on_start_timeout, "SCHEMAOPS_ON_START_TIMEOUT"
        problem: SchemaOpsError | None = None
        try:
            found = api.status(app=state.app)
        except DatabaseBusyError as exc:
            if settings.on_start == "warn":
                raise
            if not waiting:
                limit, setting = settings.lock_timeout, "SCHEMAOPS_LOCK_TIMEOUT"
            problem, kind, until = exc, "locked", "the database is free"
            situation = summary = str(exc).splitlines()[0]
        except DatabaseUnavailableError as exc:
            if not waiting:
                raise
            problem, kind, until = exc, "unreachable", "it can be reached"
            situation, summary = str(exc), str(exc).splitlines()[0]
        else:
            behind = [s for s in found if s.pending]
            if not behind or not waiting:
                return found
            kind, situation = "behind", _positions(behind)
            summary = "; ".join(_position(s) for s in behind)
            until = f"another process (a migration job) brings {_databases(behind)} to head"
        now = time.monotonic()
        if limit is not None and now - started >= limit:
            if problem is None:
                return found
            raise problem.reworded(
                f"{problem}\n{refused.capitalize()}: the database was still {kind} after"
                f" waiting {limit:g} s ({setting})."
            ) from None
        if kind != shown:
            how_long = f"up to {limit:g} s" if limit is not None else "without a time limit"
            log.warning("%s\nWaiting %s (%s) until %s.", situation, how_long, setting, until)
            shown, logged = kind, now
        elif now - logged >= LOG_EVERY:
            log.warning("Still waiting, after %.0f s: %s", now - started, summary)
            logged = now
        time.sleep(1.0)


def _warn_ahead(found: list[Status], mode: str) -> None:
    """Log each database that records a revision this code has no script for."""
    for status in found:
        if not status.unknown:
            continue
        at = ", ".join(status.unknown)
        head = ", ".join(status.heads) or "<base>"
        why = (
            f"the audit history shows it was applied after this code's head ({head}), so the"
            " database is newer than this code: newer code migrated it first"
            if status.ahead
            else "the database is newer than this code (newer code migrated it first, as"
            " in a rolling deploy), or it was migrated from another branch"
        )
        log.warning(
            "The database %r (%s) is at %s, which no revision script of this code has: %s."
            ' The app starts%s (SCHEMAOPS_ON_START = "%s").',
            status.target,
            status.database,
            at,
            why,
            " and applies nothing to it" if mode == "upgrade" else "",
            mode,
        )


def _position(status: Status) -> str:
    at = ", ".join(status.current) or "<base>"
    return f"{status.target!r} is at {at}, {len(status.pending)} revision(s) pending"


def _databases(behind: list[Status]) -> str:
    return "the database" if len(behind) == 1 else "the databases"


def _positions(behind: list[Status]) -> str:
    lines = []
    for status in behind:
        at = ", ".join(status.current) or "<base>"
        lines.append(
            f"The database {status.target!r} ({status.database}) is at {at};"
            f" {len(status.pending)} revision(s) pending:"
        )
        lines.extend(f"  {r.revision}  {r.message}" for r in status.pending)
    return "\n".join(lines)


def _describe(behind: list[Status], conclusion: str) -> str:
    return f"{_positions(behind)}\n{conclusion}"


def _alembic_is_running() -> bool:
    """Whether an Alembic command runs in this process (plain ``alembic``, or any
    env.py that builds the app)."""
    context = sys.modules.get("alembic.context")
    # Alembic's public API has no such question: its EnvironmentContext, while it
    # runs, installs itself as the module's ``_proxy`` (None otherwise).
    return getattr(context, "_proxy", None) is not None
