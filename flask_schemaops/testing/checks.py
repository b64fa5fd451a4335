"""The ready-made migration checks, as pytest test functions.

Enable them in the pytest configuration (``schemaops_checks = all``, or some of
:data:`CHECKS` by name), or import them into a test module, one line::

    from flask_schemaops.testing.checks import *  # noqa: F403

Each runs on new, empty databases (see ``schemaops_migrations``) and fails with a
message that names the database, the revision and what differs.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .. import api
from ..config import versions_directory
from ..errors import SchemaOpsError
from ..extension import get_state
from ..results import Revision
from .databases import DEFAULT
from .plugin import Options, fail, short
from .runner import MigrationRunner
from .schema import differences

__all__ = [
    "test_migrations_downgrade_leaves_no_trace",
    "test_migrations_lint",
    "test_migrations_models_imported",
    "test_migrations_models_match",
    "test_migrations_single_head",
    "test_migrations_stairway",
    "test_migrations_upgrade",
]


Check = TypeVar("Check", bound=Callable[..., None])


def _check(function: Check) -> Check:
    """A ready-made check: an error of flask_schemaops (a database that cannot be
    reached, a setting that is wrong) fails it with the error's message alone."""

    @functools.wraps(function)
    def check(*args: Any, **kwargs: Any) -> None:
        short(lambda: function(*args, **kwargs))

    return check  # type: ignore[return-value]


def _where(revision: Revision, runner: MigrationRunner) -> str:
    directory = get_state(runner.app).directory
    try:
        path = Path(revision.path).resolve().relative_to(directory.resolve().parent)
    except ValueError:
        path = Path(revision.path)
    database = "" if revision.target == DEFAULT else f", database {revision.target!r}"
    return f"Revision {revision.revision} ({revision.message!r}, {path}{database})"


# --- 1. One head ------------------------------------------------------------------------


@_check
def test_migrations_single_head(schemaops_migrations: MigrationRunner) -> None:
    """Each revision history has a single head."""
    runner = schemaops_migrations
    problems = []
    for name in runner.names():
        heads = [r for r in api.heads(binds=[name], app=runner.app)]
        if len(heads) > 1:
            listed = "\n".join(f"  {_where(r, runner)}" for r in heads)
            problems.append(f"The history of database {name!r} has {len(heads)} heads:\n{listed}")
    if problems:
        fail(
            "\n".join(problems) + '\nMerge them: `flask db merge -m "merge heads"`, and review'
            " the merge revision."
        )


# --- 2. Upgrade from empty -----------------------------------------------------------------


@_check
def test_migrations_upgrade(schemaops_migrations: MigrationRunner) -> None:
    """Every database upgrades from empty to head."""
    runner = schemaops_migrations
    for name in runner.names():
        try:
            runner.upgrade("heads", name)
        except SchemaOpsError as exc:
            fail(f"Upgrading the empty database {name!r} to head failed:\n{exc}")
        now = set(runner.current_revisions(name))
        heads = set(runner.heads(name))
        if now != heads:
            fail(
                f"After upgrading, database {name!r} is at {', '.join(sorted(now)) or 'base'},"
                f" not at head ({', '.join(sorted(heads))})."
            )


# --- 3. Models match the schema at head ------------------------------------------------


@_check
def test_migrations_models_match(schemaops_migrations: MigrationRunner) -> None:
    """At head, autogenerate finds no difference between the models and the schema
    (honouring ``ignore_tables`` and the comparisons flask_schemaops quiets)."""
    runner = schemaops_migrations
    names = runner.names()
    for name in names:
        try:
            runner.upgrade("heads", name)
        except SchemaOpsError as exc:
            fail(f"Upgrading the empty database {name!r} to head failed:\n{exc}")
    problems = []
    for check in api.check(app=runner.app):
        if check.changes:
            heads = ", ".join(runner.heads(check.target)) if check.target in names else "base"
            changes = "\n".join(f"  {change}" for change in check.changes)
            problems.append(
                f"Database {check.target!r} at head ({heads}): the models differ from the"
                f" schema the migrations build:\n{changes}"
            )
    if problems:
        fail(
            "\n".join(problems) + "\nWrite a revision for the change (`flask db revision"
            " --autogenerate`), or fix the model or the migration that disagrees."
        )


# --- 4 and 5. Stairway, and downgrades that leave no trace ---------------------------


def _walk(runner: MigrationRunner, options: Options, visit: Callable[[Revision], None]) -> None:
    """``visit`` each revision (each changed one, with ``changed_since``), oldest
    first, with its database at exactly what the revision stands on: its parents and
    the revisions it depends on applied, with what they stand on, and nothing else."""
    visited = 0
    for name in runner.names():
        history = runner.history(name)  # dependencies before their dependents
        chosen = _changed(runner, name, history, options.changed_since)
        graph = _graph(runner, name, history)
        for revision in history:
            if chosen is not None and revision.revision not in chosen:
                continue
            _step(
                runner,
                revision,
                "move to its parents",
                functools.partial(_to_parents, runner, revision, history, graph),
            )
            visit(revision)
            visited += 1
    if options.changed_since and not visited:
        pytest.skip(f"No revision changed since {options.changed_since}.")


