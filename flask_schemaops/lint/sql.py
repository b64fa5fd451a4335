"""What the SQL text of an ``op.execute()`` does, as far as a few patterns can tell.

This is no SQL parser: it recognises the statements migrations commonly run
(the DDL the rules care about, and plain data changes) and calls everything
else ``unknown``, which the linter reports as needing a human review.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

_NAME = r'(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})*"


@dataclass(frozen=True)
class Statement:
    """One SQL statement, classified.

    ``kind`` is one of: ``create_index``, ``drop_index``, ``add_column``,
    ``drop_column``, ``rename_column``, ``rename_table``, ``column_type``,
    ``set_not_null``, ``add_foreign_key``, ``add_check``, ``add_unique``,
    ``drop_table``, ``create_table``, ``create_view``, ``create_enum``,
    ``drop_type``, ``enum_add_value``, ``validate_constraint``,
    ``foreign_key_checks`` (``name`` is ``on`` or ``off``), ``data`` (a bounded data
    change or a query), ``safe`` (harmless DDL), ``danger`` (``detail`` says why) or
    ``unknown``.
    """

    kind: str
    text: str
    table: str | None = None
    schema: str | None = None  # the table's, when the SQL names one
    column: str | None = None
    name: str | None = None  # the index, constraint, type or new name
    concurrently: bool = False
    not_valid: bool = False
    not_null: bool = False
    default: str | None = None
    generated: str | None = None  # an added column's value the database computes
    detail: str = ""

    @property
    def ddl(self) -> bool:
        """Whether the statement changes the schema (as far as it is known)."""
        return self.text.upper().startswith(("CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"))


def unquote(name: str) -> str:
    """The last part of a possibly qualified, possibly quoted name."""
    return _parts(name)[-1]


def qualifier(name: str) -> str | None:
    """The schema of a qualified name (``archive.spans`` gives ``archive``), or None."""
    parts = _parts(name)
    return parts[-2] if len(parts) > 1 else None


def _parts(name: str) -> list[str]:
    parts = re.split(r"\s*\.\s*(?=(?:[^\"`]*[\"`][^\"`]*[\"`])*[^\"`]*$)", name.strip())
    return [part.strip('"`[]') for part in parts]


@dataclass(frozen=True)
class _Syntax:
    """Where a kind of database ends a string literal, a quoted name and a comment."""

    escapes: Literal["always", "prefixed", "never"]  # where a backslash escapes a quote
    nested: bool = False  # /* /* */ */ is one comment
    dollar: bool = False  # $$...$$ and $tag$...$tag$ quote a body
    # MySQL and MariaDB: "..." is a string, # and "-- " (with the space) start a
    # comment, and the text of /*! ... */ runs.
    mysql: bool = False


# PostgreSQL's standard_conforming_strings (on since 9.1) keeps a backslash in '...'
# as it is; only E'...' takes escapes.
_POSTGRESQL = _Syntax("prefixed", nested=True, dollar=True)
_MYSQL = _Syntax("always", mysql=True)
_SYNTAXES = {
    "postgresql": _POSTGRESQL,
    "mysql": _MYSQL,
    "mariadb": _MYSQL,
    "sqlite": _Syntax("never"),
    "oracle": _Syntax("never"),
    "mssql": _Syntax("never", nested=True),
}


@functools.cache
def _pattern(syntax: _Syntax, running: bool) -> re.Pattern[str]:
    """The parts of SQL text ``syntax`` reads apart from the SQL around them; with
    ``running``, inside MySQL's ``/*! ... */``, whose ``*/`` ends it."""

    def quoted(quote: str, escapes: bool) -> str:
        body = rf"[^{quote}\\]|\\.|{quote}{quote}" if escapes else rf"[^{quote}]|{quote}{quote}"
        return rf"{quote}(?:{body})*{quote}"

    strings = [quoted("'", syntax.escapes == "always")]
    names = ["`(?:[^`]|``)*`"]
    opening = ["['\"`]"]  # of a literal or a name that never ends
    if syntax.escapes == "prefixed":
        strings.append(r"(?<![\w$])[Ee]" + quoted("'", True))
        opening.insert(0, r"(?<![\w$])[Ee]'")
    (strings if syntax.mysql else names).append(quoted('"', syntax.mysql))
    comments = [r"--(?!\S)[^\n]*", r"#[^\n]*"] if syntax.mysql else [r"--[^\n]*"]
    parts = [
        r"(?P<run>/\*M?!\d*)" if syntax.mysql else "",
        rf"(?P<comment>{'|'.join(comments)}|/\*)",
        r"(?P<close>\*/)" if running else "",
        rf"(?P<string>{'|'.join(strings)})",
        rf"(?P<name>{'|'.join(names)})",
        rf"(?P<open>{'|'.join(opening)})",
        r"(?<![\w$])(?P<dollar>\$(?:[^\W\d]\w*)?\$)" if syntax.dollar else "",
        r"(?P<end>;)",
    ]
    return re.compile("|".join(p for p in parts if p), re.DOTALL)


