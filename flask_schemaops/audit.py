"""The audit history: a table recording each revision applied, reverted or stamped.

Alembic's version table says where a database stands; this says how it got
there: which revision ran, in which direction, when, for how long, on which
host, and whether it succeeded. A successful step is recorded in the step's own
transaction, so it commits or rolls back with the revision; a failure is
recorded afterwards, in a transaction of its own.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable

import sqlalchemy as sa

from .results import Step


def table(name: str, schema: str | None) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(schema=schema),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("revision", sa.String(255), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )


def ensure(connection: sa.Connection, audit: sa.Table) -> None:
    """Create the audit table if it is missing, and commit."""
    audit.create(connection, checkfirst=True)
    connection.commit()


def record(
    connection: sa.Connection,
    audit: sa.Table,
    step: Step,
    *,
    success: bool = True,
    error: str | None = None,
) -> None:
    """Insert one row for ``step`` (not committed: the caller's transaction decides)."""
    now = datetime.datetime.now(datetime.UTC)
    connection.execute(
        audit.insert().values(
            revision=step.revision,
            direction=step.kind,
            started_at=now - datetime.timedelta(seconds=step.seconds),
            seconds=step.seconds,
            success=success,
            host=socket.gethostname(),
            error=error,
        )
    )


BASE = "<base>"  # what a stamp to base records


def origin(
    connection: sa.Connection,
    name: str,
    schema: str | None,
    revision: str,
    parents: Callable[[str], tuple[str, ...] | None],
) -> tuple[str, ...] | None:
    """Where the database stood before revisions unknown here brought it to
    ``revision``, as the audit history ``name`` tells: the revisions it was at (empty
    for base); None when the history does not say (no such table, no row that applied
    ``revision``, or none before the unknown ones).

    ``parents(id)``: the down revisions of a revision known here, None for one that
    is not. Walking back from the last row that applied ``revision``, the rows of
    unknown revisions are the way there; the first known one says where it began:
    where an upgrade or stamp left the database, or below what a downgrade reverted.
    """
    if not sa.inspect(connection).has_table(name, schema=schema):
        return None
    audit = table(name, schema)
    rows = connection.execute(
        sa.select(audit.c.revision, audit.c.direction)
        .where(audit.c.success.is_(True))
        .order_by(audit.c.id.desc())
    ).all()
    connection.rollback()
    found = False
    for recorded, direction in rows:
        if not found:
            found = recorded == revision and direction != "downgrade"
            continue
        ids = () if recorded == BASE else tuple(recorded.split(", "))  # a stamp's ids
        below = [parents(x) for x in ids]
        if None in below:  # unknown here: on the way to ``revision``
            continue
        if direction == "downgrade":
            return tuple(p for ps in below if ps is not None for p in ps)
        return ids
    return None
