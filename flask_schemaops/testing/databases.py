"""The databases the pytest plugin gives tests.

* A **template** per database of the app (the default one and each bind), built
  once by running the real migrations and named after a digest of the migrations
  directory, so it is rebuilt only when a script changes (and, with
  ``keep_template``, kept on the server for the next session).
* Per test, either **clones** of the templates (PostgreSQL ``CREATE DATABASE ...
  TEMPLATE``, a file copy for SQLite, a schema replay for MariaDB), or connections
  to a shared copy inside a transaction that is **rolled back** after the test.
* **Empty** databases for the migration runner and the ready-made checks.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from flask import Flask

from ..errors import ConfigurationError, DatabaseError, SchemaOpsError, redact
from ..targets import masked_url, unavailable, url_secrets

DEFAULT = "default"
Isolation = Literal["clone", "rollback"]
ISOLATIONS: tuple[Isolation, ...] = ("clone", "rollback")
CreateApp = Callable[[Mapping[str, Any]], Flask]

# PostgreSQL 15 copies a template either block by block through the WAL (WAL_LOG,
# its default) or file by file between two checkpoints (FILE_COPY). For a
# migrated schema of a few hundred tables FILE_COPY was the faster of the two in
# benchmarks/fixtures.py; the WAL_LOG strategy pays for writing every page to
# the WAL, which only pays off for a large template with few tables.
POSTGRESQL_STRATEGY = "FILE_COPY"
TEMPLATE_MARK = "_tpl_"
_NAME_ROOM = 36  # PostgreSQL names stop at 63 bytes; keep room for the suffixes


def _random() -> str:
    return uuid.uuid4().hex[:10]


# --- Servers ------------------------------------------------------------------------


class Backend:
    """Where the plugin creates databases: a server (the URL's host, port, user) or,
    for SQLite, a folder. Database names start with :attr:`base`. ``source`` says
    where the URL was set, for error messages."""

    def __init__(self, url: sa.URL, source: str = "the test database URL") -> None:
        self.url = url
        self.source = source
        self.base = _base_name(url.database)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def url_of(self, name: str) -> sa.URL:
        return self.url.set(database=name)

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def create(self, name: str) -> None:
        """Create the empty database ``name``; one that exists already is kept."""
        raise NotImplementedError

    def drop(self, name: str) -> None:
        """Drop ``name`` (closing the connections to it); a missing one is fine."""
        raise NotImplementedError

    def clone(self, template: str, name: str) -> None:
        """Create ``name`` as a copy of ``template``."""
        raise NotImplementedError

    def reset(self, template: str, name: str) -> bool:
        """Make ``name``, a clone of ``template`` that a test has used, equal to
        ``template`` again, if that can be done soundly and is cheaper than a new
        clone; False (and ``name`` left as it is) if not."""
        return False

    def names(self, prefix: str) -> list[str]:
        raise NotImplementedError

    # Kept templates outlive their session, and another session (a second work tree
    # of the project, with other scripts) may use the same server and prefix. Each
    # session drops the kept templates of other scripts, but only those that no
    # running session keeps.
    @contextmanager
    def keeping(self, name: str) -> Iterator[None]:
        """Enter before looking at ``name``, a kept template, and leave once it is
        built: from then until :meth:`close`, :meth:`drop_unused` of another session
        leaves it alone."""
        yield

    def drop_unused(self, name: str) -> None:
        """Drop ``name``, a kept template, unless a running session keeps it."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connections the backend holds."""


def _base_name(database: str | None) -> str:
    stem = Path(database).stem if database and database != ":memory:" else "schemaops_test"
    return re.sub(r"[^A-Za-z0-9_]", "_", stem)[:_NAME_ROOM] or "schemaops_test"


class _ServerBackend(Backend):
    quote_char = '"'
    admin_databases: tuple[str | None, ...] = (None,)
    user_query = ""  # the user the server knows us as

    def __init__(self, url: sa.URL, source: str = "the test database URL") -> None:
        super().__init__(url, source)
        self._engine: sa.Engine | None = None
        self._keeper: sa.Connection | None = None  # holds the locks of keeping()

    def quote(self, name: str) -> str:
        q = self.quote_char
        return q + name.replace(q, q + q) + q

    def admin(self) -> sa.Engine:
        """An autocommit engine on the server, to a database that exists."""
        if self._engine is not None:
            return self._engine
        failure: sa.exc.DBAPIError | None = None
        for database in dict.fromkeys(self.admin_databases):
            # pre_ping: MariaDB's drop() kills the connections still using a
            # database, which may be ours, left there by clone()'s USE.
            engine = sa.create_engine(
                self.url._replace(database=database),
                isolation_level="AUTOCOMMIT",
                pool_size=2,
                pool_pre_ping=True,
            )
            try:
                with engine.connect():
                    pass
            except sa.exc.DBAPIError as exc:
                engine.dispose()
                failure = failure or exc
                continue
            self._engine = engine
            return engine
        assert failure is not None
        raise unavailable(self.url, failure, self.source) from None

    def execute(self, sql: str, **params: Any) -> list[Any]:
        with self.admin().connect() as connection:
            result = connection.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []

    def keeper(self) -> sa.Connection:
        """The connection that holds this session's locks on kept templates; closed,
        which releases them, by :meth:`close`."""
        if self._keeper is None:
            self._keeper = self.admin().connect()
        return self._keeper

    def close(self) -> None:
        if self._keeper is not None:
            with suppress(sa.exc.DBAPIError):
                self._keeper.close()
            self._keeper = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def creating(self, name: str) -> Iterator[None]:
        """Around the creation of database ``name``: the server's refusal for want
        of a privilege becomes an error that says what to grant."""
        try:
            yield
        except sa.exc.DBAPIError as exc:
            if not self.denied(exc):
                raise
            detail = redact(str(exc.orig or exc), url_secrets(self.url)).splitlines()[0]
            [(user,)] = self.execute(self.user_query)
            raise DatabaseError(
                f"The test database user may not create the database {name} on"
                f" {masked_url(self.url)} ({self.source}): {detail}\n{self.grant(user)}"
            ) from None

    def denied(self, exc: sa.exc.DBAPIError) -> bool:
        """Whether ``exc`` is a refusal for want of a privilege."""
        raise NotImplementedError

    def grant(self, user: str) -> str:
        """What to run so that ``user`` may create the test databases."""
        raise NotImplementedError


class PostgreSQL(_ServerBackend):
    """``CREATE DATABASE ... TEMPLATE``, which copies the template's files; a used
    clone is put back instead when only rows of tables empty in the template changed."""

    user_query = "SELECT current_user"

    def __init__(self, url: sa.URL, source: str = "the test database URL") -> None:
        super().__init__(url, source)
        self.admin_databases = (url.database, "postgres", "template1")
        self._marks: dict[str, str] = {}  # clone -> transaction id when handed out
        self._checkers: dict[str, sa.Connection] = {}  # clone -> connection to it
        self._baselines: dict[str, _Baseline] = {}  # template -> what its clones hold

    def close(self) -> None:
        for name in list(self._checkers):
            with suppress(sa.exc.DBAPIError):
                self._checkers.pop(name).close()
        super().close()

    def exists(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM pg_database WHERE datname = :n", n=name))

    def create(self, name: str) -> None:
        try:
            with self.creating(name):
                self.execute(f"CREATE DATABASE {self.quote(name)}")
        except sa.exc.ProgrammingError as exc:
            if "already exists" not in str(exc):
                raise

    def denied(self, exc: sa.exc.DBAPIError) -> bool:
        return "permission denied" in str(exc.orig)

    def grant(self, user: str) -> str:
        return (
            "The pytest plugin creates and drops its test databases on this server: let the"
            f" user create databases. As a superuser, run: ALTER ROLE {self.quote(user)} CREATEDB;"
        )

    def drop(self, name: str) -> None:
        checker = self._checkers.pop(name, None)
        if checker is not None:
            with suppress(sa.exc.DBAPIError):
                checker.close()
        self._marks.pop(name, None)
        # Not WITH (FORCE): for a user who is no superuser, it refuses to end an
        # autovacuum worker that happens to be in the database. A plain DROP ends
        # those itself, and waits (up to 5 seconds) for the sessions ended here.
        self._end_sessions(name)
        self.execute(f"DROP DATABASE IF EXISTS {self.quote(name)}")

    def clone(self, template: str, name: str) -> None:
        sql = f"CREATE DATABASE {self.quote(name)} TEMPLATE {self.quote(template)}"
        version = self.admin().dialect.server_version_info or (0,)
        if version >= (15,):
            sql += f" STRATEGY {POSTGRESQL_STRATEGY}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with self.creating(name):
                    self.execute(sql)
                break
            except sa.exc.OperationalError as exc:
                # Another process (a pytest-xdist worker) is connected to the template
                # for a moment, e.g. to see that it is at head.
                if "being accessed by other users" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._marks[name] = self._mark()

    # A new clone costs a file per table, index and catalog: on some file systems
    # most of a second for a few hundred tables. Most tests only add or change rows
    # in a few tables that the template has empty, so a used clone is checked
    # instead, and put back with TRUNCATE (and setval for the sequences) when that
    # is all that changed. Every row a transaction wrote carries its id (xmin):
    # rows newer than the clone's "mark", the first transaction id not yet used
    # when it was handed out, are the test's, and a count below the template's
    # means rows were deleted. Catalogs are tables too, so any change of the schema
    # shows the same way, and then the clone is replaced.
    def reset(self, template: str, name: str) -> bool:
        mark = self._marks.get(name)
        if mark is None:
            return False
        if template not in self._baselines:
            engine = sa.create_engine(self.url_of(template), poolclass=sa.pool.NullPool)
            with engine.connect() as c:
                self._baselines[template] = _Baseline.read(c)
        baseline = self._baselines[template]
        if baseline.tables is None:
            return False
        checker = self._checker(name)
        if not self._alone(name, checker):
            return False
        emptied = baseline.emptied(baseline.changed(checker, mark))
        setvals = baseline.setvals(checker)
        if emptied is None or setvals is None:
            return False
        if emptied:
            checker.execute(sa.text(f"TRUNCATE {', '.join(emptied)}"))
        for setval in setvals:
            checker.execute(sa.text("SELECT setval(CAST(:s AS regclass), :v, :called)"), setval)
        self._marks[name] = self._mark()
        return True

    def _mark(self) -> str:
        """The first transaction id not yet handed out: a row newer than this
        moment has an xmin at or after it (modulo 2**32, as xmin is)."""
        [(mark,)] = self.execute(
            "SELECT greatest(pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
            " % 4294967296, 3)::text"  # 0-2 are special ids, never a row's xmin
        )
        return str(mark)

    def _checker(self, name: str) -> sa.Connection:
        """A connection to ``name`` that stays open while the clone lives."""
        if name not in self._checkers:
            engine = sa.create_engine(
                self.url_of(name), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
            )
            self._checkers[name] = engine.connect()
        return self._checkers[name]

    def _end_sessions(self, name: str, but: int = 0) -> int:
        """End the client sessions on ``name`` but the one of backend ``but``
        (aborting whatever they left open); how many there were."""
        [(ended,)] = self.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = :n AND pid <> :but AND backend_type = 'client backend'",
            n=name,
            but=but,
        )
        return int(ended)

    def _alone(self, name: str, checker: sa.Connection) -> bool:
        """End every other session on ``name`` and wait until they are gone; False
        if some would not go, or a prepared transaction waits there."""
        pid = checker.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        deadline = time.monotonic() + 10
        while True:
            if self.execute("SELECT 1 FROM pg_prepared_xacts WHERE database = :n", n=name):
                return False
            if not self._end_sessions(name, pid or 0):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def names(self, prefix: str) -> list[str]:
        rows = self.execute(
            "SELECT datname FROM pg_database WHERE left(datname, length(:p)) = :p", p=prefix
        )
        return [row[0] for row in rows]

    # A session keeps a template with a shared advisory lock; a session that finds it
    # stale drops it only if it gets the lock exclusively. (Advisory locks belong to
    # the database connected to: every session's admin() connects to the same one.)
    @contextmanager
    def keeping(self, name: str) -> Iterator[None]:
        self.keeper().execute(
            sa.text("SELECT pg_advisory_lock_shared(hashtextextended(:n, 0))"), {"n": name}
        )
        yield

    def drop_unused(self, name: str) -> None:
        with self.admin().connect() as c:
            key = {"n": name}
            if not c.execute(
                sa.text("SELECT pg_try_advisory_lock(hashtextextended(:n, 0))"), key
            ).scalar():
                return
            try:
                # Without FORCE: a connection from elsewhere keeps it too.
                with suppress(sa.exc.DBAPIError):
                    c.execute(sa.text(f"DROP DATABASE IF EXISTS {self.quote(name)}"))
            finally:
                c.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:n, 0))"), key)


