"""flask-schemaops: Alembic database migrations for Flask apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import SchemaOpsError
    from .extension import SchemaOps

__version__ = "0.1.0"

__all__ = ["SchemaOps", "SchemaOpsError", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so loading the pytest plugin (flask_schemaops.testing)
    # in a project that does not use it imports neither Flask nor Alembic.
    if name == "SchemaOps":
        from .extension import SchemaOps

        return SchemaOps
    if name == "SchemaOpsError":
        from .errors import SchemaOpsError

        return SchemaOpsError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
