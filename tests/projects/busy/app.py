"""An app whose second revision holds SQLite's write lock on the whole database.

Its batch copy of a 5 MB table spills SQLite's page cache, which takes the
exclusive lock: until the revision's transaction ends, no other connection can
even read the database. With HOLD set (a folder), the revision writes
HOLD/holding once it holds that lock, then waits until HOLD/release exists.
"""

import os

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
# SQLite's busy timeout: how long a connection waits for another one's lock.
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
    "connect_args": {"timeout": float(os.environ.get("BUSY_TIMEOUT", "5"))}
}
app.config["SCHEMAOPS_LOCK_TIMEOUT"] = float(os.environ.get("LOCK_TIMEOUT", "120"))
app.config["SCHEMAOPS_ON_START"] = os.environ.get("ON_START") or None
db = SQLAlchemy(app)

if os.environ.get("FOREIGN_KEYS"):

    @sa.event.listens_for(sa.Engine, "connect")
    def _foreign_keys(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


SchemaOps(app, db)
