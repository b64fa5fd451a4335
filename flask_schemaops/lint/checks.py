"""The checks: what each rule looks for in a script read by :mod:`.analysis`.

Rules about locks, rewrites and the release still running look at ``upgrade()``
only: a downgrade is a deliberate revert whose drops are the point (the
downgrade preview shows what they would destroy). A table created earlier in the
same ``upgrade()`` (in the same schema) holds no rows and no running code uses
it, so it is exempt from the rules about existing tables. A column added earlier
is new to the running code only: dropping or renaming it is fine, but its table
has rows, each holding NULL or its default, so changing its type or making it
NOT NULL is checked as for any column.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from . import analysis
from .analysis import Operation, Script
from .rules import MYSQL
from .sql import Statement

LIBRARIES = frozenset({"alembic", "sqlalchemy", "flask", "flask_sqlalchemy", "flask_schemaops"})

VOLATILE = frozenset(
    {
        "now",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "timeofday",
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuid",
        "uuid_short",
        "newid",
        "newsequentialid",
        "sysdate",
        "getdate",
        "getutcdate",
        "sysdatetime",
        "utc_timestamp",
        "nextval",
    }
)

_NOT_NULL_CHECK = re.compile(r'^\(?\s*["`]?(\w+)["`]?\s+IS\s+NOT\s+NULL\s*\)?$', re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """A rule a script breaks, before suppression and configuration."""

    rule: str
    line: int
    end_line: int
    values: dict[str, str] = field(default_factory=dict)
    severity: str | None = None  # None: the rule's own


def check(
    script: Script,
    dialect: str | None,
    app_modules: frozenset[str],
    conventions: Mapping[str, str] | None = None,
) -> list[Hit]:
    """Every rule that ``script`` breaks for a database of ``dialect`` (None: unknown).
    ``conventions``: the models' naming conventions by key (``fk``, ``uq``, ``ck``)."""
    hits = list(_Changes(script, dialect).run())
    hits += [h for h in _Changes(script, dialect, "downgrade").run() if h.rule in _FAILURES]
    hits += _unnamed(script, dialect, conventions or {})
    hits += _enums(script, dialect)
    hits += _empty_downgrade(script)
    hits += _model_imports(script, app_modules)
    hits += [Hit("SO122", n, n, {"problem": problem}) for n, problem in script.bad_suppressions]
    return sorted(hits, key=lambda h: (h.line, h.rule))


def multiple_heads(folder: str, scripts: list[Script]) -> Hit | None:
    """SO121 for the scripts of one history, at the header of its newest head."""
    known = [s for s in scripts if s.revision is not None and s.down_revisions is not None]
    parents = {p for s in known for p in s.down_revisions or ()}
    heads = sorted((s for s in known if s.revision not in parents), key=lambda s: str(s.path))
    if len(heads) < 2:
        return None
    last = max(heads, key=lambda s: s.path.stat().st_mtime if s.path.exists() else 0)
    return Hit(
        "SO121",
        last.header_line,
        last.header_line,
        {
            "folder": folder,
            "count": str(len(heads)),
            "heads": ", ".join(str(s.revision) for s in heads),
            "_file": str(last.path),
        },
    )


# The rules downgrade() is checked for as well: what makes it fail whatever the data.
# The others, about locks, rewrites and the release still running, look at upgrade().
_FAILURES = frozenset({"SO110"})

# How the databases treat what a script declares (None: a database not known):
# those that give a column an Identity() (the others add a plain column) ...
_IDENTITY = frozenset({"postgresql", "oracle", "mssql", None})
# ... that store a Computed() given no persisted= (PostgreSQL before 18 has no virtual
# generated column) ...
_STORED = frozenset({"postgresql", None})
# ... that skip SET NOT NULL's scan when a validated CHECK (c IS NOT NULL) proves it
# (PostgreSQL 12 and later) ...
_PROVEN_NOT_NULL = frozenset({"postgresql", None})
# ... and that add a CHECK declared on an added column without reading the rows.
_INSTANT_COLUMN_CHECKS = MYSQL

