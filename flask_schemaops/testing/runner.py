"""The migration runner: the ``schemaops_migrations`` fixture."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask

from .. import api
from ..autogen import is_ignored
from ..errors import ConfigurationError, RevisionError
from ..extension import get_state
from ..results import Revision, Step
from .databases import DEFAULT, Databases
from .schema import Schema, snapshot

Row = Mapping[str, Any]


class MigrationRunner:
    """An app on new, empty databases, and the operations to walk its histories.

    Every method takes ``database``: ``"default"`` (``SQLALCHEMY_DATABASE_URI``)
    or a bind name; each database has its own history.

    .. code-block:: python

        def test_backfill(schemaops_migrations):
            schemaops_migrations.upgrade("3f2a")                  # the revision before
            schemaops_migrations.insert("users", {"id": 1, "name": "Ada Lovelace"})
            schemaops_migrations.upgrade("+1")                    # the data migration
            assert schemaops_migrations.rows("users")[0]["first_name"] == "Ada"
    """

    def __init__(self, app: Flask, databases: Databases) -> None:
        self.app = app
        self.databases = databases

    # --- The histories
    def names(self) -> list[str]:
        """The databases that have a revision history."""
        found = api.heads(app=self.app)
        return list(dict.fromkeys(r.target for r in found))

    def history(self, database: str = DEFAULT) -> list[Revision]:
        """The revisions of one database, oldest first."""
        return list(reversed(api.history(binds=[database], app=self.app)))

    def revisions(self, database: str = DEFAULT) -> list[str]:
        """The revision ids, oldest first."""
        return [r.revision for r in self.history(database)]

    def heads(self, database: str = DEFAULT) -> list[str]:
        return [r.revision for r in api.heads(binds=[database], app=self.app)]

    def current(self, database: str = DEFAULT) -> str | None:
        """The revision the database is at; None at base."""
        found = self.current_revisions(database)
        if len(found) > 1:
            raise RevisionError(
                f"The test database {database!r} is at several revisions ({', '.join(found)})."
            )
        return found[0] if found else None

    def current_revisions(self, database: str = DEFAULT) -> list[str]:
        """The revisions the database is at: several on a branched history, none at
        base."""
        return [r.revision for r in api.current(binds=[database], app=self.app)]

    # --- Moving
    def upgrade(self, revision: str = "head", database: str = DEFAULT) -> list[Step]:
        """Upgrade to ``revision`` (an id, ``head``, ``+1``...); the steps applied."""
        return self._steps(api.upgrade(revision, binds=[database], lock=False, app=self.app))

    def downgrade(self, revision: str = "-1", database: str = DEFAULT) -> list[Step]:
        """Downgrade to ``revision`` (an id, ``-1``, ``base``...); the steps reverted."""
        return self._steps(api.downgrade(revision, binds=[database], lock=False, app=self.app))

    def step_up(self, database: str = DEFAULT) -> str | None:
        """Apply the next revision; the revision the database is at then."""
        self.upgrade("+1", database)
        return self.current(database)

    def step_down(self, database: str = DEFAULT) -> str | None:
        """Revert the current revision; the revision the database is at then."""
        self.downgrade("-1", database)
        return self.current(database)

    def _steps(self, runs: list[Any]) -> list[Step]:
        return [step for run in runs for step in run.steps]

    # --- Data
    def engine(self, database: str = DEFAULT) -> sa.Engine:
        """The app's engine for one database."""
        key = None if database == DEFAULT else database
        with self.app.app_context():
            engines = get_state(self.app).db.engines
        if key not in engines:
            raise ConfigurationError(f"The app has no database {database!r}.")
        return engines[key]

    def insert(
        self,
        table: str,
        rows: Row | Iterable[Row],
        *,
        revision: str | None = None,
        database: str = DEFAULT,
    ) -> None:
        """Insert ``rows`` into ``table`` as the schema stands now (first upgrading or
        downgrading to ``revision`` when given): the table is read from the database,
        not from the models, which may have moved on. A key that is not a column of
        the table then is an error."""
        if revision is not None:
            self.goto(revision, database)
        items = [dict(rows)] if isinstance(rows, Mapping) else [dict(row) for row in rows]
        at = ", ".join(self.current_revisions(database)) or "base"
        with self.engine(database).connect() as connection:
            try:
                found = sa.Table(table, sa.MetaData(), autoload_with=connection)
            except sa.exc.NoSuchTableError:
                tables = ", ".join(sorted(sa.inspect(connection).get_table_names())) or "none"
                raise ConfigurationError(
                    f"Database {database!r} at revision {at} has no table {table!r}; its"
                    f" tables are {tables}. Insert the rows at a revision that has the table."
                ) from None
        unknown = {key for item in items for key in item} - set(found.columns.keys())
        if unknown:
            raise ConfigurationError(
                f"Table {table!r} of database {database!r} at revision {at} has no column"
                f" {', '.join(sorted(unknown))}; its columns are"
                f" {', '.join(found.columns.keys())}. Insert the rows at a revision that has"
                " those columns, or leave the keys out."
            )
        if items:
            with self.engine(database).begin() as connection:
                connection.execute(found.insert(), items)

    def rows(self, table: str, database: str = DEFAULT) -> list[dict[str, Any]]:
        """Every row of ``table``, as dicts, in primary key order."""
        with self.engine(database).connect() as connection:
            found = sa.Table(table, sa.MetaData(), autoload_with=connection)
            query = sa.select(found).order_by(*found.primary_key.columns)
            return [dict(row._mapping) for row in connection.execute(query)]

    def execute(
        self, sql: str, params: Mapping[str, Any] | None = None, database: str = DEFAULT
    ) -> list[tuple[Any, ...]]:
        """Run ``sql`` (committed); the rows it returns."""
        with self.engine(database).begin() as connection:
            result = connection.execute(sa.text(sql), dict(params or {}))
            return [tuple(row) for row in result] if result.returns_rows else []

    def goto(self, revision: str, database: str = DEFAULT) -> None:
        """Upgrade or downgrade to ``revision``, whichever reaches it."""
        now = self.current(database)
        if revision == "base":
            if now is not None:
                self.downgrade("base", database)
            return
        ids = self.revisions(database)
        target = api.show([revision], binds=[database], app=self.app)[0].revision
        if now is not None and ids.index(target) < ids.index(now):
            self.downgrade(target, database)
        elif target != now:
            self.upgrade(target, database)

    def schema(self, database: str = DEFAULT) -> Schema:
        """The schema of one database (without the version table and the
        ``ignore_tables``), comparable with ``==``; see :mod:`.schema`."""
        settings = get_state(self.app).settings
        skip_names = {settings.version_table, settings.audit_table}

        def skip(name: str) -> bool:
            return name in skip_names or is_ignored(settings.ignore_tables, None, name, None)

        with self.engine(database).connect() as connection:
            return snapshot(connection, skip)
