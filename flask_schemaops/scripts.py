"""What a revision script's ``upgrade()`` does, read with ``ast`` without importing it.

Two questions are answered this way: which tables, columns and indexes a
revision creates (``doctor`` looks for them in a database that says the revision
has not run), and which statements move data or run SQL that a schema
comparison cannot see (``squash`` would lose them). Only literal names are
understood; anything computed is skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def ids(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A script's ``down_revision`` or ``depends_on`` as a tuple of ids."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Created:
    """A table, column or index a revision creates."""

    kind: str  # "table", "column" or "index"
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
        return f"index {self.name} on {table}"


@dataclass(frozen=True)
class Statement:
    """A call in ``upgrade()`` that runs SQL or touches data."""

    line: int
    code: str


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
    """The tables, columns and indexes ``upgrade()`` of the script at ``path``
    creates (``op.create_table``, ``op.add_column``, ``op.create_index``, also in
    batch mode), in the order they appear."""
    function, _ = _upgrade(path)
    if function is None:
        return []
    batches = _batches(function)
    found: list[Created] = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        name, receiver = _attribute(node), _receiver(node)
        if receiver is None or name not in ("create_table", "add_column", "create_index"):
            continue
        batch = batches.get(receiver)
        if receiver != "op" and batch is None:
            continue
        schema = _literal(_argument(node, None, "schema")) or (batch[1] if batch else None)
        line = node.lineno
        if name == "create_table" and batch is None:
            table = _literal(_argument(node, 0, "table_name"))
            if table is not None:
                found.append(Created("table", table, table, schema, line))
        elif name == "add_column":
            table = batch[0] if batch else _literal(_argument(node, 0, "table_name"))
            column = _argument(node, 0 if batch else 1, "column")
            column_name = (
                _literal(column.args[0]) if isinstance(column, ast.Call) and column.args else None
            )
            if table is not None and column_name is not None:
                found.append(Created("column", table, column_name, schema, line))
        elif name == "create_index":
            index = _literal(_argument(node, 0, "index_name"))
            table = batch[0] if batch else _literal(_argument(node, 1, "table_name"))
            if index is not None and table is not None:
                found.append(Created("index", table, index, schema, line))
    return sorted(found, key=lambda c: c.line)


_SQL_CALLS = {"execute", "bulk_insert", "get_bind"}


def statements(path: str | Path) -> list[Statement]:
    """The calls in ``upgrade()`` that run SQL or move data: ``op.execute``,
    ``op.bulk_insert``, and ``op.get_bind()`` (a connection to run anything on),
    except where it only hands the connection to a type's ``create``/``drop``."""
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
            and _attribute(node) in _SQL_CALLS
            and (_receiver(node) == "op" or _receiver(node) in batches)
            and id(node) not in handed_to_types
        ):
            code = ast.get_source_segment(source, node) or "op." + str(_attribute(node))
            flat = " ".join(code.split())
            found.append(Statement(node.lineno, flat if len(flat) <= 80 else flat[:79] + "…"))
    return sorted(found, key=lambda s: s.line)
