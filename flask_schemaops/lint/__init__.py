"""The migration linter: reads revision scripts with ``ast`` (never runs them) and
reports the operations that fail or hurt on a production database.

:func:`lint_paths` lints files; ``flask_schemaops.api.lint`` lints a project's
histories (all revisions, the pending ones, or a range) with the app's settings.
The rules are in :mod:`.rules`, their checks in :mod:`.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import ConfigurationError, ScriptError
from ..results import Finding, LintReport
from . import analysis, checks
from .analysis import DIALECTS
from .rules import DOCS_URL, RULES, SEVERITIES, Rule, find

__all__ = [
    "DIALECTS",
    "DOCS_URL",
    "RULES",
    "Change",
    "Finding",
    "LintReport",
    "Rule",
    "dialect_name",
    "downgrade_changes",
    "lint_paths",
    "scripts_in",
]


def scripts_in(folder: Path) -> list[Path]:
    """The revision scripts in ``folder`` (its ``.py`` files but ``__init__.py``)."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob("*.py") if p.name != "__init__.py" and not p.name.startswith(".#")
    )


def lint_paths(
    paths: Iterable[str | Path],
    *,
    dialect: str | None = None,
    disable: Iterable[str] = (),
    severity: Mapping[str, str] | None = None,
    fail_on: str | None = "error",
    app_modules: Iterable[str] = (),
    histories: Iterable[str | Path] = (),
    target: str = "default",
    naming_convention: Mapping[Any, object] | None = None,
) -> LintReport:
    """Lint the revision scripts at ``paths`` (files, or folders of them).

    ``dialect`` is the target database's (``postgresql``, ``mysql``, ``sqlite``...;
    None: unknown, so the rules of particular databases stay off, and raw SQL is read
    as each database would read it, so that no reading hides a statement from the
    checks). ``disable`` lists rule ids or names to skip; ``severity`` re-grades
    rules (id or name → ``error``, ``warning`` or ``info``). ``app_modules`` are the
    top-level modules of the app, whose import in a revision is reported. Each
    folder of ``histories`` is checked as one revision history (more than one
    head). ``naming_convention`` is the models' ``MetaData.naming_convention``: a
    constraint added without a name is fine when it names that kind of constraint.
    """
    disabled = {_rule(r, "lint_disable").id for r in disable}
    grades = {_rule(r, "lint_severity").id: _severity(r, s) for r, s in (severity or {}).items()}
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigurationError(
            f"lint_fail_on must be None or one of {', '.join(SEVERITIES)}, not {fail_on!r}."
        )
    modules = frozenset(app_modules)
    conventions = _conventions(naming_convention or {})
    files = _expand(paths)
    findings: list[Finding] = []
    suppressed = 0
    read: dict[Path, analysis.Script] = {}

    def script(path: Path) -> analysis.Script:
        if path not in read:
            found = analysis.read(path)
            if found.error:
                raise ScriptError(f"{path} {found.error}. Fix it, then lint again.")
            read[path] = found
        return read[path]

    def report(found: analysis.Script, hit: checks.Hit, file: Path) -> None:
        nonlocal suppressed
        rule = RULES[hit.rule]
        if rule.id in disabled or not rule.applies(dialect):
            return
        if found.suppressed(rule.id, hit.line, hit.end_line):
            suppressed += 1
            return
        message, fix = rule.render(hit.values, dialect)
        findings.append(
            Finding(
                rule=rule.id,
                name=rule.name,
                severity=grades.get(rule.id) or hit.severity or rule.severity,
                file=str(file),
                line=hit.line,
                message=message,
                fix=fix,
                target=target,
            )
        )

    for path in files:
        found = script(path)
        for hit in checks.check(found, dialect, modules, conventions):
            report(found, hit, path)
    for folder in histories:
        scripts = [script(p) for p in scripts_in(Path(folder))]
        head = checks.multiple_heads(str(folder), scripts)
        if head is not None:
            file = Path(head.values["_file"])
            report(read[file], head, file)
    findings.sort(key=lambda f: (f.file, f.line, f.rule))
    return LintReport(
        findings=tuple(findings),
        files=tuple(str(p) for p in files),
        suppressed=suppressed,
        fail_on=fail_on,
    )


def _conventions(naming_convention: Mapping[Any, object]) -> dict[str, str]:
    """The patterns for foreign key, unique and check constraints, by their short key
    (SQLAlchemy takes the constraint's class as a key too); a callable reads as ``""``:
    it names the constraint."""
    classes = {"fk": sa.ForeignKeyConstraint, "uq": sa.UniqueConstraint, "ck": sa.CheckConstraint}
    found: dict[str, str] = {}
    for key, cls in classes.items():
        pattern = naming_convention.get(key) or naming_convention.get(cls)
        if pattern is not None:
            found[key] = pattern if isinstance(pattern, str) else ""
    return found


