"""An app made for deploys: the startup guard on, a health endpoint, and every
setting from the environment, as a container gets them."""

import os
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

db = SQLAlchemy(
    metadata=sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
)
schemaops = SchemaOps()


class Order(db.Model):
    __tablename__ = "orders"

    id = db.Column(db.Integer, primary_key=True)
    customer = db.Column(db.String(200), nullable=False)
    placed_at = db.Column(db.DateTime, nullable=False, server_default=sa.func.now())


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///deployapp.db")
    # Refuse to start against a database that is not at head, unless the
    # environment says otherwise (SCHEMAOPS_ON_START=wait, say).
    app.config["SCHEMAOPS_ON_START"] = "check"
    for key, value in os.environ.items():
        if key.startswith("SCHEMAOPS_"):
            app.config[key] = value
    db.init_app(app)
    schemaops.init_app(app, db)

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, Any], int]:
        health = schemaops.health()
        return health.as_dict(), 200 if health.ok else 503

    @app.get("/orders")
    def orders() -> dict[str, int]:
        return {"orders": db.session.scalar(sa.select(sa.func.count()).select_from(Order)) or 0}

    return app
