"""Small Flask apps for the tests, each with its own SQLAlchemy object and models."""

from __future__ import annotations

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
    url: str,
    *,
    columns: dict[str, sa.Column[Any]] | None = None,
    name: str = "testapp",
    config: dict[str, Any] | None = None,
    **options: Any,
) -> Flask:
    """An app rooted at ``root`` with one model, ``Span`` (table ``spans``).

    ``columns`` adds columns to ``Span``; ``options`` go to ``SchemaOps``.
    """
    app = Flask(name, root_path=str(root))
    app.config.update(SQLALCHEMY_DATABASE_URI=url, **(config or {}))
    db = SQLAlchemy(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
    attributes: dict[str, Any] = {
        "__tablename__": "spans",
        "id": sa.Column(sa.Integer, primary_key=True),
        "name": sa.Column(sa.String(200), nullable=False),
        **(columns or {}),
    }
    type("Span", (db.Model,), attributes)
    db.init_app(app)
    SchemaOps(app, db, **options)
    return app


def invoke(app: Flask, *args: str) -> Result:
    """Run ``flask db ARGS`` in-process, as the Flask CLI would."""
    return app.test_cli_runner().invoke(args=["db", *args])


def tables(app: Flask) -> set[str]:
    """The tables in the app's database."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        return set(sa.inspect(engine).get_table_names())


def columns(app: Flask, table: str) -> set[str]:
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
