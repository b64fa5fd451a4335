"""The migration lock: one migrating process per database at a time.

- PostgreSQL: a session-level advisory lock, polled with ``pg_try_advisory_lock``
  on a connection of its own, and held inside one open transaction there, so
  that a pooler in transaction mode keeps it in one server session (see
  ``_PostgresLock``). Neither a waiter nor the holder's connection holds a
  snapshot between statements (so ``CREATE INDEX CONCURRENTLY`` run by the
  holder cannot deadlock with them), commits inside the migration do not release
  the lock, and the lock dies with its connection when a process is killed.
- MySQL/MariaDB: ``GET_LOCK`` with a zero timeout, polled, on its own connection.
- SQLite: an exclusive ``flock`` on a file next to the database file.

The lock's name derives from the database and the version table, so two apps
sharing a server do not block each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from .errors import SchemaOpsError

POLL_SECONDS = 0.1


class LockError(SchemaOpsError):
    """The migration lock could not be taken in time, or was lost during the run."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as far as the database can tell."""

    description: str


OnWait = Callable[[Holder | None], None]


def log_wait(holder: Holder | None) -> None:
    """An ``on_wait`` that logs the wait (logger ``flask_schemaops``): for runs that
    print nothing themselves, such as plain ``alembic`` and the startup guard."""
    by = f" held by {holder.description}" if holder else ""
    logging.getLogger("flask_schemaops").warning("Waiting for the migration lock%s.", by)


@dataclass(frozen=True)
class LockRequest:
    """What a run that changes the database asks of the lock."""

    command: str  # "upgrade", "downgrade" or "stamp"
    timeout: float | None
    on_wait: OnWait | None = None
    # A cheap test (one query, no script imported) that the work is already done.
    done: Callable[[], bool] | None = None


def lock_name(url: sa.URL, version_table: str, version_table_schema: str | None) -> str:
    """A stable name for the lock of one database's version table."""
    where = f"{url.get_backend_name()}/{url.host or ''}/{url.database or ''}"
    return f"{where}/{version_table_schema or ''}/{version_table}"


@contextlib.contextmanager
def migration_lock(
    engine: sa.Engine,
    name: str,
    *,
    timeout: float | None,
    on_wait: OnWait | None = None,
    done: Callable[[], bool] | None = None,
) -> Iterator[bool]:
    """Hold the migration lock ``name`` on ``engine``'s database for the block, which
    gets True; or False, without the lock, when ``done()`` turns true while waiting.

    Polls until the lock is free; ``on_wait`` is called once, when the first poll
    finds it taken. Raises :class:`LockError` after ``timeout`` seconds.
    """
    dialect = engine.dialect.name
    if dialect == "postgresql":
        lock: _Lock = _PostgresLock(engine, name)
    elif dialect in ("mysql", "mariadb"):
        lock = _MySQLLock(engine, name)
    elif dialect == "sqlite":
        lock = _FileLock(engine)
    else:
        yield True  # no lock primitive we know of; --no-lock is then implied
        return
    with lock:
        deadline = None if timeout is None else time.monotonic() + timeout
        waited = False
        while not lock.try_acquire():
            if done is not None and done():
                yield False
                return
            if not waited and on_wait is not None:
                on_wait(lock.holder())
            waited = True
            if deadline is not None and time.monotonic() >= deadline:
                holder = lock.holder()
                by = f", held by {holder.description}" if holder else ""
                raise LockError(
                    f"Gave up waiting for the migration lock after {timeout:g} s{by}.\n"
                    "Another process is migrating this database. Wait for it, raise the limit"
                    " with --lock-timeout (SCHEMAOPS_LOCK_TIMEOUT), or, if nothing is"
                    " migrating, find the session that holds it."
                )
            time.sleep(POLL_SECONDS)
        try:
            yield True
        finally:
            lock.release()


def sqlite_migrator(engine: sa.Engine) -> Holder | None:
    """Who holds the migration lock of ``engine``'s SQLite database, migrating it
    (None: no other process, or not SQLite)."""
    if engine.dialect.name != "sqlite":
        return None
    return _FileLock(engine).taken_by()