def _graph(
    runner: MigrationRunner, name: str, history: list[Revision]
) -> dict[str, tuple[str, ...]]:
    """What each revision stands on: its parents, and the revisions it depends on
    (``depends_on``, ids or branch labels), which Alembic applies before it."""
    graph = {}
    for revision in history:
        needs = revision.down_revisions
        if revision.depends_on:
            found = api.show(list(revision.depends_on), binds=[name], app=runner.app)
            needs = tuple(dict.fromkeys([*needs, *(r.revision for r in found)]))
        graph[revision.revision] = needs
    return graph


def _to_parents(
    runner: MigrationRunner,
    revision: Revision,
    history: list[Revision],
    graph: Mapping[str, tuple[str, ...]],
) -> None:
    """Put the revision's database at exactly what it stands on (``graph``: what each
    revision stands on)."""
    database, parents = revision.target, graph[revision.revision]
    needed = _applied(graph, parents)
    for _ in history:
        extra = _applied(graph, runner.current_revisions(database)) - needed
        if not extra:
            break
        # The oldest of them stands on none of the others; reverting it reverts
        # those that stand on it.
        _revert(runner, next(r for r in history if r.revision in extra))
    for parent in parents:
        if parent not in _applied(graph, runner.current_revisions(database)):
            runner.upgrade(parent, database)


def _applied(graph: Mapping[str, tuple[str, ...]], heads: Iterable[str]) -> set[str]:
    """The revisions a database at ``heads`` has applied: they and what they stand on."""
    found: set[str] = set()
    todo = list(heads)
    while todo:
        revision = todo.pop()
        if revision not in found:
            found.add(revision)
            todo.extend(graph.get(revision, ()))
    return found


def _revert(runner: MigrationRunner, revision: Revision) -> None:
    """Downgrade the revision and what stands on it, nothing else. ``<revision>@<parent>``
    keeps Alembic to the revision's own line: a bare parent also reverts the parent's
    other children (one of them may be a dependency), ``base`` everything, and
    ``<revision>-1`` is ambiguous for a merge."""
    parent = revision.down_revisions[0] if revision.down_revisions else "base"
    runner.downgrade(f"{revision.revision}@{parent}", revision.target)


def _step(
    runner: MigrationRunner, revision: Revision, phase: str, action: Callable[[], Any]
) -> None:
    try:
        action()
    except SchemaOpsError as exc:
        fail(f"{_where(revision, runner)}: the {phase} failed:\n{exc}")


def _up(runner: MigrationRunner, revision: Revision) -> Callable[[], Any]:
    return lambda: runner.upgrade(revision.revision, revision.target)


def _down(runner: MigrationRunner, revision: Revision) -> Callable[[], Any]:
    # On what the revision stands on, this reverts the revision alone.
    return lambda: _revert(runner, revision)


@_check
def test_migrations_stairway(
    schemaops_migrations: MigrationRunner, schemaops_options: Options
) -> None:
    """Each revision upgrades, downgrades and upgrades again."""
    runner = schemaops_migrations

    def visit(revision: Revision) -> None:
        _step(runner, revision, "upgrade", _up(runner, revision))
        _step(runner, revision, "downgrade", _down(runner, revision))
        _step(runner, revision, "upgrade after its downgrade", _up(runner, revision))

    _walk(runner, schemaops_options, visit)


@_check
def test_migrations_downgrade_leaves_no_trace(
    schemaops_migrations: MigrationRunner, schemaops_options: Options
) -> None:
    """After each revision's upgrade and downgrade, the schema is the one before."""
    runner = schemaops_migrations

    def visit(revision: Revision) -> None:
        before = runner.schema(revision.target)
        _step(runner, revision, "upgrade", _up(runner, revision))
        _step(runner, revision, "downgrade", _down(runner, revision))
        found = differences(before, runner.schema(revision.target))
        if found:
            lines = "\n".join(f"  {line}" for line in found)
            fail(
                f"{_where(revision, runner)}: its downgrade leaves a trace. After the upgrade"
                f" and the downgrade, the schema differs from before the upgrade:\n{lines}\n"
                "Make downgrade() undo every change upgrade() makes."
            )
        _step(runner, revision, "upgrade after its downgrade", _up(runner, revision))

    _walk(runner, schemaops_options, visit)


def _changed(
    runner: MigrationRunner, name: str, history: list[Revision], ref: str | None
) -> set[str] | None:
    """The revisions whose scripts differ from git ``ref`` (None: no ref, all)."""
    if not ref:
        return None
    folder = versions_directory(get_state(runner.app).directory, None if name == DEFAULT else name)

    def git(*args: str) -> list[str]:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            fail(f"Could not list the revisions changed since {ref!r}: {done.stderr.strip()}")
        return [line for line in done.stdout.splitlines() if line]

    top = Path(git("rev-parse", "--show-toplevel")[0])
    # diff names paths from the top of the work tree, ls-files from the folder.
    paths = {(top / f).resolve() for f in git("diff", "--name-only", ref, "--", ".")}
    paths |= {(folder / f).resolve() for f in git("ls-files", "--others", "--exclude-standard")}
    return {r.revision for r in history if Path(r.path).resolve() in paths}