_Table = tuple[str | None, str]  # (schema, name)


class _Changes:
    """The rules about what ``function`` does to existing tables."""

    def __init__(self, script: Script, dialect: str | None, function: str = "upgrade"):
        self.script = script
        self.dialect = dialect
        self.operations = script.operations_in(function, dialect)
        self.created: set[_Table] = set()
        self.indexes: set[str] = set()
        self.added: set[tuple[str | None, str, str]] = set()  # (schema, table, column)
        self.not_null: set[tuple[str | None, str, str]] = set()  # proven by a valid check
        self.not_valid: dict[tuple[str | None, str, str], str] = {}  # such a check by name
        self.foreign_key_checks = True  # MySQL's session setting
        self.views = {
            s.name
            for o in self.operations
            if o.kind == "execute"
            for s in analysis.statements(script, o, dialect) or ()
            if s.kind == "create_view" and s.name
        }

    def existing(self, table: str | None, schema: str | None) -> bool:
        """Whether the table may hold rows: it was not created in this function."""
        return table is None or (schema, table) not in self.created

    def in_use(self, table: str | None, schema: str | None, column: str | None) -> bool:
        """Whether the running release may use the column: one of an existing table
        that this function did not add."""
        added = (schema, table or "?", column or "?") in self.added
        return self.existing(table, schema) and not added

    def honoured(self, arguments: Mapping[str, ast.expr], keyword: str) -> bool:
        """Whether ``keyword`` is given true and the database honours it: one meant for
        a kind of database (``postgresql_not_valid``) counts on that kind only, or when
        the database is not known."""
        value = arguments.get(keyword)
        kind = keyword.partition("_")[0]
        ignored = kind in analysis.DIALECTS and self.dialect not in (kind, None)
        return isinstance(value, ast.Constant) and bool(value.value) and not ignored

    def run(self) -> Iterator[Hit]:
        for operation in self.operations:
            method = getattr(self, f"_{operation.kind}", None)
            if method is not None:
                yield from method(operation)

    def hit(
        self, rule: str, operation: Operation, severity: str | None = None, **values: str | None
    ) -> Hit:
        known = {key: value for key, value in values.items() if value is not None}
        return Hit(rule, operation.line, operation.end_line, known, severity)

    def text(self, operation: Operation, name: str) -> str | None:
        return self.script.string(operation.keyword(name))

    def named(self, kind: str, operation: Operation, name: str) -> str:
        """``kind`` and the name the operation gives it, on its table (see :func:`_named`)."""
        node = operation.keyword(name)
        unnamed = node is None or (isinstance(node, ast.Constant) and node.value is None)
        return _named(kind, self.script.string(node), operation.table, unnamed=unnamed)

    # -- op.* operations ---------------------------------------------------------------

    def _create_table(self, o: Operation) -> Iterator[Hit]:
        if o.table:
            self.created.add((o.schema, o.table))
        return iter(())

    def _batch_alter_table(self, o: Operation) -> Iterator[Hit]:
        if self.text(o, "recreate") == "always" and self.existing(o.table, o.schema):
            yield self.hit("SO124", o, what=_named("Table", o.table))

    def _add_column(self, o: Operation) -> Iterator[Hit]:
        column = analysis.column(self.script, o.keyword("column"))
        if column is None:
            return
        if self.existing(o.table, o.schema):
            yield from self._new_column(o, column)
        self.added.add((o.schema, o.table or "?", column.name or "?"))

    def _new_column(self, o: Operation, column: analysis.Column) -> Iterator[Hit]:
        """What adding ``column`` to an existing table does to its rows."""
        what = _column(o.table, column.name)
        identity = column.identity if self.dialect in _IDENTITY else None
        if column.computed is not None and self.stored(column.computed):
            default = f"the stored generated value {ast.unparse(column.computed)}"
        elif identity is not None:
            default = f"the identity {ast.unparse(identity)}"
        elif column.server_default is not None and _volatile(self.script, column.server_default):
            default = f"the server default {ast.unparse(column.server_default)}"
        else:
            default = None
        filled = any(x is not None for x in (column.computed, identity, column.server_default))
        if not column.nullable and not filled:
            yield self.hit("SO101", o, what=what)
        if default is not None:
            yield self.hit("SO102", o, what=what, default=default)
        # What is declared on the column, Alembic adds after it: each the usual way.
        on = f"{o.table}.{column.name}" if o.table and column.name else o.table
        for key in column.foreign_keys:
            options = {k.arg: k.value for k in key.keywords if k.arg}
            name = self.script.string(options.get("name"))
            what = _named("Foreign key", name, on, unnamed=True)
            not_valid = self.honoured(options, "postgresql_not_valid")
            yield from self._foreign_key(o, o.table, o.schema, name, what, not_valid)
        if column.index:
            yield from self._index(o, _named("Index", None, on), o.table, o.schema)
        elif column.unique:
            what = _named("Unique constraint", None, on, unnamed=True)
            yield self.hit("SO114", o, what=what, table=o.table)
        for check in column.checks:
            yield from self._column_check(o, check, on)

    def stored(self, computed: ast.Call) -> bool:
        persisted = next((k.value for k in computed.keywords if k.arg == "persisted"), None)
        if isinstance(persisted, ast.Constant) and persisted.value is not None:
            return bool(persisted.value)
        return self.dialect in _STORED

    def _column_check(self, o: Operation, check: ast.Call, on: str | None) -> Iterator[Hit]:
        if self.dialect in _INSTANT_COLUMN_CHECKS:
            return
        name = self.script.string(next((k.value for k in check.keywords if k.arg == "name"), None))
        what = _named("Check constraint", name, on, unnamed=True)
        yield self.hit("SO113", o, what=what, constraint=name, table=o.table)

    def _drop_column(self, o: Operation) -> Iterator[Hit]:
        column = self.text(o, "column_name")
        if self.in_use(o.table, o.schema, column):
            yield self.hit("SO103", o, what=_column(o.table, column))

    def _drop_table(self, o: Operation) -> Iterator[Hit]:
        if self.existing(o.table, o.schema):
            yield self.hit("SO104", o, what=_named("Table", _qualified(o.table, o.schema)))

    def _rename_table(self, o: Operation) -> Iterator[Hit]:
        new = self.text(o, "new_table_name")
        if self.existing(o.table, o.schema):
            if o.table not in self.views:
                yield self.hit("SO106", o, what=_named("Table", o.table), table=o.table, new=new)
        elif new:
            self.created.add((o.schema, new))

    def _alter_column(self, o: Operation) -> Iterator[Hit]:
        column = self.text(o, "column_name")
        if not self.existing(o.table, o.schema):
            return
        what = _column(o.table, column)
        new_name = self.script.string(o.keyword("new_column_name"))
        if new_name and self.in_use(o.table, o.schema, column):
            yield self.hit("SO105", o, what=what, column=column, new=new_name)
        new_type = o.keyword("type_")
        old = o.keyword("existing_type")
        if new_type is not None and not _widening(old, new_type, self.dialect):
            change = (
                f" from {analysis.type_source(old)} to {analysis.type_source(new_type)}"
                if old is not None
                else f" to {analysis.type_source(new_type)} (the old type is not given)"
            )
            yield self.hit("SO107", o, what=what, change=change)
        nullable = o.keyword("nullable")
        existing = o.keyword("existing_nullable")
        if (
            isinstance(nullable, ast.Constant)
            and nullable.value is False
            and not (isinstance(existing, ast.Constant) and existing.value is False)
        ):
            yield from self._set_not_null(o, o.table, o.schema, column)

    def _set_not_null(
        self, o: Operation, table: str | None, schema: str | None, column: str | None
    ) -> Iterator[Hit]:
        proven = (schema, table or "?", column or "?") in self.not_null
        if not (proven and self.dialect in _PROVEN_NOT_NULL):
            yield self.hit("SO108", o, what=_column(table, column), column=column)

    def _create_index(self, o: Operation) -> Iterator[Hit]:
        name = self.text(o, "index_name")
        if name:
            self.indexes.add(name)
        if self.honoured(o.arguments, "postgresql_concurrently"):
            if not o.autocommit:
                yield self.hit("SO110", o, what=_call("create_index", name))
        else:
            what = self.named("Index", o, "index_name")
            yield from self._index(o, what, o.table, o.schema)

    def _index(
        self, o: Operation, what: str, table: str | None, schema: str | None
    ) -> Iterator[Hit]:
        """SO109 for an index built without CONCURRENTLY on an existing table."""
        if self.existing(table, schema):
            yield self.hit("SO109", o, what=what, table=table)

    def _drop_index(self, o: Operation) -> Iterator[Hit]:
        name = self.text(o, "index_name")
        if self.honoured(o.arguments, "postgresql_concurrently"):
            if not o.autocommit:
                yield self.hit("SO110", o, what=_call("drop_index", name))
        elif self.existing(o.table, o.schema) and name not in self.indexes:
            yield self.hit("SO111", o, what=self.named("Index", o, "index_name"), table=o.table)

    def _create_foreign_key(self, o: Operation) -> Iterator[Hit]:
        what = self.named("Foreign key", o, "constraint_name")
        name = self.text(o, "constraint_name")
        not_valid = self.honoured(o.arguments, "postgresql_not_valid")
        yield from self._foreign_key(o, o.table, o.schema, name, what, not_valid)

    def _foreign_key(
        self,
        o: Operation,
        table: str | None,
        schema: str | None,
        name: str | None,
        what: str,
        not_valid: bool,
    ) -> Iterator[Hit]:
        """SO112 for a foreign key added to an existing table, unless the database
        skips checking its rows: NOT VALID (PostgreSQL), foreign_key_checks off (MySQL)."""
        if not_valid or not self.existing(table, schema):
            return
        if self.dialect in MYSQL and not self.foreign_key_checks:
            return
        yield self.hit("SO112", o, what=what, constraint=name, table=table)

    def _create_check_constraint(self, o: Operation) -> Iterator[Hit]:
        name = self.text(o, "constraint_name")
        condition = self.script.string(o.keyword("condition")) or ""
        not_valid = self.honoured(o.arguments, "postgresql_not_valid")
        self._check(o.table, o.schema, name, condition, not_valid)
        if self.existing(o.table, o.schema) and not not_valid:
            yield self.hit(
                "SO113",
                o,
                what=self.named("Check constraint", o, "constraint_name"),
                constraint=name,
                table=o.table,
            )

    def _check(
        self,
        table: str | None,
        schema: str | None,
        name: str | None,
        condition: str,
        not_valid: bool,
    ) -> None:
        """Remember a CHECK (c IS NOT NULL): it proves the column has no NULL once it is
        valid (added without NOT VALID, or validated since)."""
        match = _NOT_NULL_CHECK.match(condition.strip())
        if not match:
            return
        column = (schema, table or "?", match.group(1))
        if not not_valid:
            self.not_null.add(column)
        elif name:
            self.not_valid[(schema, table or "?", name)] = match.group(1)

    def _create_unique_constraint(self, o: Operation) -> Iterator[Hit]:
        if self.existing(o.table, o.schema):
            yield self.hit(
                "SO114",
                o,
                what=self.named("Unique constraint", o, "constraint_name"),
                constraint=self.text(o, "constraint_name"),
                table=o.table,
            )

    # -- Raw SQL -----------------------------------------------------------------------

    def _execute(self, o: Operation) -> Iterator[Hit]:
        argument = o.keyword("sqltext")
        found = analysis.statements(self.script, o, self.dialect)
        if found is None:
            kind = analysis.expression_kind(argument)
            if kind in ("update", "delete"):
                verb = "rewrites" if kind == "update" else "deletes"
                detail = (
                    f"`{_short(argument)}` has no WHERE: it {verb} every row in one transaction."
                )
                yield self.hit("SO119", o, "warning", detail=detail)
            elif kind is None:
                detail = (
                    f"`{_short(argument)}` is built when the script runs, so the linter cannot"
                    " read it: review what it locks and what the running release expects."
                )
                yield self.hit("SO119", o, detail=detail)
            return
        for statement in found:
            yield from self._statement(o, statement)

    def _statement(self, o: Operation, s: Statement) -> Iterator[Hit]:
        table, schema, kind = s.table, s.schema, s.kind
        existing = self.existing(table, schema)
        # s.name is None only where the SQL gives no name (the database makes one up).
        if kind == "create_table":
            self.created.add((schema, table or "?"))
        elif kind == "create_index":
            if s.name:
                self.indexes.add(s.name)
            if s.concurrently and not o.autocommit:
                yield self.hit("SO110", o, what="CREATE INDEX CONCURRENTLY")
            elif not s.concurrently:
                yield from self._index(
                    o, _named("Index", s.name, table, unnamed=True), table, schema
                )
        elif kind == "drop_index":
            if s.concurrently and not o.autocommit:
                yield self.hit("SO110", o, what="DROP INDEX CONCURRENTLY")
            elif not s.concurrently and s.name not in self.indexes and existing:
                yield self.hit("SO111", o, what=_named("Index", s.name, table), table=table)
        elif kind == "add_column" and existing:
            what = _column(table, s.column)
            if s.generated is not None:
                yield self.hit("SO102", o, what=what, default=s.generated)
            elif s.not_null and s.default is None:
                yield self.hit("SO101", o, what=what)
            elif s.default is not None and _volatile_text(s.default):
                yield self.hit("SO102", o, what=what, default=f"the server default {s.default}")
            self.added.add((schema, table or "?", s.column or "?"))
        elif kind == "drop_column" and self.in_use(table, schema, s.column):
            yield self.hit("SO103", o, what=_column(table, s.column))
        elif kind == "drop_table" and existing:
            yield self.hit("SO104", o, what=_named("Table", _qualified(table, schema)))
        elif kind == "rename_column" and self.in_use(table, schema, s.column):
            yield self.hit("SO105", o, what=_column(table, s.column), column=s.column, new=s.name)
        elif kind == "rename_table" and existing and table not in self.views:
            yield self.hit("SO106", o, what=_named("Table", table), table=table, new=s.name)
        elif kind == "column_type" and existing:
            yield self.hit("SO107", o, what=_column(table, s.column), change=" (raw SQL)")
        elif kind == "set_not_null" and existing:
            yield from self._set_not_null(o, table, schema, s.column)
        elif kind == "add_foreign_key":
            on = f"{table}.{s.column}" if table and s.column else table
            what = _named("Foreign key", s.name, on, unnamed=True)
            yield from self._foreign_key(o, table, schema, s.name, what, s.not_valid)
        elif kind == "add_check" and s.column is not None and existing:
            if self.dialect not in _INSTANT_COLUMN_CHECKS:
                what = _named("Check constraint", s.name, f"{table}.{s.column}", unnamed=True)
                yield self.hit("SO113", o, what=what, constraint=s.name, table=table)
        elif kind == "add_check":
            match = re.search(r"CHECK\s*\((.*)\)", s.text, re.IGNORECASE)
            self._check(table, schema, s.name, match.group(1) if match else "", s.not_valid)
            if not s.not_valid and existing:
                what = _named("Check constraint", s.name, table, unnamed=True)
                yield self.hit("SO113", o, what=what, constraint=s.name, table=table)
        elif kind == "validate_constraint":
            column = self.not_valid.pop((schema, table or "?", s.name or "?"), None)
            if column is not None:
                self.not_null.add((schema, table or "?", column))
        elif kind == "foreign_key_checks":
            self.foreign_key_checks = s.name == "on"
        elif kind == "add_unique" and existing:
            on = f"{table}.{s.column}" if table and s.column else table
            what = _named("Unique constraint", s.name, on, unnamed=True)
            yield self.hit("SO114", o, what=what, constraint=s.name, table=table)
        elif kind == "enum_add_value" and not o.autocommit:
            yield self.hit("SO116", o, enum=s.name)
        elif kind == "danger":
            detail = f"`{_shorten(s.text)}`: {s.detail}."
            yield self.hit("SO119", o, "warning", detail=detail)
        elif kind == "unknown":
            detail = (
                f"`{_shorten(s.text)}` is not checked by the linter: review what it locks and"
                " what the running release expects."
            )
            yield self.hit("SO119", o, detail=detail)


