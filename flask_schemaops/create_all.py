"""The ``create_all`` guard: ``db.create_all()`` on a database the migrations manage.

``create_all`` creates the tables that are missing and changes none that exist,
and records no revision: the schema then drifts from the revisions, and the next
``flask db upgrade`` fails with "table already exists". The guard listens to
``before_create`` on every ``MetaData`` and decides by the current app's
``create_all`` setting, so each app keeps its own policy. Alembic's operations
create tables one by one, never through ``MetaData.create_all``, so migrations
never trigger it.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from .errors import CreateAllError
from .extension import EXTENSION_KEY, State

log = logging.getLogger("flask_schemaops")


def guard_create_all() -> None:
    """Listen to ``MetaData.create_all`` (once per process; each call is judged by
    the app of the current app context)."""
    if not sa.event.contains(sa.MetaData, "before_create", _before_create):
        sa.event.listen(sa.MetaData, "before_create", _before_create)


def mode(state: State) -> str:
    """``allow``, ``warn`` or ``forbid``: the setting, or its default for this app."""
    if state.settings.create_all is not None:
        return state.settings.create_all
    if state.app.testing or not (state.directory / "env.py").is_file():
        return "allow"  # tests build schemas freely; no migrations yet: nothing to guard
    return "warn"


def _before_create(metadata: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    if not has_app_context():
        return
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, State) or not _owns(state, metadata):
        return
    policy = mode(state)
    if policy == "allow" or _migrating():
        return
    message = _message(state, connection, policy)
    if policy == "forbid":
        raise CreateAllError(message)
    log.warning("%s", message)


def _owns(state: State, metadata: sa.MetaData) -> bool:
    return any(metadata is m for m in state.db.metadatas.values())


def _migrating() -> bool:
    """Whether Alembic is running migrations (a revision calling create_all itself)."""
    from alembic import context

    try:
        context.get_context()
    except Exception:  # no Alembic environment is active
        return False
    return True


def _message(state: State, connection: sa.Connection, policy: str) -> str:
    where = connection.engine.url.render_as_string(hide_password=True)
    what = "refused" if policy == "forbid" else "called"
    return (
        f"db.create_all() {what} on {where}: the migrations in {state.directory} manage"
        " this schema. create_all creates missing tables, changes none that exist and"
        " records no revision, so the schema drifts and the next `flask db upgrade`"
        ' fails with "table already exists". Build and update the schema with `flask'
        " db upgrade`; for a database create_all already built, run `flask db baseline`."
        ' Set SCHEMAOPS_CREATE_ALL = "allow" to permit it (the default when TESTING'
        " is set)."
    )
