from __future__ import annotations

import pytest
import sqlalchemy as sa
from servers import Server

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
)


def test_url_format() -> None:
    assert Server("postgresql", "127.0.0.1", 5432, "u", "pw").url("db") == (
        "postgresql+psycopg://u:pw@127.0.0.1:5432/db"
    )
    assert Server("mysql", "127.0.0.1", 3306, "u", "pw").url("db", password="x") == (
        "mysql+pymysql://u:x@127.0.0.1:3306/db?charset=utf8mb4"
    )


def test_create_insert_count(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(items.insert(), [{"name": "a"}, {"name": "b"}, {"name": "ü"}])
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(items)) == 3
            assert conn.scalar(sa.select(items.c.name).where(items.c.id == 3)) == "ü"
    finally:
        engine.dispose()


def test_database_starts_empty(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)
def test_wrong_password_is_rejected(database_server: Server, database_url: str) -> None:
    database = sa.make_url(database_url).database
    assert database is not None
    engine = sa.create_engine(database_server.url(database, password="wrong"))
    try:
        with pytest.raises(sa.exc.OperationalError):
            engine.connect().close()
    finally:
        engine.dispose()