# The operations that add a constraint: (what it is, its naming_convention key).
_CONSTRAINTS = {
    "create_foreign_key": ("Foreign key", "fk"),
    "create_unique_constraint": ("Unique constraint", "uq"),
    "create_check_constraint": ("Check constraint", "ck"),
}


def _unnamed(script: Script, dialect: str | None, conventions: Mapping[str, str]) -> Iterator[Hit]:
    """SO117 for each constraint dropped without a name, SO123 for each one added
    without a name that no naming convention gives it."""
    for function in ("upgrade", "downgrade"):
        for o in script.operations_in(function, dialect):
            name = o.keyword("constraint_name")
            if not (isinstance(name, ast.Constant) and name.value is None):
                continue
            if o.kind == "drop_constraint":
                what = f"drop_constraint(None, {o.table!r})" if o.table else "drop_constraint(None)"
                yield Hit("SO117", o.line, o.end_line, {"what": what, "function": function})
            elif o.kind in _CONSTRAINTS:
                hit = _unnamed_constraint(script, o, dialect, conventions)
                if hit is not None:
                    yield hit


def _unnamed_constraint(
    script: Script, o: Operation, dialect: str | None, conventions: Mapping[str, str]
) -> Hit | None:
    kind, key = _CONSTRAINTS[o.kind]
    pattern = conventions.get(key)
    own_name = pattern is not None and "%(constraint_name)" in pattern
    if pattern is not None and not own_name:
        return None  # the convention names it when the operation runs
    severity: str | None = "error"
    convention = (
        f', or give the models\' MetaData a naming_convention with a "{key}" entry,'
        " which names it when it runs"
    )
    if own_name:
        consequence = (
            f"the MetaData's naming convention for it ({pattern}) takes the constraint's"
            " own name, so the operation fails on every database."
        )
        convention = ""
    elif dialect == "sqlite":
        consequence = (
            "SQLite adds a constraint only in batch mode, which refuses one without a name"
            ' ("Constraint must have a name"), so the revision fails.'
        )
    else:
        severity = None
        consequence = (
            "the database makes one up, each kind of database its own, so no revision can"
            " drop it by a name that holds everywhere (autogenerate writes"
            " drop_constraint(None, ...), which fails)."
        )
        if o.batch and dialect is None:
            consequence += " On SQLite, batch mode refuses it outright."
    values = {
        "what": _named(kind, None, o.table),
        "function": o.function,
        "consequence": consequence,
        # SQLite adds constraints in batch mode only.
        "call": f"{'batch_op' if o.batch or dialect == 'sqlite' else 'op'}.{o.kind}",
        "convention": convention,
    }
    example = _constraint_name(script, o, key)
    if example is not None:
        values["example"] = example
    return Hit("SO123", o.line, o.end_line, values, severity)


