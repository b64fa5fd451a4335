"""The models. The metadata's naming convention names every constraint."""

import sqlalchemy as sa
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


class Span(db.Model):
    __tablename__ = "spans"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    started_at = db.Column(db.DateTime, nullable=False, server_default=sa.func.now())
