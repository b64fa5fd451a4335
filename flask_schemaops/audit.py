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
