"""The startup guard: what app creation does when a database is not at head.

Its happy path is one query per database (the version table) and reads the
revision headers without importing the scripts.
"""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask
from flask.typing import ResponseReturnValue

from . import api
from .errors import DatabaseUnavailableError, NotUpToDateError, SchemaOpsError
from .extension import State, under_flask_command_line
from .results import Status

log = logging.getLogger("flask_schemaops")


def on_start(state: State) -> None:
    """Apply the ``on_start`` setting to ``state.app``: now, or under the ``flask``
    command line at each request until it passes. Never while migrations run."""
    if _alembic_is_running():
        return  # the app is being built to run migrations, which must not wait for themselves
    settings = state.settings
    if under_flask_command_line():
        passed = False

        @state.app.before_request
        def guard() -> ResponseReturnValue | None:
            nonlocal passed
            if passed:
                return None
            try:
                run(state.app, settings.on_start, settings.on_start_timeout)
            except SchemaOpsError as exc:
                log.error("%s", exc)
                return f"{exc}\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
            passed = True
            return None

        return
    run(state.app, settings.on_start, settings.on_start_timeout)
    # An app server may fork its workers from this process next (gunicorn's
    # preload_app): they must not inherit, and share, the pooled connections.
    with state.app.app_context():
        for engine in state.db.engines.values():
            engine.dispose()


def run(app: Flask, mode: str | None, timeout: float | None) -> None:
    """Check, warn, wait or upgrade, as ``mode`` says. A database ahead of this code
    (newer code migrated it first) lets the app start, with a warning."""
    if mode is None:
        return
    if mode == "upgrade":
        found = api.status(app=app)
        _warn_ahead(found, mode)
        if not any(s.unknown for s in found):
            api.upgrade(app=app)
        elif any(s.pending for s in found):  # never a database ahead: no downgrade, no stamp
            api.upgrade(binds=[s.target for s in found if s.pending], app=app)
        return
    try:
        found = _statuses(app, timeout if mode == "wait" else 0.0)
    except SchemaOpsError as exc:
        if mode != "warn":
            raise
        log.warning("%s\n%s", exc, _STARTS_ANYWAY)
        return
    _warn_ahead(found, mode)
    behind = [s for s in found if s.pending]
    if not behind:
        return
    if mode == "warn":
        log.warning("%s", _describe(behind, _STARTS_ANYWAY))
        return
    waited = f" after waiting {timeout:g} s" if mode == "wait" and timeout is not None else ""
    raise NotUpToDateError(
        _describe(
            behind,
            f"The app does not start{waited} until the database is at head: run `flask db"
            ' upgrade` (e.g. in a deploy job), or set SCHEMAOPS_ON_START to "wait" or'
            ' "upgrade".',
        )
    )


_STARTS_ANYWAY = 'The app starts anyway (SCHEMAOPS_ON_START = "warn").'


def _statuses(app: Flask, timeout: float | None) -> list[Status]:
    """Every database's status, read every second until none has revisions pending or
    ``timeout`` seconds (None: no limit) have passed; an unreachable database is tried
    as long. A database ahead of this code is not waited for."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            found = api.status(app=app)
        except DatabaseUnavailableError as exc:
            if timeout == 0:
                raise
            if _past(deadline):
                raise DatabaseUnavailableError(
                    f"{exc}\nThe app does not start: the database was still unreachable"
                    f" after waiting {timeout:g} s (SCHEMAOPS_ON_START_TIMEOUT)."
                ) from None
        else:
            if not any(s.pending for s in found) or _past(deadline):
                return found
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


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _describe(behind: list[Status], conclusion: str) -> str:
    lines = []
    for status in behind:
        at = ", ".join(status.current) or "<base>"
        lines.append(
            f"The database {status.target!r} ({status.database}) is at {at};"
            f" {len(status.pending)} revision(s) pending:"
        )
        lines.extend(f"  {r.revision}  {r.message}" for r in status.pending)
    lines.append(conclusion)
    return "\n".join(lines)


def _alembic_is_running() -> bool:
    """Whether an Alembic command runs in this process (plain ``alembic``, or any
    env.py that builds the app)."""
    context = sys.modules.get("alembic.context")
    # Alembic's public API has no such question: its EnvironmentContext, while it
    # runs, installs itself as the module's ``_proxy`` (None otherwise).
    return getattr(context, "_proxy", None) is not None
