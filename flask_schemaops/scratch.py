"""Scratch databases: where ``baseline`` and ``squash`` build the schema a revision
history produces, to compare it with another.

A scratch database lives next to the real one (the same server, or for SQLite a
temporary file) and is dropped afterwards. The history runs there through the
project's own env.py, exactly as ``flask db upgrade`` would run it, with the
app's engine swapped for the scratch one.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.pool import NullPool

from .autogen import is_ignored
from .config import WARNINGS_ATTRIBUTE, build_config
from .environment import SCRATCH_ENGINE
from .errors import DatabaseError, DirectoryError
from .targets import masked_url

if TYPE_CHECKING:
    from alembic.config import Config

    from .session import Session
    from .settings import Settings

BATCH_LEFTOVER = "_alembic_tmp_*"


@contextmanager
def scratch_database(like: sa.Engine) -> Iterator[sa.Engine]:
    """An empty database of the same kind as ``like``'s, dropped on exit."""
    url = like.url
    if url.get_backend_name() == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="schemaops-scratch-"))
        engine = sa.create_engine(url.set(database=str(folder / "scratch.db")))
        try:
            yield engine
        finally:
            engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"{(url.database or 'db')[:36]}_scratch_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        detail = str(exc.orig or exc).strip().splitlines()[0]
        right = "CREATEDB" if url.get_backend_name() == "postgresql" else "CREATE"
        raise DatabaseError(
            f"Could not create a scratch database on {masked_url(url.set(database=None))}:"
            f" {detail}\nThis command builds the schema of the revisions in a scratch"
            f" database next to yours. Grant the user the {right} privilege, or run the"
            " command against a server where it has it (a development server of the"
            " same kind)."
        ) from exc
    engine = sa.create_engine(url.set(database=name))  # pooled: disposed of before the drop
    try:
        yield engine
    finally:
        engine.dispose()
        force = ""
        if admin.dialect.name == "postgresql" and (admin.dialect.server_version_info or ()) >= (
            13,
        ):
            force = " WITH (FORCE)"
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        admin.dispose()


def scratch_config(session: Session, engine: sa.Engine, *, autogenerate: bool = False) -> Config:
    """An Alembic config whose env.py runs on ``engine`` instead of the session's
    database. Only flask_schemaops's env.py honours the swap, so another one is
    refused rather than run against the real database."""
    if not session.project.ours:
        raise DirectoryError(
            f"{session.project.directory / 'env.py'} is not flask_schemaops's, so the"
            " history cannot be run on a scratch database. Convert it first with `flask db"
            " convert-env`."
        )
    config = build_config(
        session.project.state,
        session.project.directory,
        bind=session.target.bind_key,
        autogenerate=autogenerate,
    )
    config.attributes[SCRATCH_ENGINE] = engine
    config.attributes[_SESSION] = session
    return config


_SESSION = "schemaops.scratch_session"


def upgrade(config: Config, destination: str | tuple[str, ...]) -> None:
    """Upgrade the scratch database of ``config`` to ``destination``. A failure says
    that it happened there, and that the real database was not touched."""
    from .session import translate

    targets = [destination] if isinstance(destination, str) else list(destination)
    try:
        for target in targets:
            command.upgrade(config, target)
    except Exception as exc:
        error = translate(exc, config.attributes[_SESSION], ())
        raise type(error)(
            f"{str(error).splitlines()[0]}\n"
            "This failed in a scratch database, where the revisions run from an empty schema"
            " so that what they build can be compared; your database was not touched. A"
            " revision that needs what only a real database has (its rows, or tables the"
            " revisions do not create) cannot run there, nor on any new database: make it"
            " skip what is missing (check for it first), then run the command again."
        ) from exc


def warnings(config: Config) -> tuple[str, ...]:
    return tuple(config.attributes.get(WARNINGS_ATTRIBUTE, ()))


def schema_filter(settings: Settings) -> Settings:
    """``settings`` whose ``ignore_tables`` also leave out what is not part of the
    schema of the models: the audit table and batch leftovers."""
    extra = (BATCH_LEFTOVER,) + ((settings.audit_table,) if settings.audit_table else ())
    return dataclasses.replace(settings, ignore_tables=settings.ignore_tables + extra)


def reflected_settings(settings: Settings) -> Settings:
    """The settings to compare a database with a schema :func:`reflect` returned: that
    of the default schema only."""
    return dataclasses.replace(schema_filter(settings), include_schemas=False)


def reflect(connection: sa.Connection, settings: Settings) -> sa.MetaData:
    """The tables of ``connection``'s default schema, as a ``MetaData``: all but the
    version table, the audit table, batch leftovers and ``ignore_tables``."""
    wanted = schema_filter(settings)
    default = connection.dialect.default_schema_name

    def only(name: str, _metadata: Any) -> bool:
        if name == settings.version_table:
            return False
        return not is_ignored(wanted.ignore_tables, None, name, default)

    metadata = sa.MetaData()
    metadata.reflect(bind=connection, only=only)
    connection.rollback()
    return metadata


def user_tables(connection: sa.Connection, settings: Settings) -> list[str]:
    """The tables of the default schema that belong to the app's schema (see
    :func:`reflect`)."""
    wanted = schema_filter(settings)
    default = connection.dialect.default_schema_name
    names = sa.inspect(connection).get_table_names()
    connection.rollback()
    return sorted(
        n
        for n in names
        if n != settings.version_table and not is_ignored(wanted.ignore_tables, None, n, default)
    )