# Tables with rows of their own in a PostgreSQL database: its catalogs (but not
# those shared by all databases) and the user's tables, without TOAST and
# temporary ones. Left out: the planner's statistics (ANALYZE changes how queries
# run, not what they return) and, readable only by superusers, user mappings
# (whose roles pg_shdepend records) and the data of large objects (whose
# creation pg_largeobject_metadata records; a template with large objects of its
# own is never reset for a user who cannot read them).
_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname), n.nspname = 'pg_catalog',
       CASE WHEN has_table_privilege(c.oid, 'SELECT') THEN 'read'
            WHEN c.oid = 'pg_catalog.pg_user_mapping'::regclass
              OR c.oid = 'pg_catalog.pg_largeobject'::regclass
                 AND NOT EXISTS (SELECT FROM pg_largeobject_metadata) THEN 'skip'
       END,
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal
               AND t.tgtype & 32 <> 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relisshared
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND n.nspname <> 'information_schema'  -- SQL standard reference data
  AND c.oid NOT IN ('pg_catalog.pg_statistic'::regclass,
                    'pg_catalog.pg_statistic_ext_data'::regclass)
ORDER BY c.oid
"""

# Rows about the database itself in catalogs shared by all databases, written
# after the mark: ALTER DATABASE, its settings, COMMENT ON DATABASE, and the
# records of which roles own or may use its objects.
_SHARED_CHANGES = """
SELECT EXISTS (SELECT 1 FROM pg_database WHERE oid = d.oid AND age(xmin) <= age(CAST(:mark AS xid)))
    OR EXISTS (SELECT 1 FROM pg_db_role_setting WHERE setdatabase = d.oid)
    OR EXISTS (SELECT 1 FROM pg_shdescription
               WHERE objoid = d.oid AND age(xmin) <= age(CAST(:mark AS xid)))
    OR EXISTS (SELECT 1 FROM pg_shdepend
               WHERE dbid = d.oid AND age(xmin) <= age(CAST(:mark AS xid)))
