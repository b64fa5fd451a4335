"""The app's databases: one :class:`Target` per Flask-SQLAlchemy engine, how to
connect to it, what its version table records, and what a table holds.

Plain SQLAlchemy, without Alembic: the commands that only read the version table
(``status``, an upgrade with nothing to do, the startup guard) stay light.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask

from .errors import DatabaseUnavailableError, redact
from .extension import get_state

if TYPE_CHECKING:
    from .extension import State

DEFAULT = "default"


@dataclass(frozen=True)
class Target:
    """One database to migrate: its engine and the metadata of its models."""

    bind_key: str | None  # the Flask-SQLAlchemy bind key; None for the default database
    engine: sa.Engine
    metadata: sa.MetaData

    @property
    def name(self) -> str:
        """``default`` for the default database, else the bind key."""
        return DEFAULT if self.bind_key is None else self.bind_key

    @property
    def url(self) -> str:
        """The URL with its password masked, safe to show."""
        return masked_url(self.engine.url)


# Query parameters that drivers take as a password (e.g. ``?password=`` for psycopg).
_SECRET_PARAMETERS = frozenset({"password", "passwd", "pwd", "sslpassword"})


def masked_url(url: sa.URL) -> str:
    """``url`` as text with its password masked, in the user part or the query."""
    text = url.render_as_string(hide_password=True)
    for key in url.query:
        if key.lower() in _SECRET_PARAMETERS:
            text = re.sub(rf"([?&]{re.escape(key)}=)[^&]*", r"\1***", text)
    return text


def url_secrets(url: sa.URL) -> list[str]:
    """The passwords ``url`` holds, to mask wherever they might be echoed."""
    found = [url.password] if url.password else []
    for key, value in url.query.items():
        if key.lower() in _SECRET_PARAMETERS:
            found.extend([value] if isinstance(value, str) else value)
    return found


def all_targets(app: Flask) -> list[Target]:
    """Every database of ``app``: the default one (when configured), then each bind."""
    state = get_state(app)
    with app.app_context():
        engines = state.db.engines
        metadatas = state.db.metadatas
    return [
        Target(bind_key=key, engine=engine, metadata=metadatas.get(key) or sa.MetaData())
        for key, engine in sorted(engines.items(), key=lambda item: item[0] is not None)
    ]


@contextmanager
def connect(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection to ``engine``; a failure to connect becomes a short, masked error."""
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise unavailable(engine.url, exc) from exc
    with connection:
        yield connection


def unavailable(
    url: sa.URL, exc: sa.exc.DBAPIError, setting: str = "SQLALCHEMY_DATABASE_URI"
) -> DatabaseUnavailableError:
    """The error for a database that cannot be reached or refused the login;
    ``setting`` names where the URL comes from."""
    detail = str(exc.orig or exc).strip()
    detail = redact(detail, url_secrets(url)).splitlines()[0] if detail else type(exc).__name__
    where = masked_url(url)
    lowered = detail.lower()
    if "access denied" in lowered and "to database" in lowered:  # MySQL's 1044: logged in
        return DatabaseUnavailableError(
            f"The database at {where} refused user {url.username!r} access to the database:"
            f" {detail}\nGrant the user access to it (GRANT ... ON <database>.*), or check the"
            " database name in the URL."
        )
    if "password" in lowered or "access denied" in lowered or "authentication" in lowered:
        return DatabaseUnavailableError(
            f"The database at {where} refused the login for user {url.username!r}: {detail}\n"
            f"Check the user name and password in {setting}."
        )
    check = (
        "Check that the directory of the database file exists and is writable"
        if url.get_backend_name() == "sqlite"
        else "Check that the server is running"
    )
    return DatabaseUnavailableError(
        f"Cannot connect to the database at {where}: {detail}\n{check} and that {setting} is right."
    )


def current_heads(state: State, connection: sa.Connection) -> tuple[str, ...]:
    """The revisions recorded in the version table (empty when it has none).

    Read with SQLAlchemy alone, as Alembic reads it, so that checking the
    database needs no Alembic import."""
    settings = state.settings
    name, schema = settings.version_table, settings.version_table_schema
    if not sa.inspect(connection).has_table(name, schema):
        return ()
    table = sa.table(name, sa.column("version_num"), schema=schema)
    return tuple(connection.scalars(sa.select(table.c.version_num)))


def count_rows(
    connection: sa.Connection, table: str, column: str | None = None, schema: str | None = None
) -> int | None:
    """The rows of ``table``, or the non-NULL values of its ``column``; None when
    there is no such table or column."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(table, schema=schema):
        return None
    if column is not None:
        names = {c["name"] for c in inspector.get_columns(table, schema=schema)}
        if column not in names:
            return None
    counted = sa.func.count() if column is None else sa.func.count(sa.column(column))
    rows = connection.execute(sa.select(counted).select_from(sa.table(table, schema=schema)))
    return int(rows.scalar_one())