# --- 6. Lint ----------------------------------------------------------------------------


@_check
def test_migrations_lint(schemaops_migrations: MigrationRunner, schemaops_options: Options) -> None:
    """The migration linter finds nothing at ``schemaops_lint_severity`` (default
    ``error``) or above, on the test database's dialect."""
    from ..results import SEVERITY_ORDER

    runner = schemaops_migrations
    floor = schemaops_options.lint_severity
    if floor not in SEVERITY_ORDER:
        fail(f"schemaops_lint_severity must be one of {', '.join(SEVERITY_ORDER)}, not {floor!r}.")
    report = api.lint(app=runner.app)
    found = [
        f
        for f in report.findings
        if SEVERITY_ORDER.index(f.severity) >= SEVERITY_ORDER.index(floor)
    ]
    if found:
        revisions = {
            Path(r.path).resolve(): r for name in runner.names() for r in runner.history(name)
        }
        lines = []
        for finding in found:
            revision = revisions.get(Path(finding.file).resolve())
            where = _where(revision, runner) if revision else finding.file
            lines.append(
                f"  {where}, line {finding.line}: {finding.severity} {finding.rule}"
                f" ({finding.name}): {finding.message}"
            )
        fail(
            f"The migration linter reports {len(found)} finding(s) at {floor} or above:\n"
            + "\n".join(lines)
        )


# --- 7. Every model module is imported --------------------------------------------------

_IMPORTED = """
import importlib, json, sys
module, _, attribute = sys.argv[1].partition(":")
factory = getattr(importlib.import_module(module), attribute or "create_app")
app = factory({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
               "SCHEMAOPS_ON_START": None})
db = app.extensions["sqlalchemy"]
print(json.dumps(sorted({m.class_.__module__ for m in db.Model.registry.mappers})))
"""


@_check
def test_migrations_models_imported(schemaops_options: Options) -> None:
    """Every module of the app's package that defines models is imported when the
    app is created, so migrations (env.py, autogenerate) see those tables."""
    path = schemaops_options.app
    if not path:
        fail("This check needs `schemaops_app = package.module:create_app` in the pytest ini.")
    package = schemaops_options.models_package or path.partition(":")[0].split(".")[0]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        fail(f"Cannot find the package {package!r} (set schemaops_models_package).")
    defined: dict[str, list[tuple[str, int]]] = {}
    for location in spec.submodule_search_locations:
        defined.update(model_modules(Path(location), package))
    # A fresh interpreter, so a module some test imported does not hide the problem.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(p for p in sys.path if p))}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED, path], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        fail(f"Creating the app with {path} in a new interpreter failed:\n{done.stderr[-2000:]}")
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    missing = {m: classes for m, classes in defined.items() if m not in imported}
    if missing:
        lines = "\n".join(
            f"  {module}: {', '.join(f'{c} (line {n})' for c, n in classes)}"
            for module, classes in sorted(missing.items())
        )
        fail(
            f"Creating the app with {path} does not import these modules, so the migrations"
            " (env.py, autogenerate) do not see their models' tables:\n"
            f"{lines}\nImport them where the app or its models package is set up."
        )


def model_modules(folder: Path, package: str) -> dict[str, list[tuple[str, int]]]:
    """The modules under ``folder`` (package ``package``) that define models
    (subclasses of ``db.Model`` or of another model, not ``__abstract__``), read
    with ``ast``: ``{module: [(class, line), ...]}``."""
    classes: list[tuple[str, ast.ClassDef]] = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join([package, *parts])
        classes += [(module, n) for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    models: set[str] = set()
    while True:
        more = {
            node.name
            for _, node in classes
            if node.name not in models and any(_is_model_base(b, models) for b in node.bases)
        }
        if not more:
            break
        models |= more
    found: dict[str, list[tuple[str, int]]] = {}
    for module, node in classes:
        if node.name in models and not _abstract(node):
            found.setdefault(module, []).append((node.name, node.lineno))
    return found


def _is_model_base(base: ast.expr, models: set[str]) -> bool:
    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
    return name == "Model" or name in models


def _abstract(node: ast.ClassDef) -> bool:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__abstract__" for t in statement.targets
        ):
            return isinstance(statement.value, ast.Constant) and bool(statement.value.value)
    return False


CHECKS: dict[str, Callable[..., None]] = {
    "single_head": test_migrations_single_head,
    "upgrade": test_migrations_upgrade,
    "models_match": test_migrations_models_match,
    "stairway": test_migrations_stairway,
    "no_trace": test_migrations_downgrade_leaves_no_trace,
    "lint": test_migrations_lint,
    "models_imported": test_migrations_models_imported,
}
