"""A comparable picture of a database schema, and the differences between two."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

Schema = dict[str, Any]


def snapshot(connection: sa.Connection, skip: Callable[[str], bool] = lambda name: False) -> Schema:
    """The tables (columns, keys, indexes, constraints), views, sequences and enum
    types of the connection's default schema; tables for which ``skip(name)`` is
    true are left out."""
    inspector = sa.inspect(connection)
    dialect = connection.dialect
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if skip(table):
            continue
        columns = {
            c["name"]: {
                "type": _type(c["type"], dialect),
                "nullable": c["nullable"],
                "default": str(c.get("default")),
            }
            for c in inspector.get_columns(table)
        }
        pk = inspector.get_pk_constraint(table)
        entry: dict[str, Any] = {
            "column": columns,
            "primary key": {"columns": tuple(pk.get("constrained_columns") or ())},
            "foreign key": {
                _key(fk.get("name"), fk["constrained_columns"]): (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    str(sorted((fk.get("options") or {}).items())),
                )
                for fk in inspector.get_foreign_keys(table)
            },
            "index": {
                _key(ix.get("name"), ix["column_names"]): (
                    tuple(str(c) for c in ix["column_names"]),
                    bool(ix.get("unique")),
                )
                for ix in inspector.get_indexes(table)
            },
            "unique constraint": {
                _key(uq.get("name"), uq["column_names"]): tuple(uq["column_names"])
                for uq in inspector.get_unique_constraints(table)
            },
        }
        try:
            checks = inspector.get_check_constraints(table)
        except NotImplementedError:
            checks = []
        entry["check constraint"] = {
            _key(ck.get("name"), [ck["sqltext"]]): " ".join(str(ck["sqltext"]).split())
            for ck in checks
        }
        tables[table] = entry
    found: Schema = {"table": tables, "view": {v: True for v in inspector.get_view_names()}}
    if dialect.name == "postgresql":
        found["sequence"] = {s: True for s in inspector.get_sequence_names()}
        found["enum type"] = {
            e["name"]: tuple(e["labels"])
            for e in inspector.get_enums()  # type: ignore[attr-defined]
        }
    return found


def _type(type_: Any, dialect: sa.Dialect) -> str:
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a reflected type the dialect cannot render
        return repr(type_)


def _key(name: str | None, columns: Any) -> str:
    return name or f"(unnamed on {', '.join(str(c) for c in columns)})"


def differences(before: Schema, after: Schema) -> list[str]:
    """What changed from ``before`` to ``after``, one line each, e.g.
    ``column spans.arn is left over`` or ``index ix_a on spans is missing``."""
    return list(_compare(before, after, []))


def _compare(before: Any, after: Any, where: list[str]) -> Iterator[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                yield f"{_describe([*where, key])} is missing (dropped and not restored)"
            elif key not in before:
                yield f"{_describe([*where, key])} is left over"
            else:
                yield from _compare(before[key], after[key], [*where, key])
    elif before != after:
        yield f"{_describe(where)} changed: {before} -> {after}"


def _describe(path: list[str]) -> str:
    # path: kind, name[, kind, name[, attribute]] e.g. table, spans, column, arn, type
    if len(path) >= 2 and path[0] == "table":
        table = path[1]
        if len(path) == 2:
            return f"table {table}"
        kind, rest = path[2], path[3:]
        if kind == "column" and rest:
            text = f"column {table}.{rest[0]}"
            return f"{text} {rest[1]}" if len(rest) > 1 else text
        if kind == "primary key":
            return f"the primary key of {table}"
        if rest:
            return f"{kind} {rest[0]} on {table}"
        return f"{kind} of {table}"
    return " ".join(path)