def _constraint_name(script: Script, o: Operation, key: str) -> str | None:
    """The name the usual naming convention would give the constraint ``o`` adds."""
    if o.kind == "create_check_constraint":
        condition = script.string(o.keyword("condition")) or ""
        words = re.findall(r"[A-Za-z_]\w*", condition)
        first = words[0] if words else None
    else:
        columns = o.keyword("local_cols" if key == "fk" else "columns")
        elements = columns.elts if isinstance(columns, (ast.List, ast.Tuple)) else []
        first = script.string(elements[0]) if elements else None
    parts = [key, o.table, first]
    if key == "fk":
        parts.append(script.string(o.keyword("referent_table")))
    known = [part for part in parts if part]
    return "_".join(known) if len(known) == len(parts) else None


def _enums(script: Script, dialect: str | None) -> Iterator[Hit]:
    if dialect != "postgresql" or _irreversible(script):
        return
    created: dict[str, Operation] = {}
    for o in script.operations_in("upgrade", dialect):
        for name in _enums_created(script, o, dialect):
            created.setdefault(name, o)
    dropped: set[str] = set()
    for o in script.operations_in("downgrade", dialect):
        if o.kind == "enum_drop":
            dropped.add(_enum_name(script, o.keyword("enum")) or "?")
        elif o.kind == "execute":
            dropped |= {
                s.name or "?"
                for s in analysis.statements(script, o, dialect) or ()
                if s.kind == "drop_type"
            }
    for name, o in created.items():
        if name not in dropped:
            yield Hit("SO115", o.line, o.end_line, {"enum": name})


