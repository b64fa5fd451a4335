"""Small Flask apps for the tests, each with its own SQLAlchemy object and models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_app(
    root: Path,
    url: str | None,
    *,
    columns: dict[str, sa.Column[Any]] | None = None,
    binds: dict[str, str] | None = None,
    name: str = "testapp",
    config: dict[str, Any] | None = None,
    naming_convention: Mapping[str, str] | None = NAMING_CONVENTION,
    models: Callable[[SQLAlchemy], None] | None = None,
    **options: Any,
) -> Flask:
    """An app rooted at ``root`` with one model, ``Span`` (table ``spans``), in the
    default database ``url`` (none when ``url`` is None).

    ``columns`` adds columns to ``Span``; each of ``binds`` (name → URL) gets a
    model of its own, on table ``<name>_items``; ``models(db)`` may declare more
    models; ``naming_convention=None`` leaves SQLAlchemy's default one (indexes
    only); ``options`` go to ``SchemaOps``.
    """
    app = Flask(name, root_path=str(root))
    if url is not None:
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_BINDS"] = dict(binds or {})
    app.config.update(config or {})
    db = SQLAlchemy(metadata=sa.MetaData(naming_convention=naming_convention))
    if url is not None:
        attributes: dict[str, Any] = {
            "__tablename__": "spans",
            "id": sa.Column(sa.Integer, primary_key=True),
            "name": sa.Column(sa.String(200), nullable=False),
            **(columns or {}),
        }
        type("Span", (db.Model,), attributes)
    for bind in binds or {}:
        item = {
            "__tablename__": f"{bind}_items",
            "__bind_key__": bind,
            "id": sa.Column(sa.Integer, primary_key=True),
            "label": sa.Column(sa.String(100), nullable=False),
        }
        type(f"{bind.title()}Item", (db.Model,), item)
    if models is not None:
        models(db)
    db.init_app(app)
    SchemaOps(app, db, **options)
    return app


def invoke(app: Flask, *args: str) -> Result:
    """Run ``flask db ARGS`` in-process, as the Flask CLI would."""
    return app.test_cli_runner().invoke(args=["db", *args])


def tables(app: Flask, bind: str | None = None) -> set[str]:
    """The tables in the app's database (or in its database ``bind``)."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engines[bind]
        return set(sa.inspect(engine).get_table_names())


def columns(app: Flask, table: str, bind: str | None = None) -> set[str]:
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engines[bind]
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def execute(app: Flask, sql: str, bind: str | None = None) -> list[tuple[Any, ...]]:
    """Run ``sql`` in the app's database (or ``bind``), committed; return the rows."""
    with app.app_context(), app.extensions["sqlalchemy"].engines[bind].begin() as connection:
        result = connection.execute(sa.text(sql))
        return [tuple(row) for row in result] if result.returns_rows else []