class _Lock(contextlib.AbstractContextManager["_Lock"]):
    def try_acquire(self) -> bool:
        raise NotImplementedError

    def holder(self) -> Holder | None:
        return None

    def release(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        pass


class _ConnectionLock(_Lock):
    """A lock held by a database session: a connection of its own (in autocommit,
    unless the subclass says otherwise)."""

    isolation_level = "AUTOCOMMIT"

    def __init__(self, engine: sa.Engine, name: str):
        self.name = name
        self.connection = engine.connect().execution_options(isolation_level=self.isolation_level)

    def scalar(self, sql: str, **params: object) -> object:
        return self.connection.execute(sa.text(sql), params).scalar()

    def __exit__(self, *exc: object) -> None:
        self.connection.close()  # a session lock still held dies with its session


# pg_locks shows a bigint advisory key as its high and low 32 bits.
_KEY_MATCH = (
    "objsubid = 1 AND objid = (CAST(:key AS bigint) & 4294967295)::oid"
    " AND classid = ((CAST(:key AS bigint) >> 32) & 4294967295)::oid"
)


class _PostgresLock(_ConnectionLock):
    """The lock is taken, held and released inside one transaction of its connection.

    A pooler in transaction mode (PgBouncer) lends a server session to a client for
    one transaction at a time. A lock taken outside a transaction would stay in a
    session that other clients then get, where ``pg_try_advisory_lock`` succeeds
    again (advisory locks are re-entrant) and the unlock, run in yet another
    session, never frees it. An open transaction keeps its session, so the lock
    lives and dies with this connection, pooler or not. In READ COMMITTED that
    transaction holds no snapshot between statements: ``CREATE INDEX
    CONCURRENTLY`` does not wait for it.
    """

    isolation_level = "READ COMMITTED"

    def __init__(self, engine: sa.Engine, name: str):
        super().__init__(engine, name)
        digest = hashlib.sha256(name.encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.process: int | None = None  # the server process that holds the lock
        self.lost: str | None = None  # why the lock was gone at release

    def try_acquire(self) -> bool:
        if not self.scalar("SELECT pg_try_advisory_lock(:key)", key=self.key):
            self.connection.rollback()  # a waiter keeps no server session between polls
            return False
        name = f"flask-schemaops on {socket.gethostname()}, pid {os.getpid()}"[:63]
        self.process = self.connection.execute(
            sa.text("SELECT pg_backend_pid(), set_config('application_name', :name, true)"),
            {"name": name},
        ).one()[0]
        # No idle timeout may end the session while the migration runs elsewhere. And
        # a statement that takes no snapshot must come last: a driver's unnamed portal
        # keeps the snapshot of a query until the next statement, and CREATE INDEX
        # CONCURRENTLY would wait for it.
        self.connection.execute(sa.text("SET LOCAL idle_in_transaction_session_timeout = 0"))
        return True

    def holder(self) -> Holder | None:
        row = self.connection.execute(
            sa.text(
                "SELECT a.pid, a.client_addr, a.application_name, a.backend_start"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                f" WHERE l.locktype = 'advisory' AND l.granted AND {_KEY_MATCH}"
            ),
            {"key": self.key},
        ).first()
        self.connection.rollback()
        if row is None:
            return None
        pid, address, application, started = row
        parts = [f"server process {pid}"]
        if address:
            parts.append(f"from {address}")
        if application:
            parts.append(f"application {application!r}")
        if started is not None:
            parts.append(f"connected at {started:%Y-%m-%d %H:%M:%S %Z}".strip())
        return Holder(", ".join(parts))

    def release(self) -> None:
        try:
            self.scalar("SELECT pg_advisory_unlock(:key)", key=self.key)
            self.connection.commit()
        except sa.exc.DBAPIError as exc:  # the session ended, and the lock with it
            self.lost = str(exc.orig).strip().splitlines()[0]

    def __exit__(self, *exc: object) -> None:
        if self.connection.in_transaction():
            # The session may hold the lock, which would outlive a rollback and go
            # back to a pool with it: end the session instead.
            self.connection.invalidate()
        super().__exit__(*exc)
        if self.lost and exc[0] is None:  # an error of the run itself says more
            raise LockError(
                "The run finished, but the migration lock was lost on the way: its session"
                f" (server process {self.process}) ended ({self.lost}). Another process may"
                " have migrated this database at the same time: check where it stands.\n"
                "A session ends when an administrator or a restart ends it, or a pooler's"
                " idle_transaction_timeout is shorter than the run: raise that, or migrate"
                " through a direct connection."
            )


class _MySQLLock(_ConnectionLock):
    def __init__(self, engine: sa.Engine, name: str):
        # GET_LOCK names are server-wide and at most 64 characters long.
        super().__init__(engine, "schemaops:" + hashlib.sha256(name.encode()).hexdigest()[:40])

    def try_acquire(self) -> bool:
        return self.scalar("SELECT GET_LOCK(:name, 0)", name=self.name) == 1

    def holder(self) -> Holder | None:
        row = self.connection.execute(
            sa.text(
                "SELECT p.id, p.user, p.host FROM information_schema.processlist p"
                " WHERE p.id = IS_USED_LOCK(:name)"
            ),
            {"name": self.name},
        ).first()
        if row is None:
            return None
        connection_id, user, host = row
        return Holder(f"connection {connection_id} of {user}@{host}")

    def release(self) -> None:
        self.scalar("SELECT RELEASE_LOCK(:name)", name=self.name)


class _FileLock(_Lock):
    """SQLite: serialise the processes that migrate the same database file."""

    def __init__(self, engine: sa.Engine):
        database = engine.url.database
        self.path = None if database in (None, "", ":memory:") else f"{database}.schemaops-lock"
        self.handle: int | None = None

    def try_acquire(self) -> bool:
        if self.path is None:  # an in-memory database belongs to one process
            return True
        import fcntl

        self.handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.handle)
            self.handle = None
            return False
        os.ftruncate(self.handle, 0)
        os.write(self.handle, f"{socket.gethostname()} {os.getpid()}\n".encode())
        return True

    def holder(self) -> Holder | None:
        try:
            with open(self.path or "", encoding="utf-8") as file:
                host, pid = file.read().split()
        except (OSError, ValueError):
            return None
        return Holder(f"process {pid} on {host}")

    def taken_by(self) -> Holder | None:
        """Who holds the lock now, found without taking it (None: nobody, or this process)."""
        import fcntl

        try:
            handle = os.open(self.path or "", os.O_RDONLY)
        except OSError:  # never taken here, or no file: an in-memory database
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder()
            ours = f"process {os.getpid()} on {socket.gethostname()}"
            return None if holder is not None and holder.description == ours else holder
        finally:
            os.close(handle)  # with the shared lock, when it was granted
        return None

    def release(self) -> None:
        if self.handle is not None:
            os.close(self.handle)  # closing drops the flock
            self.handle = None