FROM pg_database d WHERE d.datname = current_database()
"""

# The sequences, and whether each can be read. pg_sequences.last_value is no use:
# it is NULL both for a sequence never used and for one set back with
# setval(..., false); the sequence itself holds last_value and is_called.
_SEQUENCES = """
SELECT format('%I.%I', schemaname, sequencename),
       has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT')
FROM pg_sequences ORDER BY 1
"""


@dataclass(frozen=True)
class _Baseline:
    """What every clone of one PostgreSQL template holds, to compare a used clone with."""

    tables: list[str] | None  # None: some table is not readable, so never reset
    rows: list[int]  # each table's row count
    catalog: frozenset[str]
    truncate_triggers: frozenset[str]
    referenced_by: dict[str, set[str]]  # a table -> the tables with foreign keys to it
    sequences: list[tuple[str, int, bool]]  # name, last_value, is_called
    survey: str  # one statement: per table, its count and whether it has new rows

    @classmethod
    def read(cls, c: sa.Connection) -> _Baseline:
        found = c.execute(sa.text(_TABLES)).all()
        sequences = c.execute(sa.text(_SEQUENCES)).all()
        if not all(access for _, _, _, access, _ in found) or not all(r for _, r in sequences):
            return cls(None, [], frozenset(), frozenset(), {}, [], "")
        names = {oid: name for oid, name, *_ in found}
        tables = [name for _, name, _, access, _ in found if access == "read"]
        referenced_by: dict[str, set[str]] = {}
        for referencing, referenced in c.execute(
            sa.text("SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f'")
        ):
            # A partitioned table is not in the list: as "", which counts as holding
            # rows, it keeps its clone from being truncated.
            referenced_by.setdefault(names.get(referenced, ""), set()).add(
                names.get(referencing, "")
            )
        survey = " UNION ALL ".join(
            f"SELECT {i}, count(*), coalesce(min(age(xmin)) <= age(CAST(:mark AS xid)), false)"
            f" FROM {name}"
            for i, name in enumerate(tables)
        )
        rows = [0] * len(tables)
        for i, count, _ in c.execute(sa.text(survey), {"mark": "3"}):
            rows[i] = count
        return cls(
            tables,
            rows,
            frozenset(name for _, name, catalog, *_ in found if catalog),
            frozenset(name for _, name, _, _, trigger in found if trigger),
            referenced_by,
            _sequence_states(c, [name for name, _ in sequences]),
            survey,
        )

    def changed(self, c: sa.Connection, mark: str) -> set[str] | None:
        """The tables whose rows differ from the template's; None if the schema or
        the database itself changed (or a table went away)."""
        assert self.tables is not None
        try:
            if c.execute(sa.text(_SHARED_CHANGES), {"mark": mark}).scalar():
                return None
            survey = c.execute(sa.text(self.survey), {"mark": mark}).all()
        except sa.exc.DBAPIError:  # e.g. a table dropped: the schema changed
            return None
        changed = {self.tables[i] for i, count, new in survey if new or count != self.rows[i]}
        return None if changed & self.catalog else changed

    def emptied(self, changed: set[str] | None) -> list[str] | None:
        """The tables to truncate to undo ``changed``: those and every table with a
        foreign key to one of them; None if one of them has rows in the template
        (which TRUNCATE would lose) or a TRUNCATE trigger."""
        if changed is None:
            return None
        closure, todo = set(), list(changed)
        while todo:
            table = todo.pop()
            if table not in closure:
                closure.add(table)
                todo.extend(self.referenced_by.get(table, ()))
        assert self.tables is not None
        rows = dict(zip(self.tables, self.rows, strict=True))
        if any(rows.get(t, 1) or t in self.truncate_triggers for t in closure):
            return None
        return sorted(closure)

    def setvals(self, c: sa.Connection) -> list[dict[str, Any]] | None:
        """The ``setval`` arguments that put the sequences back as in the template;
        None if the sequences are not the template's."""
        names = [name for name, _ in c.execute(sa.text(_SEQUENCES))]
        if names != [name for name, *_ in self.sequences]:
            return None
        return [
            {"s": name, "v": last, "called": called}
            for (name, last, called), now in zip(
                self.sequences, _sequence_states(c, names), strict=True
            )
            if (name, last, called) != now
        ]


