"""flask-schemaops: Alembic database migrations for Flask apps."""

from .errors import SchemaOpsError
from .extension import SchemaOps

__version__ = "0.1.0"

__all__ = ["SchemaOps", "SchemaOpsError", "__version__"]
