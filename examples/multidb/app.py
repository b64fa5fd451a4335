"""Two databases: the default one, and an ``audit`` bind with models of its own.

Each database keeps its own version history: ``migrations/versions/`` for the
default database and ``migrations/binds/audit/`` for the bind, each recorded in a
version table in its own database. A bind added later gets a history of its own,
and no existing revision changes.
"""

import os

import sqlalchemy as sa
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

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///main.db")
app.config["SQLALCHEMY_BINDS"] = {
    "audit": os.environ.get("AUDIT_DATABASE_URL", "sqlite:///audit.db"),
}

db = SQLAlchemy(app, metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
schemaops = SchemaOps(app, db)


class Account(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True)


class AuditEvent(db.Model):
    __bind_key__ = "audit"

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, nullable=False, index=True)
    action = db.Column(db.String(50), nullable=False)
    at = db.Column(db.DateTime, nullable=False, server_default=sa.func.now())