def _sequence_states(c: sa.Connection, names: list[str]) -> list[tuple[str, int, bool]]:
    """Each sequence's name, ``last_value`` and ``is_called``: all setval needs."""
    if not names:
        return []
    query = " UNION ALL ".join(
        f"SELECT {i}, last_value, is_called FROM {name}" for i, name in enumerate(names)
    )
    found = {i: (last, called) for i, last, called in c.execute(sa.text(query))}
    return [(name, *found[i]) for i, name in enumerate(names)]


@dataclass(frozen=True)
class _Replay:
    """What it takes to rebuild a MariaDB template: its DDL and its rows."""

    charset: str
    collation: str
    tables: list[str]  # CREATE TABLE / CREATE SEQUENCE statements
    views: list[str]
    others: list[str]  # triggers and routines
    rows: list[tuple[str, list[str]]]  # the tables that hold rows, with their columns
    # Each sequence's next value not cached and round (cycle count). SHOW CREATE
    # SEQUENCE gives neither; a value drawn from the template's cache, which the
    # server does not write down, counts as drawn: the copy never repeats it.
    sequences: list[tuple[str, int, int]]


class MariaDB(_ServerBackend):
    """A new database into which the template's schema is replayed (``SHOW CREATE``
    output, foreign key checks off) and its rows copied (``INSERT ... SELECT``).

    MariaDB has no template databases. Measured against ``CREATE TABLE ... LIKE``
    (which drops foreign keys, so they must be added again table by table) and
    against running the migrations' offline SQL (every ``ALTER`` of the history
    again), the replay of the final schema is as fast as the first and sound, and
    much faster than the second.
    """

    quote_char = "`"
    user_query = "SELECT CURRENT_USER()"

    def __init__(self, url: sa.URL, source: str = "the test database URL") -> None:
        super().__init__(url, source)
        self._replays: dict[str, _Replay] = {}
        self._reading = False  # the keeper's transaction is open

    def close(self) -> None:
        self._reading = False
        super().close()

    def exists(self, name: str) -> bool:
        rows = self.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = :n", n=name
        )
        return bool(rows)

    def create(self, name: str) -> None:
        with self.creating(name):
            self.execute(f"CREATE DATABASE IF NOT EXISTS {self.quote(name)}")

    def denied(self, exc: sa.exc.DBAPIError) -> bool:
        # Access denied to a database (1044) or for a command on a table (1142).
        return bool(exc.orig and exc.orig.args and exc.orig.args[0] in (1044, 1142))

    def grant(self, user: str) -> str:
        account, _, host = user.rpartition("@")
        # In a GRANT, _ matches any character: escaped, the pattern is the prefix alone.
        pattern = self.quote(self.base.replace("_", "\\_") + "\\_%")
        return (
            "The pytest plugin creates, migrates and drops test databases whose names start"
            f" with {self.base}_. As an administrator, run:"
            f" GRANT ALL PRIVILEGES ON {pattern}.* TO '{account}'@'{host}';"
        )

    def drop(self, name: str) -> None:
        with self.admin().connect() as connection:
            # A connection left open in a transaction would make DROP wait for it.
            rows = connection.execute(
                sa.text(
                    "SELECT id FROM information_schema.processlist"
                    " WHERE db = :n AND id <> CONNECTION_ID()"
                ),
                {"n": name},
            )
            for (pid,) in rows.all():
                with suppress(sa.exc.DBAPIError):  # it may have ended meanwhile
                    connection.exec_driver_sql(f"KILL {int(pid)}")
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.quote(name)}")

    def clone(self, template: str, name: str) -> None:
        replay = self._replays.get(template) or self._read(template)
        self._replays[template] = replay
        target = self.quote(name)
        with self.admin().connect() as c, self.creating(name):
            c.exec_driver_sql(
                f"CREATE DATABASE {target} CHARACTER SET {replay.charset}"
                f" COLLATE {replay.collation}"
            )
            c.exec_driver_sql(f"USE {target}")
            c.exec_driver_sql("SET foreign_key_checks = 0")
            try:
                for statement in replay.tables:
                    c.exec_driver_sql(statement.replace("%", "%%"))
                _create_views(c, [v.replace("%", "%%") for v in replay.views])
                for statement in replay.others:
                    c.exec_driver_sql(statement.replace("%", "%%"))
                for table, columns in replay.rows:
                    names = ", ".join(self.quote(column) for column in columns)
                    c.exec_driver_sql(
                        f"INSERT INTO {target}.{self.quote(table)} ({names})"
                        f" SELECT {names} FROM {self.quote(template)}.{self.quote(table)}"
                    )
                for sequence, value, round_ in replay.sequences:
                    c.exec_driver_sql(
                        f"SELECT SETVAL({target}.{self.quote(sequence)}, {int(value)}, 0,"
                        f" {int(round_)})"
                    )
            finally:
                c.exec_driver_sql("SET foreign_key_checks = 1")

    def _read(self, template: str) -> _Replay:
        source = self.quote(template)
        with self.admin().connect() as c:

            def rows(sql: str, **params: Any) -> list[Any]:
                return list(c.execute(sa.text(sql), params))

            [(charset, collation)] = rows(
                "SELECT default_character_set_name, default_collation_name"
                " FROM information_schema.schemata WHERE schema_name = :s",
                s=template,
            )
            found = rows(
                "SELECT table_name, table_type FROM information_schema.tables"
                " WHERE table_schema = :s ORDER BY table_name",
                s=template,
            )
            tables, views, others = [], [], []
            filled: list[tuple[str, list[str]]] = []
            sequences: list[tuple[str, int, int]] = []
            for table, kind in found:
                qualified = f"{source}.{self.quote(table)}"
                if kind == "VIEW":
                    text = rows(f"SHOW CREATE VIEW {qualified}")[0][1]
                    # SHOW CREATE VIEW names the template's schema in every column.
                    views.append(text.replace(f"{source}.", ""))
                    continue
                word = "SEQUENCE" if kind == "SEQUENCE" else "TABLE"
                tables.append(rows(f"SHOW CREATE {word} {qualified}")[0][1])
                if kind == "SEQUENCE":
                    [(value, round_)] = rows(
                        f"SELECT next_not_cached_value, cycle_count FROM {qualified}"
                    )
                    sequences.append((table, value, round_))
                    continue
                if rows(f"SELECT 1 FROM {qualified} LIMIT 1"):
                    columns = rows(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_schema = :s AND table_name = :t"
                        " AND is_generated = 'NEVER' ORDER BY ordinal_position",
                        s=template,
                        t=table,
                    )
                    filled.append((table, [column for (column,) in columns]))
            for (trigger,) in rows(
                "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = :s",
                s=template,
            ):
                others.append(rows(f"SHOW CREATE TRIGGER {source}.{self.quote(trigger)}")[0][2])
            for routine, kind in rows(
                "SELECT routine_name, routine_type FROM information_schema.routines"
                " WHERE routine_schema = :s",
                s=template,
            ):
                others.append(rows(f"SHOW CREATE {kind} {source}.{self.quote(routine)}")[0][2])
        return _Replay(charset, collation, tables, views, others, filled, sequences)

    def names(self, prefix: str) -> list[str]:
        rows = self.execute("SELECT schema_name FROM information_schema.schemata")
        return [row[0] for row in rows if row[0].startswith(prefix)]

    # MariaDB's named locks are exclusive only. A session keeps a template with a
    # transaction, open until close(), that has read one of its tables: the metadata
    # lock it holds makes DROP DATABASE wait, and the dropper waits a second at most.
    # Until the template is built and read, a named lock held around the building
    # keeps droppers off.
    @contextmanager
    def keeping(self, name: str) -> Iterator[None]:
        keeper, lock = self.keeper(), {"n": f"schemaops:{name}"}
        keeper.execute(sa.text("SELECT GET_LOCK(:n, 3600)"), lock)
        try:
            yield
            tables = keeper.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = :s AND table_type = 'BASE TABLE' LIMIT 1"
                ),
                {"s": name},
            ).all()
            if tables:
                if not self._reading:  # autocommit, as admin() is, until told otherwise
                    keeper.exec_driver_sql("START TRANSACTION")
                    self._reading = True
                keeper.exec_driver_sql(
                    f"SELECT 1 FROM {self.quote(name)}.{self.quote(tables[0][0])} LIMIT 1"
                ).all()
        finally:
            keeper.execute(sa.text("SELECT RELEASE_LOCK(:n)"), lock)

    def drop_unused(self, name: str) -> None:
        with self.admin().connect() as c:
            lock = {"n": f"schemaops:{name}"}
            if c.execute(sa.text("SELECT GET_LOCK(:n, 0)"), lock).scalar() != 1:
                return
            try:
                with suppress(sa.exc.DBAPIError):
                    c.exec_driver_sql(
                        f"SET STATEMENT lock_wait_timeout = 1 FOR DROP DATABASE IF EXISTS"
                        f" {self.quote(name)}"
                    )
            finally:
                c.execute(sa.text("SELECT RELEASE_LOCK(:n)"), lock)


