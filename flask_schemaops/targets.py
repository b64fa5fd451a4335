"""The app's databases: one :class:`Target` per Flask-SQLAlchemy engine, how to
connect to it, what its version table records, and what a table holds.

Plain SQLAlchemy, without Alembic: the commands that only read the version table
(``status``, an upgrade with nothing to do, the startup guard) stay light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask

from .errors import ConfigurationError, DatabaseUnavailableError, redact
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

    @property
    def setting(self) -> str:
        """The app setting the URL comes from, as the user writes it."""
        if self.bind_key is None:
            return "SQLALCHEMY_DATABASE_URI"
        return f'SQLALCHEMY_BINDS["{self.bind_key}"]'


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
    if DEFAULT in engines:
        raise ConfigurationError(
            f"SQLALCHEMY_BINDS has a bind named {DEFAULT!r}, the name flask-schemaops gives"
            " SQLALCHEMY_DATABASE_URI (as in --bind default), so commands could not tell the"
            " two apart. Rename that bind (its key and the models' __bind_key__)."
        )
    found = [
        Target(bind_key=key, engine=engine, metadata=metadatas.get(key) or sa.MetaData())
        for key, engine in sorted(engines.items(), key=lambda item: item[0] is not None)
    ]
    _refuse_shared(found)
    return found


def _refuse_shared(found: list[Target]) -> None:
    """Two targets on one database would share its version table: each would read the
    other's revisions as its own, and fixing one history would overwrite the other."""
    seen: dict[tuple[object, ...], Target] = {}
    for target in found:
        key = _database_key(target.engine.url)
        first = seen.setdefault(key, target) if key is not None else target
        if first is not target:
            raise ConfigurationError(
                f"{first.setting} and {target.setting} are the same database ({target.url}),"
                " and each database keeps its revision history in one version table, so"
                " their histories would overwrite each other. Nothing was done. Point them"
                " at different databases, or put these models in one of the two (the same"
                " __bind_key__) and remove the other."
            )


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}


def _database_key(url: sa.URL) -> tuple[object, ...] | None:
    """What identifies the database ``url`` names (driver, user and password aside);
    None for one of its own (an in-memory SQLite database)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:") or url.database.startswith("file:"):
            return None
        return (backend, os.path.realpath(url.database))
    family = "mysql" if backend == "mariadb" else backend
    host = (url.host or "localhost").lower()
    port = url.port or _DEFAULT_PORTS.get(backend)
    # PostgreSQL's options=-csearch_path=... may put the version table in another schema.
    return (family, host, port, url.database, url.query.get("options"))


@contextmanager
def connect(engine: sa.Engine, setting: str = "SQLALCHEMY_DATABASE_URI") -> Iterator[sa.Connection]:
    """A connection to ``engine``; a failure to connect becomes a short, masked error
    that names ``setting`` (a :attr:`Target.setting`), where the URL comes from."""
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise unavailable(engine.url, exc, setting) from exc
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


def backend_name(dialect: sa.Dialect) -> str:
    """The kind of database, as its users name it: MariaDB, MySQL, PostgreSQL, SQLite."""
    if getattr(dialect, "is_mariadb", False):
        return "MariaDB"
    return _BACKENDS.get(dialect.name, dialect.name)


_BACKENDS = {"mysql": "MySQL", "mariadb": "MariaDB", "postgresql": "PostgreSQL", "sqlite": "SQLite"}
_SQLITE_BUSY = 5


def busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (SQLITE_BUSY): another
    connection held the lock a statement needed for longer than the busy timeout."""
    orig = getattr(exc, "orig", None) or exc
    # sqlite3's error code; the low byte, for SQLITE_BUSY's extended codes too.
    return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


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


def heads_unless_busy(state: State, connection: sa.Connection) -> tuple[str, ...] | None:
    """:func:`current_heads`; or None, at once, when a SQLite database is locked by a
    connection that writes to it.

    A migration in another process holds that lock for the whole transaction of a
    revision that rewrites a big table: a process that waits for the migration lock
    learns more from the lock (who holds it, and its timeout) than from waiting here."""
    if connection.dialect.name != "sqlite":
        return current_heads(state, connection)
    waits = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        return current_heads(state, connection)
    except sa.exc.OperationalError as exc:
        if busy(exc):
            return None
        raise
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(waits or 0)}")


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
