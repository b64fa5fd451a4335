"""What a revision script's ``upgrade()`` does, read with ``ast`` without importing it.

Three questions are answered this way: which tables, columns, indexes and named
constraints a revision creates (``doctor`` looks for them in a database that says
the revision has not run), which statements move data or run SQL that a schema comparison
cannot see (``squash`` would lose them), and which operations it runs at all
(``baseline`` cannot tell from a schema whether those of a revision that changes
no schema ran). Only literal names are understood; anything computed is skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


def ids(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A script's ``down_revision`` or ``depends_on`` as a tuple of ids."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


CONSTRAINTS = ("unique constraint", "foreign key", "check constraint")


@dataclass(frozen=True)
class Created:
    """A table, column, index or named constraint a revision creates."""

    kind: str  # "table", "column", "index", or one of CONSTRAINTS
    table: str
    name: str  # the table's name again for a table
    schema: str | None
    line: int

    @property
    def label(self) -> str:
        table = f"{self.schema}.{self.table}" if self.schema else self.table
        if self.kind == "table":
            return f"table {table}"
        if self.kind == "column":
            return f"column {table}.{self.name}"
        return f"{self.kind} {self.name} on {table}"

    @property
    def holds_data(self) -> bool:
        """Whether dropping it can lose data (a table or column), not only rules."""
        return self.kind in ("table", "column")


@dataclass(frozen=True)
class Statement:
    """A call in ``upgrade()``: an operation, or one that runs SQL or touches data."""

    line: int
    code: str
    call: str = ""  # the operation's name, e.g. "execute"


def _upgrade(path: str | Path) -> tuple[ast.FunctionDef | None, str]:
    try:
        source = Path(path).read_text(encoding="utf-8")
        tree = ast.parse(source, str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None, ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "upgrade":
            return node, source
    return None, source


def _literal(node: ast.expr | None) -> str | None:
    """A string literal, also inside ``op.f("...")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _attribute(node) == "f" and node.args:
        return _literal(node.args[0])
    return None


def _attribute(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _receiver(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return None


def _argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    """The argument given by ``keyword``, or at ``position`` (None: keyword only)."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if position is None or len(call.args) <= position:
        return None
    return call.args[position]


def _batches(function: ast.FunctionDef) -> dict[str, tuple[str, str | None]]:
    """``with op.batch_alter_table("t") as batch_op:``: alias → (table, schema)."""
    found: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(function):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and _attribute(call) == "batch_alter_table"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    table = _literal(_argument(call, 0, "table_name"))
                    if table is not None:
                        schema = _literal(_argument(call, 1, "schema"))
                        found[item.optional_vars.id] = (table, schema)
    return found


def created(path: str | Path) -> list[Created]:
    """The tables, columns, indexes and named constraints (unique, foreign key, check)
    ``upgrade()`` of the script at ``path`` creates (``op.create_table``,
    ``op.add_column``, ``op.create_index``, ``op.create_unique_constraint``, ...,
    also in batch mode), in the order they appear. One it drops first (or whose table
    it drops first), as when an index is made unique, is left out: it exists before
    the revision runs."""
    function, _ = _upgrade(path)
    if function is None:
        return []
    batches = _batches(function)
    found: list[Created] = []
    dropped: list[Created] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and _attribute(node) in _KINDS:
            item = _object(node, batches)
            if item is not None:
                (found if _attribute(node) in _CREATES else dropped).append(item)
    kept = [c for c in found if c.table and not any(_replaces(d, c) for d in dropped)]
    return sorted(kept, key=lambda c: c.line)


_CREATES = {
    "create_table": "table",
    "add_column": "column",
    "create_index": "index",
    "create_unique_constraint": "unique constraint",
    "create_foreign_key": "foreign key",
    "create_check_constraint": "check constraint",
}
_KINDS = {
    **_CREATES,
    "drop_table": "table",
    "drop_column": "column",
    "drop_index": "index",
    "drop_constraint": "constraint",
}


def _object(call: ast.Call, batches: dict[str, tuple[str, str | None]]) -> Created | None:
    """What ``call`` (an ``op.`` or batch operation of :data:`_KINDS`) creates or drops;
    None when it names it only as it runs. The table of a dropped index may be ``""``."""
    name, receiver = _attribute(call), _receiver(call)
    batch = batches.get(receiver) if receiver is not None else None
    if receiver != "op" and batch is None:
        return None
    kind = _KINDS[str(name)]
    foreign = kind == "foreign key"
    schema_keyword = "source_schema" if foreign else "schema"
    schema = _literal(_argument(call, None, schema_keyword)) or (batch[1] if batch else None)
    table: str | None
    if kind == "table":
        table = None if batch else _literal(_argument(call, 0, "table_name"))
        item = table
    elif kind == "column":
        table = batch[0] if batch else _literal(_argument(call, 0, "table_name"))
        column = _argument(call, 0 if batch else 1, "column" if name in _CREATES else "column_name")
        if isinstance(column, ast.Call):  # sa.Column("name", ...)
            column = column.args[0] if column.args else None
        item = _literal(column)
    elif kind == "index":
        table = batch[0] if batch else _literal(_argument(call, 1, "table_name")) or ""
        item = _literal(_argument(call, 0, "index_name"))
    else:
        table_keyword = "source_table" if foreign else "table_name"
        table = batch[0] if batch else _literal(_argument(call, 1, table_keyword)) or ""
        item = _literal(_argument(call, 0, "constraint_name"))
    if table is None or item is None:
        return None
    return Created(kind, table, item, schema, call.lineno)


def _replaces(drop: Created, item: Created) -> bool:
    """Whether ``drop`` comes before ``item`` and drops it, or the table it is on."""
    if drop.line > item.line or drop.schema != item.schema:
        return False
    if drop.kind == "table":
        return drop.table == item.table
    if drop.kind in ("index", "constraint"):  # MySQL keeps unique constraints as indexes
        return (
            item.kind in ("index", *CONSTRAINTS)
            and drop.name == item.name
            and drop.table in ("", item.table)
        )
    return (drop.kind, drop.table, drop.name) == (item.kind, item.table, item.name)


_SQL_CALLS = {"execute", "bulk_insert", "get_bind"}
_NOT_WORK = {"f", "batch_alter_table", "inline_literal", "get_context"}


def statements(path: str | Path) -> list[Statement]:
    """The calls in ``upgrade()`` that run SQL or move data: ``op.execute``,
    ``op.bulk_insert``, and ``op.get_bind()`` (a connection to run anything on),
    except where it only hands the connection to a type's ``create``/``drop``."""
    return _calls(path, lambda name: name in _SQL_CALLS)


def operations(path: str | Path) -> list[Statement]:
    """Every operation ``upgrade()`` runs: its ``op.*`` and batch calls, the
    :func:`statements` among them."""
    return _calls(path, lambda name: name not in _NOT_WORK)


def _calls(path: str | Path, wanted: Callable[[str], bool]) -> list[Statement]:
    function, source = _upgrade(path)
    if function is None:
        return []
    batches = _batches(function)
    handed_to_types = {
        id(argument)
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and _attribute(node) in ("create", "drop")
        for argument in node.args[:1]
    }
    found = []
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and wanted(str(_attribute(node)))
            and (_receiver(node) == "op" or _receiver(node) in batches)
            and id(node) not in handed_to_types
        ):
            code = ast.get_source_segment(source, node) or "op." + str(_attribute(node))
            flat = " ".join(code.split())
            shown = flat if len(flat) <= 80 else flat[:79] + "…"
            found.append(Statement(node.lineno, shown, str(_attribute(node))))
    return sorted(found, key=lambda s: s.line)
