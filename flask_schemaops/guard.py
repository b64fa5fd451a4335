"""The startup guard: what app creation does when a database is not at head.

Its happy path is one query per database (the version table) and reads the
revision headers without importing the scripts.
"""

from __future__ import annotations

import logging
import time

import click
from flask import Flask

from . import api
from .errors import NotUpToDateError
from .extension import State
from .results import Status

log = logging.getLogger("flask_schemaops")


def on_start(state: State) -> None:
    """Apply the ``on_start`` setting to ``state.app``, now or before its first request."""
    if _under_flask_command_line():
        app, done = state.app, False

        @app.before_request
        def guard_once() -> None:
            nonlocal done
            if not done:
                done = True
                run(state.app, state.settings.on_start, state.settings.on_start_timeout)

        return
    run(state.app, state.settings.on_start, state.settings.on_start_timeout)
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
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        behind = [s for s in api.status(app=app) if not s.up_to_date]
        if not behind:
            return
        if mode != "wait" or (deadline is not None and time.monotonic() >= deadline):
            break
        time.sleep(1.0)
    if mode == "warn":
        log.warning("%s", _describe(behind, 'The app starts anyway (SCHEMAOPS_ON_START = "warn").'))
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


def _under_flask_command_line() -> bool:
    """Whether the `flask` command line is loading the app (``flask db``, ``flask run``)."""
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.find_root().command, FlaskGroup)
