"""An app-factory layout: extensions created once, bound to each app in create_app()."""

import os
from typing import Any

from flask import Flask

from .models import db, schemaops


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "DATABASE_URL", "sqlite:///factoryapp.db"
    )
    app.config.update(config or {})
    db.init_app(app)
    # The migrations live in factoryapp/alembic/, next to this file: a relative
    # directory is resolved against the app's root path, whatever the shell's.
    schemaops.init_app(app, db, directory="alembic")
    return app
