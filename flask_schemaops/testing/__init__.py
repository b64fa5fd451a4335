"""Testing toolkit: a pytest plugin with migrated test databases and ready-made
migration checks. See :mod:`.plugin` (fixtures and options), :mod:`.databases`
(templates, clones, rollback), :mod:`.runner` (the migration runner) and
:mod:`.checks` (the ready-made checks).

Importing this package imports neither Flask nor SQLAlchemy: the plugin is
loaded in every pytest run of an environment where flask_schemaops is installed.
"""
