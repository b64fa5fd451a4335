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
    """Check, warn, wait or upgrade, as ``mode`` says."""
    if mode is None:
        return
    if mode == "upgrade":
        api.upgrade(app=app)
        return
    try:
        behind = _behind(app, timeout if mode == "wait" else 0.0)
    except SchemaOpsError as exc:
        if mode != "warn":
            raise
        log.warning("%s\n%s", exc, _STARTS_ANYWAY)
        return
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


def _behind(app: Flask, timeout: float | None) -> list[Status]:
    """The databases not at head, checked every second until none is or ``timeout``
    seconds (None: no limit) have passed; an unreachable database is tried as long."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            behind = [s for s in api.status(app=app) if not s.up_to_date]
        except DatabaseUnavailableError as exc:
            if timeout == 0:
                raise
            if _past(deadline):
                raise DatabaseUnavailableError(
                    f"{exc}\nThe app does not start: the database was still unreachable"
                    f" after waiting {timeout:g} s (SCHEMAOPS_ON_START_TIMEOUT)."
                ) from None
        else:
            if not behind or _past(deadline):
                return behind
        time.sleep(1.0)


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
