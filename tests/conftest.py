from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

# Importable whatever pytest's import mode is (importlib mode does not put tests/ on sys.path).
sys.path.insert(0, str(Path(__file__).parent))
import apps
from servers import Server, ServerUnavailable, start_mariadb, start_pgbouncer, start_postgresql

DIALECTS = ("sqlite", "postgresql", "mysql")


def _start(dialect: str, start: Callable[[Path], Server]) -> Iterator[Server]:
    # pytest caches a session fixture's skip/fail too: a broken server is tried once per session.
    # Not under pytest's basetemp: the server may run as another user, who must reach
    # its directory whatever permissions other pytest sessions give the basetemp.
    base = Path(tempfile.mkdtemp(prefix=f"schemaops-{dialect}-"))
    base.chmod(0o755)
    try:
        server = start(base)
    except ServerUnavailable as exc:
        reason = f"{dialect} server unavailable: {exc}"
    else:
        yield server
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        return
    shutil.rmtree(base, ignore_errors=True)
    # Outside the except block, so the report has no "During handling of the above exception".
    if dialect in {d.strip() for d in os.environ.get("SCHEMAOPS_REQUIRE_DATABASES", "").split(",")}:
        pytest.fail(f"{reason} (required by SCHEMAOPS_REQUIRE_DATABASES)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[Server]:
    yield from _start("postgresql", start_postgresql)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[Server]:
    yield from _start("mysql", start_mariadb)


@pytest.fixture(scope="session")
def pgbouncer_server(postgresql_server: Server) -> Iterator[Server]:
    """A PgBouncer in transaction mode in front of ``postgresql_server``: a database
    made there is reached through it as ``pgbouncer_server.url(name)``."""
    yield from _start("pgbouncer", lambda base: start_pgbouncer(base, postgresql_server))


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_server(dialect: str, request: pytest.FixtureRequest) -> Server | None:
    # getfixturevalue rather than a static dependency, so a sqlite-only run never starts a server.
    return None if dialect == "sqlite" else request.getfixturevalue(f"{dialect}_server")


@pytest.fixture
def database_url(database_server: Server | None, tmp_path: Path) -> Iterator[str]:
    if database_server is None:
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    name = f"schemaops_{uuid.uuid4().hex[:12]}"
    database_server.create_database(name)
    yield database_server.url(name)
    database_server.drop_database(name)


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``make_app(root=tmp_path, url=database_url, **kw)``: see ``apps.make_app``
    (``url=None``: an app with binds only).

    The apps' engines are disposed of before the test database is dropped.
    """
    made: list[Flask] = []

    def make(root: Path | None = None, url: Any = ..., **kwargs: Any) -> Flask:
        app = apps.make_app(root or tmp_path, database_url if url is ... else url, **kwargs)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()


@pytest.fixture
def another_database(
    database_server: Server | None, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """``another_database(name)``: the URL of one more fresh database, on the same
    server as ``database_url`` (a file next to it for SQLite)."""
    created: list[str] = []

    def make(name: str) -> str:
        if database_server is None:
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        database = f"schemaops_{name}_{uuid.uuid4().hex[:8]}"
        database_server.create_database(database)
        created.append(database)
        return database_server.url(database)

    yield make
    for database in created:
        database_server.drop_database(database)  # type: ignore[union-attr]