def _enums_created(script: Script, o: Operation, dialect: str | None) -> Iterator[str]:
    if o.kind == "enum_create":
        name = _enum_name(script, o.keyword("enum"))
        if name:
            yield name
    elif o.kind == "execute":
        for s in analysis.statements(script, o, dialect) or ():
            if s.kind == "create_enum" and s.name:
                yield s.name
    elif o.kind == "create_table":
        for key, value in o.arguments.items():
            if not key.startswith("*"):
                continue
            for node in ast.walk(value):
                enum = script.enum_call(node) if isinstance(node, (ast.Call, ast.Name)) else None
                if enum is None:
                    continue
                options = {k.arg: k.value for k in enum.keywords if k.arg}
                if any(
                    isinstance(options.get(k), ast.Constant) and options[k].value is False  # type: ignore[attr-defined]
                    for k in ("create_type", "native_enum")
                ):
                    continue
                name = script.string(options.get("name"))
                if name:
                    yield name


def _enum_name(script: Script, node: ast.expr | None) -> str | None:
    enum = script.enum_call(node) if node is not None else None
    if enum is None:
        return None
    return script.string(next((k.value for k in enum.keywords if k.arg == "name"), None))


_SCHEMA_KINDS = frozenset(
    {
        "add_column",
        "drop_column",
        "alter_column",
        "create_table",
        "drop_table",
        "rename_table",
        "create_index",
        "drop_index",
        "create_foreign_key",
        "create_check_constraint",
        "create_unique_constraint",
        "drop_constraint",
        "enum_create",
    }
)


