"""Autogenerate fidelity: what autogenerate compares, and what it writes.

* :func:`name_filter` and :func:`object_filter` leave out the tables of
  ``ignore_tables`` (and the version table), and unique constraints or unique
  indexes that only repeat a primary key.
* :func:`compare_type` knows type pairs that differ on paper only, e.g. a model's
  ``Float(10)`` that PostgreSQL stores and reflects as ``REAL``.
* :func:`rewrite` cleans the ops autogenerate produced before a revision is
  written or ``check`` reports them: index renames that only come from a naming
  convention go, PostgreSQL enum types get created and dropped explicitly, and
  unnamed constraints are warned about.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy.sql.elements import conv

from .config import WARNINGS_ATTRIBUTE
from .errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.runtime.migration import MigrationContext

    from .settings import Settings

log = logging.getLogger("flask_schemaops")

Hook = Callable[..., Any]


def warn(config_attributes: dict[str, Any], message: str) -> None:
    """Hand ``message`` to the command that reports warnings (``flask db``), or log
    it (plain ``alembic``)."""
    collected = config_attributes.get(WARNINGS_ATTRIBUTE)
    if collected is None:
        log.warning(message)
    else:
        collected.append(message)


# --- Options for context.configure() ----------------------------------------------

CHAINED_ARGS = frozenset({"include_name", "include_object", "render_item"})


def configure_options(
    settings: Settings,
    dialect: sa.Dialect,
    include_object: Hook | None,
    configure_args: dict[str, Any],
) -> dict[str, Any]:
    """The autogenerate options of ``context.configure()`` for one database.

    The user's ``include_name``, ``include_object`` and ``render_item`` (from
    env.py or ``configure_args``) run after ours instead of replacing them.
    """
    user_object = configure_args.get("include_object", include_object)
    options: dict[str, Any] = {
        "compare_type": compare_type if settings.compare_type else False,
        "compare_server_default": (
            compare_server_default if settings.compare_server_default else False
        ),
        "include_schemas": settings.include_schemas,
        "include_name": name_filter(settings, dialect, configure_args.get("include_name")),
        "include_object": object_filter(settings, dialect, user_object),
        "render_item": enum_renderer(configure_args.get("render_item")),
    }
    return options


# --- Which tables, constraints and indexes autogenerate looks at -------------------


def is_ignored(patterns: Iterable[str], schema: str | None, name: str, default: str | None) -> bool:
    """Whether table ``name`` in ``schema`` (``None``: the default schema, called
    ``default``) matches one of ``patterns``: ``table`` globs match in every schema,
    ``schema.table`` globs in that schema only."""
    for pattern in patterns:
        if "." in pattern:
            schema_glob, _, table_glob = pattern.rpartition(".")
            in_schema = schema if schema is not None else default
            if (
                in_schema is not None
                and fnmatchcase(in_schema, schema_glob)
                and fnmatchcase(name, table_glob)
            ):
                return True
        elif fnmatchcase(name, pattern):
            return True
    return False


# The server's own databases, which include_schemas lists on MySQL and MariaDB to a
# user who may read them (Alembic leaves out information_schema only).
_MYSQL_SYSTEM_SCHEMAS = frozenset({"mysql", "performance_schema", "sys"})


def name_filter(settings: Settings, dialect: sa.Dialect, user_hook: Hook | None) -> Hook:
    """An ``include_name`` hook: ignored tables are not even reflected, nor the
    server's own schemas."""
    patterns = settings.ignore_tables
    version_schemas = {None, settings.version_table_schema}
    system = _MYSQL_SYSTEM_SCHEMAS if dialect.name in ("mysql", "mariadb") else frozenset()

    def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "schema" and name in system:
            return False
        if type_ == "table" and name is not None:
            schema = parent_names.get("schema_name")
            # Alembic skips it only when the schemas match exactly (include_schemas).
            ours = (settings.version_table, settings.audit_table)  # the audit table sits beside it
            if name in ours and schema in version_schemas:
                return False
            if is_ignored(patterns, schema, name, dialect.default_schema_name):
                return False
        return user_hook is None or bool(user_hook(name, type_, parent_names))

    return include_name


def object_filter(settings: Settings, dialect: sa.Dialect, user_hook: Hook | None) -> Hook:
    """An ``include_object`` hook: ignored model tables are left out, and so are,
    on tables that exist, unique constraints or unique indexes that repeat the
    primary key (a new table is created as the model says)."""
    patterns = settings.ignore_tables
    new_tables: set[tuple[str | None, str]] = set()  # of this autogenerate run

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table" and name is not None:
            if is_ignored(patterns, obj.schema, name, dialect.default_schema_name):
                return False
            if not reflected and compare_to is None:
                new_tables.add((obj.schema, name))
        elif (
            type_ in ("unique_constraint", "index")
            and repeats_primary_key(obj)
            and (obj.table.schema, obj.table.name) not in new_tables
        ):
            return False
        if user_hook is None:
            return True
        return bool(user_hook(obj, name, type_, reflected, compare_to))

    return include_object


