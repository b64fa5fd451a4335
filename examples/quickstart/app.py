"""A single-file Flask app whose schema flask-schemaops manages.

    flask --app app.py db upgrade      # create or update the database
    flask --app app.py db status       # what is applied, what is pending

The database is SQLite in the instance folder unless DATABASE_URL names another.
"""

import os

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

# A naming convention gives every constraint a name, so later revisions can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///quickstart.db")

db = SQLAlchemy(app, metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
schemaops = SchemaOps(app, db)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True)
    name = db.Column(db.String(120))


@app.get("/")
def index() -> dict[str, int]:
    return {"users": db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0}