def dialect_name(value: str) -> str:
    """``value`` as the name of a database the linter knows (``PostgreSQL`` gives
    ``postgresql``); ConfigurationError for any other."""
    name = value.strip().lower()
    if name not in DIALECTS:
        raise ConfigurationError(
            f"Unknown dialect {value!r}: the linter knows {', '.join(sorted(DIALECTS))}."
            " Give one of them, or none to lint each database for its own."
        )
    return name


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(scripts_in(path))
        elif path.is_file():
            files.append(path)
        else:
            raise ScriptError(f"{path} does not exist: give revision scripts or their folders.")
    return list(dict.fromkeys(files))


def _rule(reference: str, setting: str) -> Rule:
    rule = find(reference)
    if rule is None:
        raise ConfigurationError(
            f"{setting} names an unknown rule {reference!r}. Rules are SO101 to"
            f" SO{100 + len(RULES)}, or their names (e.g. {next(iter(RULES.values())).name!r})."
        )
    return rule


def _severity(reference: str, value: str) -> str:
    if value not in SEVERITIES:
        raise ConfigurationError(
            f"lint_severity gives {reference!r} the severity {value!r}; use one of"
            f" {', '.join(SEVERITIES)} (or lint_disable to turn it off)."
        )
    return value


@dataclass(frozen=True)
class Change:
    """A table or column that ``downgrade()`` drops, renames, creates or adds, in the
    order it runs: what the downgrade preview follows to find each dropped one in
    the database as it is now. A name not known before the script runs is ``?``.

    ``kind`` ``sql`` is SQL that may drop anything: its text is not known before
    the script runs, or it is a statement the reader does not know; ``sql`` holds
    it, shortened (the source of the expression when the text is not known)."""

    # drop_table, drop_column, rename_table, rename_column, create_table, add_column, sql
    kind: str
    table: str
    column: str | None  # None for a whole table
    new_name: str | None  # a rename's new name
    schema: str | None
    line: int
    bind: str | None  # see :attr:`analysis.Operation.bind`
    if_exists: bool = False  # a drop that skips what is not there
    sql: str | None = None


def downgrade_changes(path: str | Path, dialect: str | None) -> list[Change]:
    """The :class:`Change` list of the ``downgrade()`` of the script at ``path``, as
    it runs on a ``dialect`` database (``op.*``, batch and raw SQL forms)."""
    script = analysis.read(Path(path))
    if script.error:
        raise ScriptError(f"{path} {script.error}. Fix it, then run the command again.")
    return [
        Change(kind, table or "?", column, new, o.schema, o.line, o.bind, if_exists, sql)
        for o in script.operations_in("downgrade", dialect)
        for kind, table, column, new, if_exists, sql in _changes(script, o, dialect)
    ]


def _changes(
    script: analysis.Script, o: analysis.Operation, dialect: str | None
) -> Iterator[tuple[str, str | None, str | None, str | None, bool, str | None]]:
    """(kind, table, column, new name, if exists, SQL) for each :class:`Change` of ``o``."""
    optional = o.flag("if_exists")
    if o.kind in ("drop_table", "create_table"):
        yield o.kind, o.table, None, None, optional, None
    elif o.kind == "rename_table":
        new = script.string(o.keyword("new_table_name")) or "?"
        yield o.kind, o.table, None, new, False, None
    elif o.kind == "drop_column":
        yield o.kind, o.table, script.string(o.keyword("column_name")) or "?", None, optional, None
    elif o.kind == "add_column":
        column = analysis.column(script, o.keyword("column"))
        yield o.kind, o.table, (column.name if column else None) or "?", None, False, None
    elif o.kind == "alter_column" and o.keyword("new_column_name") is not None:
        old, new = (script.string(o.keyword(k)) or "?" for k in ("column_name", "new_column_name"))
        yield "rename_column", o.table, old, new, False, None
    elif o.kind == "execute":
        found = analysis.statements(script, o, dialect)
        argument = o.keyword("sqltext")
        if found is None:
            # Built as the script runs: it may drop anything. A SQLAlchemy INSERT,
            # UPDATE, DELETE or SELECT drops no table or column.
            if analysis.expression_kind(argument) is None:
                yield "sql", None, None, None, False, checks._short(argument)
            return
        for s in found:
            optional = bool(re.search(r"\bIF\s+EXISTS\b", s.text, re.IGNORECASE))
            if s.kind in ("drop_table", "create_table"):
                yield s.kind, s.table, None, None, optional, None
            elif s.kind == "rename_table":
                yield s.kind, s.table, None, s.name or "?", False, None
            elif s.kind in ("drop_column", "add_column"):
                yield s.kind, s.table, s.column or "?", None, optional, None
            elif s.kind == "rename_column":
                yield s.kind, s.table, s.column or "?", s.name or "?", False, None
            elif s.kind == "unknown" and not s.text.upper().startswith("CREATE"):
                # Not a statement the reader knows (CREATE ... makes, never drops).
                yield "sql", None, None, None, False, checks._shorten(s.text)