def _lexemes(sql: str, syntax: _Syntax) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each part of ``sql`` that is read apart from the SQL
    around it: a ``comment``, a ``string`` literal, a quoted ``name``, a ``dollar``
    quoted body, a statement's ``end``, and an ``open`` literal or name that never
    ends (to the end of ``sql``). Of MySQL's ``/*! ... */`` only the markers are
    comments: the database runs the text between them."""
    position, running = 0, False
    while (match := _pattern(syntax, running).search(sql, position)) is not None:
        kind, (start, end) = match.lastgroup or "", match.span()
        if kind in ("run", "close"):
            kind, running = "comment", kind == "run"
        elif kind == "comment" and match.group() == "/*":
            end = _comment_end(sql, end, syntax.nested)
        elif kind == "dollar":
            close = sql.find(match.group(), end)
            kind, end = ("open", len(sql)) if close < 0 else (kind, close + len(match.group()))
        elif kind == "open":
            end = len(sql)
        yield kind, start, end
        position = end


def _comment_end(sql: str, position: int, nested: bool) -> int:
    """Where the ``/* */`` comment opened before ``position`` ends."""
    depth = 1
    for match in re.finditer(r"/\*|\*/" if nested else r"\*/", sql[position:]):
        depth += 1 if match.group() == "/*" else -1
        if depth == 0:
            return position + match.end()
    return len(sql)


def _split(sql: str, syntax: _Syntax) -> tuple[list[tuple[int, str]], bool]:
    """The statements of ``sql`` as ``syntax`` reads it, each with where it starts,
    comments removed (split on each ``;`` that is not in a string literal, a quoted
    name, a dollar-quoted body or a comment); and whether the last one ends, or
    holds a literal or a name that never does."""
    statements: list[tuple[int, str]] = []
    current: list[str] = []
    start = position = 0
    kind = ""
    for kind, begin, end in _lexemes(sql, syntax):
        current.append(sql[position:begin])
        if kind == "comment":
            current.append(" ")
        elif kind == "end":
            statements.append((start, "".join(current)))
            current, start = [], end
        else:
            current.append(sql[begin:end])
        position = end
    statements.append((start, "".join([*current, sql[position:]])))
    found = [(at, " ".join(text.split())) for at, text in statements if text.strip()]
    return found, kind != "open"


def _mask(text: str, syntax: _Syntax) -> str:
    """``text`` with the content of each string literal (dollar-quoted too) blanked,
    the length kept, so that no keyword, comma or parenthesis inside one counts."""
    parts, position = [], 0
    for kind, start, end in _lexemes(text, syntax):
        if kind in ("string", "dollar", "open"):
            blank = "'" + " " * (end - start - 2) + "'" if end - start > 1 else " "
            parts += [text[position:start], blank]
            position = end
    return "".join([*parts, text[position:]])


def classify(sql: str, dialects: Iterable[str] = ()) -> list[Statement]:
    """The statements of ``sql``, each classified, as the ``dialects`` databases read
    it (none, or one not known: any database). Where their readings differ (a
    backslash before a quote, MySQL's ``#`` comments, nested comments...), every
    statement one of them runs is kept, so that no reading hides one; a statement
    in which one of them finds a literal that never ends is a syntax error there,
    and that reading of it is left out."""
    every = list(dict.fromkeys(_SYNTAXES.values()))
    wanted = {_SYNTAXES.get(d) for d in dialects} or {None}
    syntaxes = every if None in wanted else [s for s in every if s in wanted]
    found: list[tuple[int, Statement]] = []
    seen: set[tuple[int, Statement]] = set()
    for syntax in syntaxes:
        texts, complete = _split(sql, syntax)
        if not complete and len(syntaxes) > 1:
            texts.pop()
        read = [(at, s) for at, text in texts for s in _statement(text, syntax)]
        found += [(at, s) for at, s in read if (at, replace(s, text="")) not in seen]
        seen |= {(at, replace(s, text="")) for at, s in read}
    return [s for _, s in sorted(found, key=lambda item: item[0])]


def _statement(text: str, syntax: _Syntax) -> list[Statement]:
    upper = text.upper()
    words = upper.split()
    first = words[0] if words else ""
    if first in ("UPDATE", "DELETE", "WITH"):
        return _data_changes(text, syntax)
    checks = re.match(
        r"SET\s+(?:SESSION\s+|@@(?:SESSION\.)?)?FOREIGN_KEY_CHECKS\s*(?:=|TO)\s*'?(\w+)'?\s*$",
        text,
        re.I,
    )
    if checks:
        off = checks.group(1).upper() in ("0", "OFF", "FALSE")
        return [Statement("foreign_key_checks", text, name="off" if off else "on")]
    if first in ("INSERT", "SELECT", "COMMENT", "SET", "GRANT", "REVOKE", "ANALYZE"):
        return [Statement("data" if first in ("INSERT", "SELECT") else "safe", text)]
    if first == "TRUNCATE":
        match = re.match(rf"TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?({_QUALIFIED})", text, re.I)
        table = unquote(match.group(1)) if match else None
        return [
            Statement(
                "danger",
                text,
                table=table,
                detail=f"TRUNCATE deletes every row of {table or 'its table'}",
            )
        ]
    if first == "LOCK":
        return [Statement("danger", text, detail="LOCK TABLE blocks the app until the commit")]
    if first in ("VACUUM", "CLUSTER") or (first == "REINDEX" and "CONCURRENTLY" not in words):
        return [Statement("danger", text, detail=f"{first} locks the table while it runs")]
    if first == "CREATE":
        return [_create(text, upper)]
    if first == "DROP":
        return _drop(text, upper)
    if first == "ALTER" and len(words) > 1 and words[1] == "TABLE":
        return _alter_table(text, syntax)
    if first == "ALTER" and len(words) > 1 and words[1] == "TYPE":
        match = re.match(rf"ALTER\s+TYPE\s+({_QUALIFIED})\s+ADD\s+VALUE\b", text, re.I)
        if match:
            return [Statement("enum_add_value", text, name=unquote(match.group(1)))]
    if first == "RENAME" and len(words) > 1 and words[1] == "TABLE":
        match = re.match(rf"RENAME\s+TABLE\s+({_QUALIFIED})\s+TO\s+({_QUALIFIED})", text, re.I)
        if match:
            return [
                Statement(
                    "rename_table",
                    text,
                    table=unquote(match.group(1)),
                    schema=qualifier(match.group(1)),
                    name=unquote(match.group(2)),
                )
            ]
    return [Statement("unknown", text)]


# An UPDATE or DELETE where a statement starts: the whole text, or a part of a WITH.
_CHANGE = re.compile(r"(?:^|(?<=[()]))\s*(UPDATE|DELETE)\b", re.I)


def _data_changes(text: str, syntax: _Syntax) -> list[Statement]:
    """An UPDATE, a DELETE, or a WITH whose parts may be ones: ``danger`` for each
    that has no WHERE of its own (it changes every row), else ``data``."""
    plain = _mask(text, syntax)
    found = []
    for match in _CHANGE.finditer(plain):
        own = _own_clauses(plain[match.start(1) :])
        if re.search(r"\bWHERE\b", own, re.I):
            continue
        first = match.group(1).upper()
        name = re.match(rf"(?:UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?({_QUALIFIED})", own, re.I)
        table = unquote(name.group(1)) if name else None
        verb = "rewrites" if first == "UPDATE" else "deletes"
        detail = (
            f"{first} without WHERE {verb} every row of {table or 'its table'} in one transaction"
        )
        found.append(Statement("danger", text, table=table, detail=detail))
    return found or [Statement("data", text)]


def _own_clauses(text: str) -> str:
    """``text`` up to the parenthesis that closes the group it starts in, without what
    nested parentheses hold (subqueries, argument lists)."""
    kept, depth = [], 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def _create(text: str, upper: str) -> Statement:
    match = re.match(
        rf"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
        rf"({_QUALIFIED})?\s*ON\s+(?:ONLY\s+)?({_QUALIFIED})",
        text,
        re.I,
    )
    if match:
        return Statement(
            "create_index",
            text,
            table=unquote(match.group(3)),
            schema=qualifier(match.group(3)),
            name=unquote(match.group(2)) if match.group(2) else None,
            concurrently=bool(match.group(1)),
        )
    match = re.match(
        rf"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE\s+"
        rf"(?:IF\s+NOT\s+EXISTS\s+)?({_QUALIFIED})",
        text,
        re.I,
    )
    if match:
        name = match.group(1)
        return Statement("create_table", text, table=unquote(name), schema=qualifier(name))
    match = re.match(
        rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?VIEW\s+({_QUALIFIED})", text, re.I
    )
    if match:
        return Statement("create_view", text, name=unquote(match.group(1)))
    match = re.match(rf"CREATE\s+TYPE\s+({_QUALIFIED})\s+AS\s+ENUM\b", text, re.I)
    if match:
        return Statement("create_enum", text, name=unquote(match.group(1)))
    return Statement("unknown", text)


def _drop(text: str, upper: str) -> list[Statement]:
    match = re.match(
        r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(.+?)(?:\s+(?:CASCADE|RESTRICT))?$", text, re.I
    )
    if match:
        return [
            Statement("drop_table", text, table=unquote(name), schema=qualifier(name))
            for name in match.group(1).split(",")
            if name.strip()
        ]
    match = re.match(
        rf"DROP\s+INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?({_QUALIFIED})"
        rf"(?:\s+ON\s+({_QUALIFIED}))?",
        text,
        re.I,
    )
    if match:
        return [
            Statement(
                "drop_index",
                text,
                name=unquote(match.group(2)),
                table=unquote(match.group(3)) if match.group(3) else None,
                concurrently=bool(match.group(1)),
            )
        ]
    match = re.match(
        r"DROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?(.+?)(?:\s+(?:CASCADE|RESTRICT))?$", text, re.I
    )
    if match:
        return [
            Statement("drop_type", text, name=unquote(name))
            for name in match.group(1).split(",")
            if name.strip()
        ]
    if re.match(r"DROP\s+(?:SCHEMA|DATABASE)\b", upper):
        return [
            Statement(
                "danger", text, detail=f"{' '.join(upper.split()[:2])} drops everything in it"
            )
        ]
    if re.match(r"DROP\s+(?:VIEW|FUNCTION|TRIGGER|SEQUENCE|EXTENSION)\b", upper):
        return [Statement("safe", text)]
    return [Statement("unknown", text)]


def _alter_table(text: str, syntax: _Syntax) -> list[Statement]:
    match = re.match(
        rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_QUALIFIED})\s+(.*)$", text, re.I
    )
    if not match:
        return [Statement("unknown", text)]
    table, schema = unquote(match.group(1)), qualifier(match.group(1))
    return [
        replace(found, schema=schema)
        for action in _top_level_commas(match.group(2), syntax)
        for found in _actions(text, table, action, syntax)
    ]


def _top_level_commas(text: str, syntax: _Syntax) -> list[str]:
    """``text`` split at each comma outside parentheses and string literals."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(_mask(text, syntax)):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _actions(text: str, table: str, action: str, syntax: _Syntax) -> list[Statement]:
    """What one action of an ALTER TABLE does: for ADD COLUMN, also the constraints
    declared on the column."""
    found = _action(text, table, action, syntax)
    if found.kind != "add_column":
        return [found]
    plain = _mask(action, syntax)
    declared = [found]  # each with the column it is declared on
    for m in re.finditer(
        rf"(?:\bCONSTRAINT\s+({_NAME})\s+)?\b(REFERENCES|UNIQUE|CHECK)\b", plain, re.I
    ):
        name = unquote(m.group(1)) if m.group(1) else None
        kind = _DECLARED[m.group(2).upper()]
        declared.append(Statement(kind, text, table=table, column=found.column, name=name))
    return declared


_DECLARED = {"REFERENCES": "add_foreign_key", "UNIQUE": "add_unique", "CHECK": "add_check"}


# What makes the database compute an added column's value for each row: a serial
# type, an identity, a stored generated column, MySQL's AUTO_INCREMENT.
_GENERATED = re.compile(
    r"^(?:BIG|SMALL)?SERIAL[248]?\b"
    r"|\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b"
    r"|\b(?:GENERATED\s+ALWAYS\s+)?AS\s*\(.*\)\s*(?:STORED|PERSISTENT)\b"
    r"|\bAUTO_INCREMENT\b",
    re.I,
)


def _action(text: str, table: str, action: str, syntax: _Syntax) -> Statement:
    upper = action.upper()

    def named(pattern: str) -> re.Match[str] | None:
        return re.match(pattern, action, re.I)

    if m := named(rf"RENAME\s+TO\s+({_QUALIFIED})"):
        return Statement("rename_table", text, table=table, name=unquote(m.group(1)))
    if m := named(rf"RENAME\s+(?:COLUMN\s+)?({_NAME})\s+TO\s+({_NAME})"):
        return Statement(
            "rename_column", text, table=table, column=unquote(m.group(1)), name=unquote(m.group(2))
        )
    if m := named(rf"ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s+(.*)$"):
        column, rest = unquote(m.group(1)), m.group(2)
        if column.upper() not in (
            "CONSTRAINT",
            "FOREIGN",
            "CHECK",
            "UNIQUE",
            "PRIMARY",
            "INDEX",
            "KEY",
        ):
            default = re.search(
                r"\bDEFAULT\s+(\(.*?\)|'[^']*'|[^\s,]+(?:\s*\([^)]*\))?)", rest, re.I
            )
            generated = _GENERATED.search(_mask(rest, syntax))
            return Statement(
                "add_column",
                text,
                table=table,
                column=column,
                not_null=bool(re.search(r"\bNOT\s+NULL\b", rest, re.I)),
                default=default.group(1) if default else None,
                generated=" ".join(generated.group(0).split()) if generated else None,
            )
    if m := named(
        rf"ADD\s+(?:CONSTRAINT\s+({_NAME})\s+)?(FOREIGN\s+KEY|CHECK|UNIQUE|PRIMARY\s+KEY)\b"
    ):
        name = unquote(m.group(1)) if m.group(1) else None
        kind = m.group(2).upper().split()[0]
        not_valid = bool(re.search(r"\bNOT\s+VALID\s*$", upper))
        if kind == "FOREIGN":
            return Statement("add_foreign_key", text, table=table, name=name, not_valid=not_valid)
        if kind == "CHECK":
            return Statement("add_check", text, table=table, name=name, not_valid=not_valid)
        if "USING INDEX" in " ".join(upper.split()):
            return Statement("safe", text, table=table)
        if kind == "UNIQUE":
            return Statement("add_unique", text, table=table, name=name)
        return Statement("unknown", text, table=table)
    if m := named(rf"DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_NAME})"):
        column = unquote(m.group(1))
        if column.upper() not in (
            "CONSTRAINT",
            "DEFAULT",
            "NOT",
            "INDEX",
            "PRIMARY",
            "FOREIGN",
            "KEY",
            "CHECK",
        ):
            return Statement("drop_column", text, table=table, column=column)
        return Statement("safe", text, table=table)
    if m := named(rf"ALTER\s+(?:COLUMN\s+)?({_NAME})\s+(.*)$"):
        column, rest = unquote(m.group(1)), " ".join(m.group(2).upper().split())
        if rest.startswith(("TYPE ", "SET DATA TYPE ")):
            return Statement("column_type", text, table=table, column=column)
        if rest == "SET NOT NULL":
            return Statement("set_not_null", text, table=table, column=column)
        if rest.startswith(("SET DEFAULT", "DROP DEFAULT", "DROP NOT NULL", "SET STATISTICS")):
            return Statement("safe", text, table=table)
    if m := named(rf"VALIDATE\s+CONSTRAINT\s+({_NAME})"):
        return Statement("validate_constraint", text, table=table, name=unquote(m.group(1)))
    if upper.startswith(("OWNER TO", "SET (", "RESET (")):
        return Statement("safe", text, table=table)
    return Statement("unknown", text, table=table)