def _empty_downgrade(script: Script) -> Iterator[Hit]:
    changes = any(
        o.kind in _SCHEMA_KINDS
        or (o.kind == "execute" and any(s.ddl for s in analysis.statements(script, o, None) or ()))
        for o in script.operations_in("upgrade", None)
    )
    if not changes:
        return
    function = script.functions.get("downgrade")
    if function is None:
        line = script.header_line
    elif all(_does_nothing(s) for s in function.body):
        line = function.lineno
    else:
        return
    yield Hit("SO118", line, line)


def _does_nothing(statement: ast.stmt) -> bool:
    """``pass``, a docstring, or a bare ``return``."""
    return (
        isinstance(statement, ast.Pass)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        or (isinstance(statement, ast.Return) and statement.value is None)
    )


def _irreversible(script: Script) -> bool:
    """Whether ``downgrade()`` always raises (the revision says it cannot be reverted)."""
    function = script.functions.get("downgrade")
    return function is not None and any(isinstance(s, ast.Raise) for s in function.body)


def _model_imports(script: Script, app_modules: frozenset[str]) -> Iterator[Hit]:
    seen: set[int] = set()
    for module, line in script.imports:
        top = module.split(".")[0]
        if line in seen or top in LIBRARIES or analysis.module_is_stdlib(module):
            continue
        if top in app_modules or "models" in module.split("."):
            seen.add(line)
            yield Hit("SO120", line, line, {"module": module})


