"""Alembic environment for a Flask app managed by flask-schemaops.

`flask db ...` and plain `alembic ...` (run next to alembic.ini) both run this
file. The work happens in flask_schemaops.environment, so upgrading the package
upgrades this environment too.
"""

from flask_schemaops import environment

# 1. Load the Flask app and its configuration (the running one, or for plain
#    `alembic` the one named by `flask_app` in alembic.ini or by FLASK_APP).
app = environment.load_app()

# 2 and 3. For each database: its URL, from the app's config, and the metadata
#    of its Flask-SQLAlchemy models.
targets = environment.targets(app)


# --- Hooks: edit these to customise autogenerate. ---------------------------
def include_object(object, name, type_, reflected, compare_to):
    """Return False to leave an object out of autogenerate."""
    return True


def process_revision_directives(context, revision, directives):
    """Rewrite the revision autogenerate is about to write (see Alembic's docs)."""


# --- Run. ----------------------------------------------------------------------
environment.run_migrations(
    app,
    targets,
    include_object=include_object,
    process_revision_directives=process_revision_directives,
)