def _create_views(connection: sa.Connection, views: list[str]) -> None:
    """Create ``views``, those that others read from first (the order is unknown)."""
    while views:
        failed: list[str] = []
        error: Exception | None = None
        for statement in views:
            try:
                connection.exec_driver_sql(statement)
            except sa.exc.DBAPIError as exc:
                failed.append(statement)
                error = exc
        if len(failed) == len(views):
            assert error is not None
            raise error
        views = failed


class SQLite(Backend):
    """Database files in one folder; a clone is a copy of the template's file."""

    def __init__(self, url: sa.URL, folder: Path, source: str = "the test database URL") -> None:
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).resolve().parent
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._kept: list[int] = []  # files with this session's flocks on kept templates
        super().__init__(url, source)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.db"

    def url_of(self, name: str) -> sa.URL:
        return sa.URL.create("sqlite", database=str(self.path(name)), query=self.url.query)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def create(self, name: str) -> None:
        self.path(name).touch()  # an empty file is an empty database

    def drop(self, name: str) -> None:
        path = self.path(name)
        for suffix in ("", "-journal", "-wal", "-shm", ".schemaops-lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def clone(self, template: str, name: str) -> None:
        shutil.copyfile(self.path(template), self.path(name))

    def names(self, prefix: str) -> list[str]:
        return [p.stem for p in self.folder.glob(f"{prefix}*.db")]

    # A session keeps a template with a shared flock on a file next to it; a session
    # that finds it stale drops it only if it gets the flock exclusively.
    def _users(self, name: str) -> int:
        return os.open(f"{self.path(name)}.schemaops-users", os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def keeping(self, name: str) -> Iterator[None]:
        import fcntl

        handle = self._users(name)
        self._kept.append(handle)
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield

    def drop_unused(self, name: str) -> None:
        import fcntl

        handle = self._users(name)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.drop(name)
        except BlockingIOError:
            pass
        finally:
            os.close(handle)

    def close(self) -> None:
        for handle in self._kept:
            os.close(handle)
        self._kept.clear()


def parse_url(text: str, source: str | None = None) -> sa.URL:
    """The URL ``text`` (set in ``source``, e.g. ``--schemaops-url``)."""
    try:
        return sa.make_url(text)
    except sa.exc.ArgumentError:
        # Not SQLAlchemy's message, which repeats the text, password and all.
        raise ConfigurationError(
            f"The test database URL ({source or 'the test database URL'}) is not a database"
            " URL. Give one like postgresql+psycopg://me:secret@localhost/shop_test."
        ) from None


def backend_for(url: sa.URL, folder: Path, source: str | None = None) -> Backend:
    """The backend for a database URL set in ``source`` (e.g. ``--schemaops-url``);
    ``folder`` holds SQLite files when the URL names none."""
    name = url.get_backend_name()
    where = source or "the test database URL"
    if name == "sqlite":
        return SQLite(url, folder, where)
    if name == "postgresql":
        return PostgreSQL(url, where)
    if name in ("mysql", "mariadb"):
        return MariaDB(url, where)
    raise ConfigurationError(
        f"The test database {masked_url(url)} ({where}) is on {name}; the flask_schemaops"
        " pytest plugin works with sqlite, postgresql and mysql/mariadb URLs."
    )


# --- The suite ------------------------------------------------------------------------


@dataclass
class Slot:
    """One database of the app (``default`` or a bind) and where its test copies go."""

    name: str
    backend: Backend
    base: str
    template: str | None = None
    shared: str | None = None  # the copy the rollback mode works in
    engine: sa.Engine | None = None  # to ``shared``


class Suite:
    """The test databases of one pytest session (the ``schemaops_suite`` fixture).

    ``create_app(config)`` must return the app with ``config`` applied before
    Flask-SQLAlchemy is set up. ``url`` is the default database's server (SQLite:
    its file or folder); ``binds`` maps bind names to their servers, and a bind not
    in it gets its databases on the default one's server. ``sources`` says where
    each URL was set (by ``default`` or bind name), for error messages.
    """

    def __init__(
        self,
        create_app: CreateApp,
        url: sa.URL,
        binds: Mapping[str, sa.URL],
        *,
        folder: Path,
        keep_template: bool = False,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.create_app = create_app
        self.keep_template = keep_template
        self.folder = folder
        self.url = url
        sources = sources or {}
        default = backend_for(url, folder, sources.get(DEFAULT))
        # The app, only to learn its databases and migrations; checked all the same,
        # so that a factory that ignores the config is stopped before anything runs.
        probe_url = default.url_of(default.base)
        probe = self.create_app(
            Config(
                {"TESTING": True, "SQLALCHEMY_DATABASE_URI": _render(probe_url)},
                [probe_url],
                SCHEMAOPS_ON_START=None,
            )
        )
        try:
            from ..extension import get_state

            check_app(probe, {DEFAULT: probe_url}, binds=False)
            state = get_state(probe)
            self.directory = state.directory
            settings = state.settings
            with probe.app_context():
                keys = set(state.db.metadatas) | set(probe.config.get("SQLALCHEMY_BINDS") or {})
        finally:
            dispose(probe)
        self.version_table = settings.version_table
        self.ignore_tables = settings.ignore_tables
        self.slots = [Slot(DEFAULT, default, default.base)]
        for key in sorted(k for k in keys if k is not None):
            if key in binds:
                backend = backend_for(binds[key], folder, sources.get(key))
                self.slots.append(Slot(key, backend, backend.base))
            else:
                self.slots.append(Slot(key, default, f"{default.base}_{key}"[:_NAME_ROOM]))
        unknown = sorted(set(binds) - {s.name for s in self.slots})
        if unknown:
            raise ConfigurationError(
                f"Test database URLs are set for {', '.join(unknown)}, which the app has not"
                f" among its binds ({', '.join(s.name for s in self.slots[1:]) or 'none'})."
            )
        self.digest = digest(
            self.directory,
            (settings.version_table, settings.version_table_schema, settings.audit_table),
        )
        self._built = False
        self._failure: SchemaOpsError | None = None
        self._databases: list[tuple[Backend, str]] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schemaops")
        self._ready: Future[dict[str, str]] | None = None
        self._reset: list[dict[str, str]] = []  # used clones made like new again

    # The config of an app on given databases, and the app.
    def urls(self, names: Mapping[str, str]) -> dict[str, sa.URL]:
        """The URLs of the databases ``names`` (by slot)."""
        return {s.name: s.backend.url_of(names[s.name]) for s in self.slots}

    def config(self, names: Mapping[str, str], **extra: Any) -> Config:
        """Flask config that points the app at the databases ``names`` (by slot)."""
        urls = self.urls(names)
        values = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": _render(urls[DEFAULT]),
            "SQLALCHEMY_BINDS": {k: _render(v) for k, v in urls.items() if k != DEFAULT},
        }
        return Config(values, urls.values(), **extra)

    def app(self, names: Mapping[str, str], **extra: Any) -> Flask:
        """The factory's app on the databases ``names``, with ``extra`` config;
        checked to be on them before anything touches a database."""
        app = self.create_app(self.config(names, **extra))
        try:
            check_app(app, self.urls(names))
        except SchemaOpsError:
            dispose(app)
            raise
        return app

    def _new(self, slot: Slot, kind: str = "") -> str:
        return f"{slot.base}_{kind}{_random()}"

    # --- The templates
    def templates(self) -> dict[str, str]:
        """Build (once) the template databases at head; their names by slot."""
        if self._failure is not None:  # every test would run the migrations again
            raise self._failure
        if not self._built:
            try:
                self._build()
            except SchemaOpsError as exc:
                self._failure = exc
                raise
            self._built = True
        return {s.name: s.template for s in self.slots if s.template is not None}

    def _build(self) -> None:
        from .. import api

        suffix = "" if self.keep_template else f"_{_random()[:6]}"
        for slot in self.slots:
            slot.template = f"{slot.base}{TEMPLATE_MARK}{self.digest}{suffix}"
        names = {s.name: s.template or "" for s in self.slots}
        with ExitStack() as kept:
            if self.keep_template:
                for slot in self.slots:
                    kept.enter_context(slot.backend.keeping(names[slot.name]))
            existed = all(s.backend.exists(names[s.name]) for s in self.slots)
            for attempt in (1, 2):
                for slot in self.slots:
                    slot.backend.create(names[slot.name])
                    if not self.keep_template:
                        self._databases.append((slot.backend, names[slot.name]))
                app = self.app(names, SCHEMAOPS_ON_START=None)
                try:
                    if not all(s.up_to_date for s in api.status(app=app)):
                        api.upgrade(app=app)
                except SchemaOpsError as exc:
                    if attempt == 1 and existed:  # kept by a session that broke off
                        dispose(app)
                        for slot in self.slots:
                            slot.backend.drop(names[slot.name])
                        continue
                    raise DatabaseError(
                        "Building the test database template by running the migrations"
                        f" failed:\n{exc}"
                    ) from exc
                finally:
                    dispose(app)
                break
        if self.keep_template:
            self._drop_stale()

    def _drop_stale(self) -> None:
        """Kept templates of other versions of the scripts that no running session
        keeps (see :meth:`Backend.keeping`)."""
        for slot in self.slots:
            pattern = re.compile(re.escape(slot.base + TEMPLATE_MARK) + "[0-9a-f]{12}")
            for name in slot.backend.names(slot.base + TEMPLATE_MARK):
                if name != slot.template and pattern.fullmatch(name):
                    with suppress(sa.exc.DBAPIError, OSError):
                        slot.backend.drop_unused(name)

    # --- Per test
    def _clones(self) -> dict[str, str]:
        if self._reset:
            return self._reset.pop()
        templates = self.templates()
        names = {s.name: self._new(s) for s in self.slots}
        made: list[Slot] = []
        try:
            for slot in self.slots:
                slot.backend.clone(templates[slot.name], names[slot.name])
                made.append(slot)
        except BaseException:
            self._drop(names, made)
            raise
        return names

    def _recycle(self, names: dict[str, str]) -> None:
        """Reset a test's clones for another test where the backend can, else drop them."""
        templates = self.templates()
        try:
            if all(s.backend.reset(templates[s.name], names[s.name]) for s in self.slots):
                self._reset.append(names)
                return
        except Exception:  # whatever went wrong, new copies do as well
            pass
        self._drop(names)

    def _drop(self, names: Mapping[str, str], slots: list[Slot] | None = None) -> None:
        """Drop a test's databases; one that cannot be dropped now (a session the user
        may not end is on it) is tried again when the session ends, from where a
        failure can be reported."""
        for slot in self.slots if slots is None else slots:
            try:
                slot.backend.drop(names[slot.name])
            except (sa.exc.DBAPIError, OSError):
                self._databases.append((slot.backend, names[slot.name]))

    @contextmanager
    def clone(self) -> Iterator[Databases]:
        """Copies of the templates as new, for one test.

        A worker thread gets the next test's copies ready while this test runs,
        and afterwards resets this test's copies (see :meth:`Backend.reset`) or
        drops them, so a test waits for none of it."""
        self.templates()
        ready, self._ready = self._ready, None
        names = ready.result() if ready is not None else self._clones()
        self._ready = self._worker.submit(self._clones)
        databases = Databases(self, names, "clone")
        try:
            yield databases
        finally:
            databases.close()
            self._worker.submit(self._recycle, names)

    @contextmanager
    def empty(self) -> Iterator[Databases]:
        """New empty databases, dropped afterwards."""
        names = {s.name: self._new(s) for s in self.slots}
        made: list[Slot] = []
        try:
            for slot in self.slots:
                slot.backend.create(names[slot.name])
                made.append(slot)
            databases = Databases(self, names, "empty")
            try:
                yield databases
            finally:
                databases.close()
        finally:
            self._worker.submit(self._drop, names, made)

    @contextmanager
    def rollback(self) -> Iterator[Databases]:
        """A connection per database to a shared copy of the templates, inside a
        transaction that is rolled back afterwards."""
        templates = self.templates()
        connections: dict[str, sa.Connection] = {}
        for slot in self.slots:
            if slot.engine is None:
                slot.shared = self._new(slot, "rb_")
                slot.backend.clone(templates[slot.name], slot.shared)
                self._databases.append((slot.backend, slot.shared))
                slot.engine = _transactional_engine(slot.backend.url_of(slot.shared))
        try:
            for slot in self.slots:
                assert slot.engine is not None
                connection = slot.engine.connect()
                connections[slot.name] = connection
                connection.begin()
            databases = Databases(
                self, {s.name: s.shared or "" for s in self.slots}, "rollback", connections
            )
            try:
                yield databases
            finally:
                databases.close()
        finally:
            for connection in connections.values():
                connection.rollback()
                connection.close()

    def close(self) -> None:
        """Drop what this session made (kept templates stay) and release connections."""
        self._worker.shutdown(wait=True)
        if self._ready is not None:
            with suppress(Exception):
                self._reset.append(self._ready.result())
        for names in self._reset:
            self._drop(names)
        for slot in self.slots:
            if slot.engine is not None:
                slot.engine.dispose()
        for backend, name in self._databases:
            try:
                backend.drop(name)
            except (sa.exc.DBAPIError, OSError) as exc:
                url = backend.url_of(name)
                detail = str(exc.orig or exc) if isinstance(exc, sa.exc.DBAPIError) else str(exc)
                warnings.warn(
                    f"Could not drop the test database {masked_url(url)}:"
                    f" {redact(detail, url_secrets(url)).splitlines()[0]}\n"
                    "Drop it once nothing is connected to it.",
                    stacklevel=1,
                )
        for slot in self.slots:
            slot.backend.close()


def _transactional_engine(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(url)
    if url.get_backend_name() == "sqlite":
        # pysqlite starts transactions lazily and in its own way, which breaks
        # SAVEPOINT; let SQLAlchemy emit BEGIN itself.
        @sa.event.listens_for(engine, "connect")
        def _autocommit_driver(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


def digest(directory: Path, extra: tuple[Any, ...] = ()) -> str:
    """12 hex digits that change when a file of the migrations directory changes."""
    h = hashlib.sha256(repr(extra).encode())
    if directory.is_dir():
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(str(path.relative_to(directory)).encode() + b"\0")
                h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _render(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


class Config(dict[str, Any]):
    """Flask config that points an app at test databases: the mapping an app
    factory receives. Its repr, which pytest shows for the factory's argument in a
    traceback, masks the passwords of ``urls``."""

    def __init__(self, values: Mapping[str, Any], urls: Iterable[sa.URL], **extra: Any) -> None:
        super().__init__(values, **extra)
        self._masks = {_render(url): masked_url(url) for url in urls}

    def __repr__(self) -> str:
        def shown(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: shown(v) for k, v in value.items()}
            return self._masks.get(value, value) if isinstance(value, str) else value

        return repr(shown(dict(self)))


def check_app(app: Flask, urls: Mapping[str, sa.URL], *, binds: bool = True) -> None:
    """Raise unless each database of ``app`` (``default`` or a bind name) is the one
    ``urls`` gives for it; with ``binds=False``, only the default one is checked.
    It reads the app's engines, so it comes before anything touches a database."""
    db = app.extensions.get("sqlalchemy")
    if db is None:
        raise ConfigurationError(
            f"The app {app.name!r} has no Flask-SQLAlchemy extension to point at the"
            " test databases."
        )
    for key, engine in _app_engines(db, app).items():
        if key is not None and not binds:
            continue
        wanted = urls.get(DEFAULT if key is None else key)
        if wanted is None or not _same_database(engine.url, wanted):
            what = "database" if key is None else f"bind {key!r}"
            expected = masked_url(wanted) if wanted is not None else "none (unknown bind)"
            raise ConfigurationError(
                f"The app's {what} is {masked_url(engine.url)}, not the test database"
                f" {expected}. Build the app from the config the plugin gives"
                " (create_app(schemaops_database.config)), applied before db.init_app."
            )


def dispose(app: Flask) -> None:
    """Close the pooled connections of ``app``'s engines."""
    db = app.extensions.get("sqlalchemy")
    if db is not None:
        for engine in _app_engines(db, app).values():
            if isinstance(engine, sa.Engine):
                engine.dispose()


def _app_engines(db: Any, app: Flask) -> dict[str | None, Any]:
    # Private Flask-SQLAlchemy state: the engines of each app, the very dict that
    # ``db.engines`` returns and ``db.session`` binds from. Read here only.
    engines: dict[str | None, Any] = db._app_engines[app]
    return engines


# --- What a test gets -------------------------------------------------------------------


@dataclass
class Databases:
    """The databases of one test (the ``schemaops_database`` fixture).

    :attr:`config` points an app at them; :meth:`attach` checks that an app does and,
    in rollback mode, routes its ``db.session`` into the test's transaction.
    """

    suite: Suite
    names: dict[str, str]  # by database: ``default`` or a bind name
    mode: str  # "clone", "rollback" or "empty"
    connections: dict[str, sa.Connection] = field(default_factory=dict)
    _attached: list[tuple[Flask, tuple[Any, Any]]] = field(default_factory=list, repr=False)

    @property
    def config(self) -> Config:
        """``TESTING``, ``SQLALCHEMY_DATABASE_URI`` and ``SQLALCHEMY_BINDS`` for an app
        factory (and, on empty databases, no ``SCHEMAOPS_ON_START`` guard)."""
        if self.mode == "empty":
            return self.suite.config(self.names, SCHEMAOPS_ON_START=None)
        return self.suite.config(self.names)

    def url_of(self, database: str = DEFAULT) -> sa.URL:
        """The URL of one database (``default`` or a bind name)."""
        slot = next((s for s in self.suite.slots if s.name == database), None)
        if slot is None:
            names = ", ".join(s.name for s in self.suite.slots)
            raise ConfigurationError(f"No test database {database!r}; there are: {names}.")
        return slot.backend.url_of(self.names[database])

    @property
    def url(self) -> str:
        """The default database's URL, password included."""
        return _render(self.url_of(DEFAULT))

    def connection(self, database: str = DEFAULT) -> sa.Connection:
        """Rollback mode: the connection whose transaction the test runs in."""
        if database not in self.connections:
            raise ConfigurationError(
                f"There is no rollback connection for {database!r}: the test runs in"
                f" {self.mode} mode."
            )
        return self.connections[database]

    def attach(self, app: Flask) -> Flask:
        """Check that ``app`` uses these databases; in rollback mode, run its
        ``db.session`` on the test's connections (with a SAVEPOINT per session
        transaction, so ``commit()`` and ``rollback()`` in the test behave). The
        app's engines stay as they are: what goes through them directly is neither
        seen by the session nor rolled back. Undone after the test."""
        check_app(app, self.suite.urls(self.names))
        db = app.extensions["sqlalchemy"]
        engines = _app_engines(db, app)
        factory = db.session.session_factory
        saved = (factory.class_, factory.kw.get("join_transaction_mode", _UNSET))
        if self.mode == "rollback":
            routes = {engines[k]: self.connections[DEFAULT if k is None else k] for k in engines}
            factory.class_ = _routed(factory.class_, routes)
            factory.configure(join_transaction_mode="create_savepoint")
        self._attached.append((app, saved))
        return app

    def close(self) -> None:
        """Undo :meth:`attach` and close the apps' connections."""
        for app, (session_class, join_mode) in reversed(self._attached):
            factory = app.extensions["sqlalchemy"].session.session_factory
            factory.class_ = session_class
            if join_mode is _UNSET:
                factory.kw.pop("join_transaction_mode", None)
            else:
                factory.configure(join_transaction_mode=join_mode)
            dispose(app)
        self._attached.clear()

    def __repr__(self) -> str:
        urls = ", ".join(f"{k}={masked_url(self.url_of(k))}" for k in self.names)
        return f"<Databases {self.mode}: {urls}>"


_UNSET = object()


def _routed(session_class: Any, routes: dict[sa.Engine, sa.Connection]) -> Any:
    """A subclass of the app's session class whose sessions run on ``routes``'
    connections instead of the engines Flask-SQLAlchemy picks."""

    class RoutedSession(session_class):  # type: ignore[misc]
        def get_bind(self, *args: Any, **kwargs: Any) -> Any:
            bind = super().get_bind(*args, **kwargs)
            return routes.get(bind, bind)

    return RoutedSession


def _same_database(a: sa.URL, b: sa.URL) -> bool:
    if a.get_backend_name() == "sqlite" and b.get_backend_name() == "sqlite":
        return Path(a.database or "").resolve() == Path(b.database or "").resolve()
    return (a.get_backend_name(), a.host, a.port, a.database) == (
        b.get_backend_name(),
        b.host,
        b.port,
        b.database,
    )