# What a message calls the thing it is about, when the script names it or not.


def _qualified(table: str | None, schema: str | None) -> str | None:
    """``billing.invoice`` for a table the script names with its schema."""
    return f"{schema}.{table}" if table and schema else table


def _column(table: str | None, column: str | None) -> str:
    """``spans.arn``; ``Column arn``, ``A column of spans`` or ``A column`` when a part
    is not known."""
    if table and column:
        return f"{table}.{column}"
    if column:
        return f"Column {column}"
    return f"A column of {table}" if table else "A column"


def _named(kind: str, name: str | None, table: str | None = None, *, unnamed: bool = False) -> str:
    """``Index ix_a on spans``; without a name ``An index on spans``, or ``An unnamed
    index on spans`` when the script gives none."""
    on = f" on {table}" if table else ""
    if name:
        return f"{kind} {name}{on}"
    words = f"unnamed {kind.lower()}" if unnamed else kind.lower()
    vowel = words[0] in "aeiou" and not words.startswith("uni")
    return f"{'An' if vowel else 'A'} {words}{on}"


def _call(function: str, name: str | None) -> str:
    return f"{function}({name!r})" if name else f"{function}()"


def _widening(old: ast.expr | None, new: ast.expr, dialect: str | None) -> bool:
    """Whether changing type ``old`` to ``new`` is a widening the database does without
    rewriting the table."""
    if old is not None and ast.dump(old) == ast.dump(new):
        return True
    before, after = analysis.type_shape(old), analysis.type_shape(new)
    if before is None or after is None:
        return False
    if dialect in MYSQL:  # no NUMERIC change is in place there
        return before.kind == after.kind == "varchar" and _mysql_in_place(
            before.size, after.size, dialect
        )
    if before.kind == "varchar" and after.kind in ("varchar", "text"):
        if after.kind == "text" or after.size is None:
            return True
        return before.size is not None and after.size > before.size
    if before.kind == after.kind == "numeric":
        # PostgreSQL keeps the values of a NUMERIC whose scale stays and whose
        # precision grows or goes.
        if after.size is None:
            return True
        return (
            before.size is not None
            and after.size >= before.size
            and (before.scale or 0) == (after.scale or 0)
        )
    return False


