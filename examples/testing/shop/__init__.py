"""A small shop: an app factory whose tests run on databases built by its migrations."""

import os
from typing import Any

from flask import Flask

from .models import db, schemaops


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///shop.db")
    app.config["SQLALCHEMY_BINDS"] = {
        "audit": os.environ.get("AUDIT_DATABASE_URL", "sqlite:///shop-audit.db")
    }
    # Applied before db.init_app(), so the test plugin's database URLs win.
    app.config.update(config or {})
    db.init_app(app)
    schemaops.init_app(app, db)

    from . import views

    app.register_blueprint(views.blueprint)
    return app
