"""An app whose second revision creates a column and a table, then sleeps before its
last statement: killed there, it leaves the revision partly applied on a backend
without transactional DDL."""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db = SQLAlchemy(app)
SchemaOps(app, db)