def _mysql_in_place(old: int | None, new: int | None, dialect: str) -> bool:
    """Whether MySQL or MariaDB lengthens VARCHAR(old) to VARCHAR(new) in place (None:
    no length, or TEXT, which always copies the table).

    A VARCHAR keeps its length in one byte up to 255 bytes, in two beyond, and a change
    of that size copies the table. Lengths count characters: at 4 bytes a character
    (utf8mb4), VARCHAR(63) is the longest with one length byte. MariaDB also keeps
    one for a VARCHAR under 128 bytes, whatever it grows to.
    """
    if old is None or new is None or new <= old:
        return False
    old_bytes, new_bytes = old * 4, new * 4
    return (old_bytes <= 255) == (new_bytes <= 255) or (dialect == "mariadb" and old_bytes < 128)


def _volatile(script: Script, node: ast.expr) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if (isinstance(owner, ast.Attribute) and owner.attr == "func") or (
            isinstance(owner, ast.Name) and owner.id == "func"
        ):
            return node.func.attr.lower() in VOLATILE
    if isinstance(node, ast.Call) and analysis.callee(node) in ("text", "literal_column"):
        text = script.string(node)
        return text is not None and _volatile_text(text)
    return False


def _volatile_text(text: str) -> bool:
    names = {n.lower() for n in re.findall(r"([A-Za-z_][\w]*)\s*\(", text)}
    names |= {
        w.lower()
        for w in re.findall(r"\b[A-Za-z_]+\b", text)
        if w.upper() in ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIMESTAMP")
    }
    return bool(names & VOLATILE)


def _short(node: ast.expr | None) -> str:
    return _shorten(ast.unparse(node)) if node is not None else "?"


def _shorten(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
