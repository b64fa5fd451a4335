"""An app for concurrency tests: its migrations sleep and record each run in a table."""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
app.config["SCHEMAOPS_LOCK_TIMEOUT"] = float(os.environ.get("LOCK_TIMEOUT", "120"))
app.config["SCHEMAOPS_ON_START"] = os.environ.get("ON_START") or None
app.config["SCHEMAOPS_AUDIT_TABLE"] = os.environ.get("AUDIT_TABLE") or None
if os.environ.get("POOLED"):  # PgBouncer 1.18 keeps no prepared statements across clients
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"prepare_threshold": None}}
db = SQLAlchemy(app)
SchemaOps(app, db)