def repeats_primary_key(item: Any) -> bool:
    """Whether ``item`` is a unique constraint or unique index on exactly the
    primary key's columns.

    Such a duplicate is noise: PostgreSQL silently leaves it out of CREATE TABLE,
    and models often say ``unique=True`` on the primary key anyway.
    """
    if isinstance(item, sa.Index):
        if not item.unique or len(item.expressions) != len(item.columns):
            return False
    elif not isinstance(item, sa.UniqueConstraint):
        return False
    table = item.table
    if not isinstance(table, sa.Table):
        return False
    key = {column.name for column in table.primary_key.columns}
    return bool(key) and {column.name for column in item.columns} == key


# --- Types that differ on paper only -------------------------------------------------


def compare_type(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """A ``compare_type`` hook: ``False`` (no change) for a known-equivalent pair,
    else ``None`` so that Alembic's own comparison decides."""
    return False if equivalent_types(context.dialect, inspected_type, metadata_type) else None


def equivalent_types(
    dialect: sa.Dialect, reflected: sa.types.TypeEngine[Any], model: sa.types.TypeEngine[Any]
) -> bool:
    """Whether the database column of type ``reflected`` is what the DDL of the
    ``model`` type creates on ``dialect``."""
    model_ddl = _ddl(model, dialect)
    reflected_ddl = _ddl(reflected, dialect)
    if model_ddl is None or reflected_ddl is None:
        return False
    if dialect.name == "sqlite":
        return _sqlite_equivalent(dialect, reflected_ddl, model_ddl)
    if dialect.name == "postgresql":
        return _postgresql_equivalent(reflected_ddl, model_ddl)
    if dialect.name in ("mysql", "mariadb"):
        return _mysql_equivalent(reflected_ddl, model_ddl)
    return False


def _ddl(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str | None:
    try:
        return " ".join(type_.compile(dialect=dialect).upper().split())
    except (sa.exc.SQLAlchemyError, NotImplementedError):
        return None  # e.g. NullType, reflected from a type SQLAlchemy does not know


def _sqlite_equivalent(dialect: sa.Dialect, reflected: str, model: str) -> bool:
    # SQLite keeps the declared type text, and SQLAlchemy reflects a name it does not
    # know (BINARY, CLOB, ...) by its affinity. Equivalent: the model's DDL reflects
    # back as the reflected type.
    resolve = getattr(dialect, "_resolve_type_affinity", None)
    if resolve is None:
        return False
    return _ddl(resolve(model), dialect) == reflected


_FLOAT = re.compile(r"FLOAT\((\d+)\)")


def _postgresql_equivalent(reflected: str, model: str) -> bool:
    arrays = re.fullmatch(r"(.*?)((?:\[\])+)", model)
    if arrays:
        element, brackets = arrays.groups()
        if not reflected.endswith(brackets):
            return False
        inner = reflected[: -len(brackets)]
        return inner == element or _postgresql_equivalent(inner, element)
    if match := _FLOAT.fullmatch(model):
        bits = int(match.group(1))
        # PostgreSQL turns float(1..24) into real and float(25..53) into double precision.
        return bits <= 53 and reflected == ("REAL" if bits <= 24 else "DOUBLE PRECISION")
    if match := re.fullmatch(r"NCHAR(?:\((\d+)\))?", model):
        return reflected == f"CHAR({match.group(1) or 1})"
    return False


_MYSQL_OPTION = re.compile(r"\s*\b(CHARACTER SET|COLLATE) (\w+)")
_BLOBS = (("TINY", 255), ("", 65_535), ("MEDIUM", 16_777_215), ("LONG", 4_294_967_295))


def _mysql_equivalent(reflected: str, model: str) -> bool:
    model_core, model_options = _mysql_split(model)
    reflected_core, reflected_options = _mysql_split(reflected)
    required = set(model_options)
    forms: set[str] = set()
    if match := _FLOAT.fullmatch(model_core):
        if 25 <= int(match.group(1)) <= 53:
            forms = {"DOUBLE"}  # FLOAT(25..53) is a DOUBLE
    elif match := re.fullmatch(r"REAL(\(.*\))?", model_core):
        forms = {"DOUBLE" + (match.group(1) or "")}  # REAL is DOUBLE unless REAL_AS_FLOAT
    elif match := re.fullmatch(r"(TEXT|BLOB)\((\d+)\)", model_core):
        # The server picks the smallest TINY/-/MEDIUM/LONG type for the length; for
        # TEXT the length is in characters of 1 to 4 bytes, depending on the charset.
        family, length = match.group(1), int(match.group(2))
        widest = 1 if family == "BLOB" else 4
        first = _smallest_blob(length)
        last = _smallest_blob(length * widest)
        forms = {prefix + family for prefix, _ in _BLOBS[first : last + 1]}
    elif match := re.fullmatch(r"NATIONAL (CHAR|VARCHAR)(\(\d+\))?", model_core):
        forms = {match.group(1) + (match.group(2) or "")}
        required.add(("CHARACTER SET", "UTF8MB3"))  # NATIONAL means utf8mb3
    if reflected_core not in forms:
        return False
    return required <= set(reflected_options)


def _mysql_split(ddl: str) -> tuple[str, list[tuple[str, str]]]:
    options = [
        (keyword, "UTF8MB3" + value[4:] if re.match(r"UTF8(?!MB)", value) else value)
        for keyword, value in _MYSQL_OPTION.findall(ddl)
    ]
    return _MYSQL_OPTION.sub("", ddl).strip(), options


def _smallest_blob(length: int) -> int:
    return next((i for i, (_, size) in enumerate(_BLOBS) if length <= size), len(_BLOBS) - 1)


# --- Server defaults that differ on paper only ----------------------------------------


def compare_server_default(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """A ``compare_server_default`` hook: ``False`` (no change) when the reflected
    default and the model's say the same thing in different words, else ``None``."""
    if equivalent_defaults(inspected_default, rendered_metadata_default):
        return False
    return None


_NOW = {"now()", "current_timestamp", "current_timestamp()", "localtimestamp", "localtimestamp()"}


def equivalent_defaults(reflected: str | None, model: str | None) -> bool:
    """Whether two server-default texts mean the same value: ``now()`` and
    ``current_timestamp()``, ``true`` and ``1``, ``1.5`` and ``1.50``, ``'0'`` and
    ``0``, with or without parentheses or a PostgreSQL cast."""
    if reflected is None or model is None:
        return False
    return _default_value(reflected) == _default_value(model)


def _default_value(text: str) -> object:
    value = text.strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    value = re.sub(r"::[\w ]+(\(\d+(,\s*\d+)?\))?(\[\])?$", "", value)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
    lowered = value.lower()
    if lowered in _NOW:
        return "current_timestamp"
    if lowered in ("true", "false"):
        return Decimal(lowered == "true")
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


# --- Reflection: one query where Alembic asks once per table ---------------------------

_NEXTVAL = re.compile(r"nextval\('(.+?)'::regclass\)")
_SEQUENCE_OWNERS = sa.text(
    "SELECT c.oid::regclass::text, a.attname FROM pg_class c"
    " JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass"
    " AND d.refclassid = 'pg_class'::regclass"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
    " WHERE c.relkind = 'S'"
)


def reflect_serials_at_once(migration_context: MigrationContext) -> None:
    """On PostgreSQL, Alembic drops the ``nextval(...)`` default of a reflected SERIAL
    column (its sequence is owned by the column) so that it does not show as a
    change; to learn the owner it runs one query per such column: a thousand round
    trips for a thousand tables. This reads every sequence's owner in one query,
    when the first SERIAL is reflected, and decides as Alembic does.

    Alembic's hook is its dialect impl's ``autogen_column_reflect`` method; it is
    replaced on this run's impl only, here and nowhere else.
    """
    impl = migration_context.impl
    if migration_context.dialect.name != "postgresql" or migration_context.connection is None:
        return
    connection = migration_context.connection
    owners: dict[str, str] | None = None

    def autogen_column_reflect(inspector: Any, table: sa.Table, column_info: Any) -> None:
        nonlocal owners
        default = column_info.get("default")
        if not default or not isinstance(column_info["type"], (sa.INTEGER, sa.BIGINT)):
            return
        nextval = _NEXTVAL.match(default)
        if nextval is None:
            return
        if owners is None:
            owners = {}
            for sequence, column in connection.execute(_SEQUENCE_OWNERS):
                owners.setdefault(sequence, column)
        if owners.get(nextval.group(1)) == column_info["name"]:
            del column_info["default"]  # a SERIAL: the model says nothing of its sequence

    impl.autogen_column_reflect = autogen_column_reflect  # type: ignore[method-assign]


# --- The revision: noise out, enum types in, warnings ----------------------------------


def rewrite(
    migration_context: MigrationContext,
    script: ops.MigrationScript,
    *,
    generating: bool,
    config_attributes: dict[str, Any],
) -> None:
    """Clean the ops of the database autogenerate just compared (the last ones of
    ``script``). ``generating``: a revision file is being written, not ``check``."""
    upgrade = script.upgrade_ops_list[-1]
    downgrade = script.downgrade_ops_list[-1]
    drop_convention_renames(upgrade, downgrade)
    _prune(upgrade)
    _prune(downgrade)
    if not generating:
        return
    if migration_context.dialect.name == "postgresql":
        add_enum_types(migration_context, upgrade, downgrade)
    for message in unnamed_constraints(upgrade):
        warn(config_attributes, message)


def _walk(container: ops.OpContainer) -> Iterator[tuple[ops.OpContainer, ops.MigrateOperation]]:
    for op in container.ops:
        yield container, op
        if isinstance(op, ops.OpContainer):
            yield from _walk(op)


def _prune(container: ops.OpContainer) -> None:
    """Remove the containers (per-table groups) left empty."""
    for op in container.ops:
        if isinstance(op, ops.OpContainer):
            _prune(op)
    container.ops = [
        op for op in container.ops if not (isinstance(op, ops.OpContainer) and op.is_empty())
    ]


# Index renames ------------------------------------------------------------------------


def drop_convention_renames(upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps) -> None:
    """Drop index "renames" a naming convention causes: a dropped index and a created
    one on the same table, columns and uniqueness, the new name coming from the
    convention. Both ops go, from the upgrade and from the downgrade."""
    drops: list[tuple[ops.OpContainer, ops.DropIndexOp]] = []
    creates: list[tuple[ops.OpContainer, ops.CreateIndexOp]] = []
    for container, op in _walk(upgrade):
        if isinstance(op, ops.DropIndexOp):
            drops.append((container, op))
        elif isinstance(op, ops.CreateIndexOp) and isinstance(op.index_name, conv):
            creates.append((container, op))
    renamed: set[tuple[str | None, str, str | None, str | None]] = set()
    for create_in, create in creates:
        for pair in drops:
            drop_in, drop = pair
            if _same_index(drop, create):
                drops.remove(pair)
                create_in.ops.remove(create)
                drop_in.ops.remove(drop)
                renamed.add((create.schema, create.table_name, drop.index_name, create.index_name))
                break
    if not renamed:
        return
    # The downgrade was derived from the upgrade before this ran: there the new name
    # is dropped and the old one created again.
    for container, op in list(_walk(downgrade)):
        if isinstance(op, _INDEX_OPS) and any(
            (op.schema, op.table_name) == (schema, table)
            and op.index_name == (old if isinstance(op, ops.CreateIndexOp) else new)
            for schema, table, old, new in renamed
        ):
            container.ops.remove(op)


_INDEX_OPS = (ops.CreateIndexOp, ops.DropIndexOp)


def _same_index(drop: ops.DropIndexOp, create: ops.CreateIndexOp) -> bool:
    if (drop.schema, drop.table_name) != (create.schema, create.table_name):
        return False
    if getattr(drop, "_reverse", None) is None:
        return False  # not built by autogenerate: its columns are unknown
    old = drop.reverse()  # the dropped index as it was reflected
    return (
        _index_columns(old.columns) == _index_columns(create.columns)
        and bool(old.unique) == bool(create.unique)
        and _options(old.kw) == _options(create.kw)
    )


def _index_columns(columns: Sequence[Any]) -> list[str]:
    return [c if isinstance(c, str) else getattr(c, "name", None) or str(c) for c in columns]


def _options(kw: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in kw.items() if value}


# PostgreSQL enum types -------------------------------------------------------------------
#
# PostgreSQL keeps a native enum as a named type beside the tables. Alembic's
# create_table creates it without checking (failing when another table already uses
# it), drop_table and drop_column leave it behind (SQLAlchemy 2.1), and add_column and
# alter_column do not create it at all. So an autogenerated revision gets explicit
# ops: it creates each type the database does not have yet, before everything else,
# and its downgrade drops exactly those types, after everything else. The other way
# round, a revision that removes the last column of a type drops the type after
# everything else, and its downgrade creates it again before the column comes back.
# checkfirst both ways, so a hand-made or half-applied state does not break it.
# Columns render with create_type=False, so a type is never created implicitly. The
# rendered code is plain SQLAlchemy, so revision files do not depend on this package;
# offline (--sql) it renders as CREATE TYPE / DROP TYPE.


class CreateEnumTypeOp(ops.MigrateOperation):
    """Create a PostgreSQL enum type unless it exists."""

    def __init__(self, name: str, values: Sequence[str], schema: str | None = None) -> None:
        self.name = name
        self.values = tuple(values)
        self.schema = schema

    def reverse(self) -> DropEnumTypeOp:
        return DropEnumTypeOp(self.name, self.values, self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("add_enum_type", self.schema, self.name)


class DropEnumTypeOp(ops.MigrateOperation):
    """Drop a PostgreSQL enum type if it exists."""

    def __init__(self, name: str, values: Sequence[str] = (), schema: str | None = None) -> None:
        self.name = name
        self.values = tuple(values)
        self.schema = schema

    def reverse(self) -> CreateEnumTypeOp:
        return CreateEnumTypeOp(self.name, self.values, self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("remove_enum_type", self.schema, self.name)


def _enum_source(
    context: AutogenContext,
    name: str,
    values: Sequence[str],
    schema: str | None,
    **options: Any,
) -> str:
    context.imports.add("from sqlalchemy.dialects import postgresql")
    arguments = [repr(v) for v in values] + [f"name={name!r}"]
    if schema is not None:
        arguments.append(f"schema={schema!r}")
    arguments += [f"{key}={value!r}" for key, value in options.items()]
    return f"postgresql.ENUM({', '.join(arguments)})"


def _op_prefix(context: AutogenContext) -> str:
    return str(context.opts.get("alembic_module_prefix") or "op.")


@renderers.dispatch_for(CreateEnumTypeOp)
def _render_create_enum(context: AutogenContext, op: CreateEnumTypeOp) -> str:
    source = _enum_source(context, op.name, op.values, op.schema)
    return f"{source}.create({_op_prefix(context)}get_bind(), checkfirst=True)"


@renderers.dispatch_for(DropEnumTypeOp)
def _render_drop_enum(context: AutogenContext, op: DropEnumTypeOp) -> str:
    source = _enum_source(context, op.name, (), op.schema)
    return f"{source}.drop({_op_prefix(context)}get_bind(), checkfirst=True)"


def enum_renderer(user_hook: Hook | None) -> Hook:
    """A ``render_item`` hook: on PostgreSQL a native enum column type renders with
    ``create_type=False``, its type being created by its own op."""

    def render_item(type_: str, obj: Any, context: AutogenContext) -> str | Literal[False]:
        if user_hook is not None:
            rendered = user_hook(type_, obj, context)
            if rendered is not False:
                return str(rendered)
        if (
            type_ == "type"
            and context.dialect is not None
            and context.dialect.name == "postgresql"
            and isinstance(obj, sa.Enum)
            and obj.native_enum
            and obj.name
        ):
            return _enum_source(context, obj.name, obj.enums, obj.schema, create_type=False)
        return False

    return render_item


@dataclass(frozen=True)
class EnumType:
    """A PostgreSQL enum type in a database, and what uses it."""

    schema: str
    name: str
    labels: tuple[str, ...]
    columns: tuple[tuple[str, str, str], ...]  # (schema, table, column), arrays of it too
    other_uses: bool  # a domain, a function, or an extension owns it


_ENUM_TYPES = sa.text(
    "SELECT n.nspname, t.typname,"
    " ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid"
    "   ORDER BY e.enumsortorder),"
    " ARRAY(SELECT ARRAY[cn.nspname::text, c.relname::text, a.attname::text]"
    "   FROM pg_attribute a"
    "   JOIN pg_class c ON c.oid = a.attrelid"
    "   JOIN pg_namespace cn ON cn.oid = c.relnamespace"
    "   WHERE a.atttypid IN (t.oid, t.typarray) AND a.attnum > 0 AND NOT a.attisdropped"
    # An inherited column (a partition's) comes and goes with its parent's; an
    # index's follows its table's.
    "   AND a.attinhcount = 0 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')"
    "   ORDER BY 1),"
    " EXISTS (SELECT 1 FROM pg_type d WHERE d.typbasetype IN (t.oid, t.typarray))"
    " OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.prorettype IN (t.oid, t.typarray)"
    "   OR t.oid = ANY(p.proargtypes::oid[]) OR t.typarray = ANY(p.proargtypes::oid[]))"
    " OR EXISTS (SELECT 1 FROM pg_depend x WHERE x.objid = t.oid AND x.deptype = 'e')"
    " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
    " WHERE t.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " ORDER BY 1, 2"
)


def enum_types(connection: sa.Connection) -> list[EnumType]:
    """The enum types of the PostgreSQL database of ``connection``, each with the
    columns that use it."""
    return [
        EnumType(schema, name, tuple(labels), tuple(tuple(c) for c in columns), other)
        for schema, name, labels, columns, other in connection.execute(_ENUM_TYPES)
    ]


def add_enum_types(
    migration_context: MigrationContext, upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps
) -> None:
    """Create the enum types the upgrade needs and the database lacks, and drop them in
    the downgrade; drop those whose last column the upgrade removes, and create them
    again in the downgrade. Raise a clear error for a native enum without a name."""
    needed: dict[tuple[str | None, str], sa.Enum] = {}
    for where, type_ in _new_column_types(upgrade):
        for enum in _native_enums(type_):
            if not enum.name:
                table, _, column = where.partition(".")
                raise ConfigurationError(
                    f"The column {where} is an Enum without a name, and PostgreSQL keeps a"
                    " native enum as a named type. Name it, e.g. sa.Enum(...,"
                    f' name="{table}_{column}"), or store it as a string with sa.Enum(...,'
                    " native_enum=False); then generate the revision again. No revision"
                    " was written."
                )
            needed.setdefault((enum.schema, enum.name), enum)
    removed = _removed_uses(upgrade)
    connection = migration_context.connection
    if not (needed or removed.types) or connection is None:
        return
    default = str(connection.dialect.default_schema_name)
    existing = {(t.schema, t.name): t for t in enum_types(connection)}

    def key(schema: str | None, name: str | None) -> tuple[str, str]:
        return schema or default, str(name)

    new = [e for (schema, name), e in needed.items() if key(schema, name) not in existing]
    wanted = {key(schema, name) for schema, name in needed}
    unused = {
        (found.schema, found.name): found
        for found in (existing.get(key(schema, name)) for schema, name in removed.types)
        if found is not None
        and (found.schema, found.name) not in wanted
        and not found.other_uses
        and all(removed.covers(column, default) for column in found.columns)
    }.values()

    def schema_of(found: EnumType) -> str | None:
        return None if found.schema == default else found.schema

    upgrade.ops[0:0] = [CreateEnumTypeOp(str(e.name), e.enums, e.schema) for e in new]
    upgrade.ops.extend(DropEnumTypeOp(t.name, t.labels, schema_of(t)) for t in unused)
    downgrade.ops[0:0] = [CreateEnumTypeOp(t.name, t.labels, schema_of(t)) for t in unused]
    downgrade.ops.extend(DropEnumTypeOp(str(e.name), e.enums, e.schema) for e in reversed(new))


@dataclass
class _Removed:
    """The tables and columns an upgrade drops or changes the type of, and the native
    enum types they had."""

    types: dict[tuple[str | None, str], None] = field(default_factory=dict)  # ordered set
    tables: set[tuple[str | None, str]] = field(default_factory=set)
    columns: set[tuple[str | None, str, str]] = field(default_factory=set)

    def add(self, type_: Any) -> None:
        if isinstance(type_, sa.types.TypeEngine):
            for enum in _native_enums(type_):
                if enum.name:
                    self.types.setdefault((enum.schema, enum.name))

    def covers(self, column: tuple[str, str, str], default: str) -> bool:
        """Whether the database's ``column`` (schema, table, column) goes or changes."""
        schema, table, name = column
        in_default = schema == default
        return any(
            (s == schema or (s is None and in_default)) and t == table for s, t in self.tables
        ) or any(
            (s == schema or (s is None and in_default)) and (t, c) == (table, name)
            for s, t, c in self.columns
        )


def _removed_uses(upgrade: ops.UpgradeOps) -> _Removed:
    removed = _Removed()
    for _, op in _walk(upgrade):
        if isinstance(op, ops.DropTableOp):
            removed.tables.add((op.schema, op.table_name))
            for column in op.to_table().columns:
                removed.add(column.type)
        elif isinstance(op, ops.DropColumnOp):
            removed.columns.add((op.schema, op.table_name, op.column_name))
            removed.add(op.to_column().type)
        elif isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
            removed.columns.add((op.schema, op.table_name, op.column_name))
            removed.add(op.existing_type)
    return removed


def _new_column_types(
    upgrade: ops.UpgradeOps,
) -> Iterator[tuple[str, sa.types.TypeEngine[Any]]]:
    """The column types the upgrade creates or changes to, with ``table.column``."""
    for _, op in _walk(upgrade):
        if isinstance(op, ops.CreateTableOp):
            for item in op.columns:
                if isinstance(item, sa.Column):
                    yield f"{op.table_name}.{item.name}", item.type
        elif isinstance(op, ops.AddColumnOp):
            yield f"{op.table_name}.{op.column.name}", op.column.type
        elif isinstance(op, ops.AlterColumnOp) and isinstance(op.modify_type, sa.types.TypeEngine):
            yield f"{op.table_name}.{op.column_name}", op.modify_type


def _native_enums(type_: sa.types.TypeEngine[Any]) -> Iterator[sa.Enum]:
    if isinstance(type_, sa.Enum) and type_.native_enum:
        yield type_
    elif isinstance(type_, sa.ARRAY):
        yield from _native_enums(type_.item_type)


# Unnamed constraints ---------------------------------------------------------------------

_CONVENTIONS = {
    sa.UniqueConstraint: ("unique constraint", '"uq": "uq_%(table_name)s_%(column_0_name)s"'),
    sa.ForeignKeyConstraint: (
        "foreign key",
        '"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"',
    ),
    sa.CheckConstraint: ("check constraint", '"ck": "ck_%(table_name)s_%(constraint_name)s"'),
}


def unnamed_constraints(upgrade: ops.UpgradeOps) -> list[str]:
    """A warning for each unique, check or foreign key constraint the upgrade creates
    without a name (no name given, no naming convention for it)."""
    found: list[str] = []
    for _, op in _walk(upgrade):
        if isinstance(op, ops.CreateTableOp):
            for item in op.columns:
                if isinstance(item, sa.Constraint) and _needs_name(item):
                    found.append(_unnamed_message(item, op.table_name, in_new_table=True))
        elif isinstance(op, ops.AddConstraintOp):
            constraint = op.to_constraint()
            if _needs_name(constraint):
                table = getattr(op, "table_name", None) or getattr(op, "source_table", "?")
                found.append(_unnamed_message(constraint, str(table), in_new_table=False))
    return found


def _needs_name(constraint: sa.Constraint) -> bool:
    if not isinstance(constraint, tuple(_CONVENTIONS)):
        return False
    if isinstance(constraint.name, str) and constraint.name:
        return False
    # A CHECK made by a type (Boolean, non-native Enum) is not rendered as such.
    return not getattr(constraint, "_type_bound", False) and not repeats_primary_key(constraint)


def _unnamed_message(constraint: sa.Constraint, table: str, *, in_new_table: bool) -> str:
    kind, convention = next(v for k, v in _CONVENTIONS.items() if isinstance(constraint, k))
    if isinstance(constraint, sa.ForeignKeyConstraint):
        what = f"({', '.join(constraint.column_keys)})"
    elif isinstance(constraint, sa.CheckConstraint):
        what = f"({constraint.sqltext})"
    else:
        what = f"({', '.join(c.name for c in getattr(constraint, 'columns', ()))})"
    when = (
        "the database names it, so the revision that drops or changes it one day renders"
        " drop_constraint(None, ...), which fails at its upgrade or downgrade"
        if in_new_table
        else "this revision fails: in batch mode (render_as_batch, as for SQLite) its upgrade"
        ' stops with "Constraint must have a name", and its downgrade renders'
        " drop_constraint(None, ...), which fails on every database"
    )
    return (
        f"Unnamed {kind} on {table} {what}: the MetaData has no naming convention for it,"
        f" and {when}. Give it a name (name=...), or give the MetaData a naming"
        f" convention, e.g. MetaData(naming_convention={{{convention}, ...}}); then"
        " delete the new revision file and generate it again."
    )


# --- Comparing a database with a schema, noise apart ------------------------------------
#
# doctor, baseline and squash compare a live database with the models, or with the
# schema reflected from a scratch database. The changes are those a revision
# would hold, cleaned as a revision is; the noise is what plain Alembic reports on
# top of them that is known to be no change.

NOISE_KINDS = (
    "index naming",
    "equivalent types",
    "server-default rendering",
    "unique on a primary key",
)


def changes(connection: sa.Connection, metadata: sa.MetaData, settings: Settings) -> list[Any]:
    """The diffs (Alembic's tuples) that autogenerate, with our filters and clean-up,
    finds between the database of ``connection`` and ``metadata``."""
    from alembic.autogenerate import produce_migrations

    options = comparison_options(settings, connection.dialect)
    context = comparison_context(connection, metadata, settings, options)
    script = produce_migrations(context, metadata)
    upgrade, downgrade = script.upgrade_ops_list[-1], script.downgrade_ops_list[-1]
    drop_convention_renames(upgrade, downgrade)
    _prune(upgrade)
    connection.rollback()
    return flatten(upgrade.as_diffs())


def plain_changes(
    connection: sa.Connection, metadata: sa.MetaData, settings: Settings
) -> list[Any]:
    """The diffs plain Alembic reports with the same settings, but none of our
    knowledge of noise (ignored tables stay ignored)."""
    from alembic.autogenerate import compare_metadata

    dialect = connection.dialect
    patterns = settings.ignore_tables

    def include_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        return not (
            type_ == "table"
            and name is not None
            and is_ignored(patterns, obj.schema, name, dialect.default_schema_name)
        )

    options = {
        "compare_type": settings.compare_type,
        "compare_server_default": settings.compare_server_default,
        "include_schemas": settings.include_schemas,
        "include_name": name_filter(settings, dialect, None),
        "include_object": include_object,
    }
    context = comparison_context(connection, metadata, settings, options)
    diffs = compare_metadata(context, metadata)
    connection.rollback()
    return flatten(diffs)


def noise(
    plain: list[Any], real: list[Any], dialect: sa.Dialect, metadata: sa.MetaData
) -> list[tuple[str, Any]]:
    """Each diff of ``plain`` that is not in ``real``, with its kind of noise (one of
    :data:`NOISE_KINDS`); those left out for another reason (a user's filter) are
    not noise and are dropped. ``metadata`` is what the database was compared with."""
    kept = {diff_key(d) for d in real}
    found = []
    for diff in plain:
        if diff_key(diff) in kept:
            continue
        kind = noise_kind(diff, dialect, metadata)
        if kind is not None:
            found.append((kind, diff))
    return found


def noise_kind(diff: Any, dialect: sa.Dialect, metadata: sa.MetaData) -> str | None:
    """Which kind of known noise ``diff`` is, or None."""
    operation = diff[0]
    if operation in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        if _on_primary_key(diff[1], metadata):
            return "unique on a primary key"
        return "index naming" if isinstance(diff[1], sa.Index) else None
    if operation == "modify_type" and equivalent_types(dialect, diff[5], diff[6]):
        return "equivalent types"
    if operation == "modify_default" and equivalent_defaults(
        _default_text(diff[5], dialect), _default_text(diff[6], dialect)
    ):
        return "server-default rendering"
    return None


def _on_primary_key(item: Any, metadata: sa.MetaData) -> bool:
    """:func:`repeats_primary_key`, for the copy of a constraint Alembic reports: its
    table may be a stand-in without the primary key, so the model's table is used."""
    if repeats_primary_key(item):
        return True
    table = getattr(item, "table", None)
    if not isinstance(item, (sa.Index, sa.UniqueConstraint)) or table is None:
        return False
    if isinstance(item, sa.Index) and not item.unique:
        return False
    model = metadata.tables.get(table.fullname)
    key = {c.name for c in model.primary_key.columns} if model is not None else set()
    return bool(key) and {c.name for c in item.columns} == key


def flatten(diffs: Iterable[Any]) -> list[Any]:
    """Alembic's diffs with the per-column lists of ``modify_*`` tuples unpacked."""
    flat: list[Any] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def diff_key(diff: Any) -> tuple[Any, ...]:
    """What identifies a diff: its operation and the names of what it touches."""
    key: list[Any] = []
    for item in diff[:4] if diff[0].startswith("modify_") else diff:
        if item is None or isinstance(item, str):
            key.append(item)
        elif isinstance(item, (sa.Table, sa.Column, sa.Index, sa.Constraint)):
            table = getattr(item, "table", None)
            key.append((type(item).__name__, getattr(table, "name", None), item.name))
    return tuple(key)


def _default_text(default: Any, dialect: sa.Dialect) -> str | None:
    value = getattr(default, "arg", default)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    text = getattr(value, "text", None)
    if isinstance(text, str):
        return text
    try:
        return str(value.compile(dialect=dialect))
    except (AttributeError, sa.exc.SQLAlchemyError):
        return None


def comparison_options(settings: Settings, dialect: sa.Dialect) -> dict[str, Any]:
    """The autogenerate options env.py would use, minus its hooks."""
    options = configure_options(settings, dialect, None, dict(settings.configure_args))
    options.update((k, v) for k, v in settings.configure_args.items() if k not in CHAINED_ARGS)
    return options


def comparison_context(
    connection: sa.Connection, metadata: sa.MetaData, settings: Settings, options: dict[str, Any]
) -> MigrationContext:
    """A migration context on ``connection`` for comparing it with ``metadata``."""
    from alembic.runtime.migration import MigrationContext

    opts = {
        "target_metadata": metadata,
        "version_table": settings.version_table,
        "version_table_schema": settings.version_table_schema,
        **options,
    }
    return MigrationContext.configure(connection, opts=opts)
