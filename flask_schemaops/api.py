"""One function per command. Each returns data and raises :class:`SchemaOpsError`.

Every function takes ``app`` (default: the current app) and ``directory`` (default:
the configured migrations directory). Functions that work on databases take
``binds``: the names of the databases to work on (``default`` for
``SQLALCHEMY_DATABASE_URI``, else a ``SQLALCHEMY_BINDS`` key); all by default.
They return one result per database. Nothing here prints or exits.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, has_app_context

from . import targets
from .config import WARNINGS_ATTRIBUTE, file_in_the_way, versions_directory
from .errors import (
    ConfigurationError,
    DirectoryError,
    RevisionError,
    SchemaOpsError,
    UnknownRevisionError,
)
from .extension import get_state
from .locking import OnWait
from .logs import configure_logging
from .results import (
    Baseline,
    Branch,
    Check,
    Diagnosis,
    DowngradePreview,
    EnvConversion,
    Health,
    LintReport,
    Loss,
    Revision,
    Run,
    Squash,
    Status,
    Template,
    Written,
)
from .session import (
    OnStep,
    RunOptions,
    Session,
    describe_diff,
    heads_advice,
    open_project,
    resolve,
    translate,
    unknown_revision,
)

TEMPLATES = Path(__file__).parent / "templates"
T = TypeVar("T")

# Alembic is imported inside the functions that run its commands: those answered from
# the revision headers (`status`, an upgrade with nothing to do) never load it.

__all__ = [
    "baseline",
    "branches",
    "check",
    "configure_logging",
    "convert_env",
    "current",
    "databases",
    "doctor",
    "downgrade",
    "downgrade_preview",
    "edit",
    "ensure_version",
    "heads",
    "health",
    "history",
    "init",
    "lint",
    "list_templates",
    "merge",
    "migrate",
    "revision",
    "show",
    "squash",
    "stamp",
    "status",
    "upgrade",
]


# --- Scaffolding -------------------------------------------------------------


# Flask-Migrate's template names. Its multi-database template becomes ours, which
# serves several databases with a history each; its aioflask ones have no equivalent.
MULTIDB_TEMPLATE = "flask-multidb"
ASYNC_TEMPLATES = ("aioflask", "aioflask-multidb")


def list_templates() -> list[Template]:
    """The templates ``init`` can use, with the first line of each README; then
    Flask-Migrate's name for several databases."""
    found = []
    for folder in sorted(TEMPLATES.iterdir()):
        readme = folder / "README"
        if readme.is_file():
            first = readme.read_text(encoding="utf-8").strip().splitlines()[0]
            found.append(Template(name=folder.name, description=first))
    found.append(
        Template(
            name=MULTIDB_TEMPLATE,
            description="Flask-Migrate's name; makes the flask template, which serves"
            " several databases with a history each.",
        )
    )
    return found


def init(
    directory: str | Path | None = None,
    *,
    template: str = "flask",
    package: bool = False,
    app_import_path: str | None = None,
    app: Flask | None = None,
) -> Path:
    """Create a migrations directory from ``template``; return its path.

    ``app_import_path`` (as given to ``flask --app``) is written to alembic.ini so
    plain ``alembic`` can load the app.
    """
    if template in ASYNC_TEMPLATES:
        raise ConfigurationError(
            f"flask-schemaops has no {template!r} template: it migrates through the engines"
            " of Flask-SQLAlchemy, which are not async, and aioflask's env.py needs an async"
            " one. For a Flask-SQLAlchemy app, use the flask template (the default)."
        )
    state = get_state(app)
    target = state.resolve_directory(directory)
    binds = [t.bind_key for t in targets.all_targets(state.app)]  # refuses a broken set first
    source = TEMPLATES / ("flask" if template == MULTIDB_TEMPLATE else template)
    if not (source / "env.py").is_file():
        names = ", ".join(t.name for t in list_templates())
        raise ConfigurationError(f"Unknown template {template!r}. Available: {names}.")
    blocker = file_in_the_way(target)
    if blocker is not None:
        raise DirectoryError(
            f"Cannot create the migrations directory {target}:"
            f" {'it' if blocker == target else blocker} is a file. Pick another path with"
            " -d/--directory."
        )
    versions = target / "versions"
    try:
        if target.is_dir() and any(target.iterdir()):
            raise DirectoryError(
                f"{target} already exists and is not empty; init only creates a new"
                " directory. Pick another with -d/--directory, or remove this one first."
            )
        versions.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():
            if item.name == "alembic.ini.mako":
                _render_ini(item, target / "alembic.ini", state.app, app_import_path)
            elif item.is_file():
                shutil.copyfile(item, target / item.name)
        folders = [versions_directory(target, key) for key in binds]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        if package:
            for folder in {target, versions, *folders}:
                (folder / "__init__.py").touch()
    except OSError as exc:
        raise DirectoryError(
            f"Cannot create the migrations directory {target}: {exc.strerror or exc}."
            " Pick a path where you may create a directory with -d/--directory."
        ) from exc
    return target


def _render_ini(template: Path, destination: Path, app: Flask, import_path: str | None) -> None:
    from mako.template import Template as Mako

    options = _plain_alembic(app, import_path, destination.parent)
    text = Mako(filename=str(template)).render(
        flask_app=options["flask_app"], sys_path=options["prepend_sys_path"]
    )
    destination.write_text(text, encoding="utf-8")


def _plain_alembic(app: Flask, import_path: str | None, folder: Path) -> dict[str, str]:
    """The ``[alembic]`` options with which plain ``alembic``, run in ``folder``, loads
    ``app`` (``import_path`` as given to ``flask --app``)."""
    module, _, attribute = (import_path or "").partition(":")
    if not module or module.endswith(".py") or "/" in module or os.sep in module:
        module = "" if app.import_name == "__main__" else app.import_name
    reference = module + (f":{attribute}" if module and attribute else "")
    root = _import_root(module) or Path(app.root_path)
    relative = os.path.relpath(root, folder)
    return {
        "script_location": "%(here)s",
        "prepend_sys_path": "%(here)s" if relative == "." else f"%(here)s{os.sep}{relative}",
        "flask_app": reference,
    }


def _import_root(module: str) -> Path | None:
    """The sys.path entry ``module`` was imported from."""
    top = sys.modules.get(module.split(".")[0]) if module else None
    filename = getattr(top, "__file__", None)
    if not filename:
        return None
    path = Path(filename).resolve().parent
    return path.parent if Path(filename).stem == "__init__" else path


# --- Writing revisions ---------------------------------------------------------


def revision(
    message: str | None = None,
    *,
    autogenerate: bool = False,
    sql: bool = False,
    head: str = "head",
    splice: bool = False,
    branch_label: str | None = None,
    version_path: str | None = None,
    rev_id: str | None = None,
    depends_on: str | Sequence[str] | None = None,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> Written:
    """Write a new revision script; with ``autogenerate``, one for each database whose
    models changed.

    An autogenerate run that finds no change writes nothing: the result's
    ``no_changes`` is true. A hand-written revision needs a single database
    (``binds``) when the app has several.
    """
    from alembic import command

    if sql and autogenerate:
        raise RevisionError(
            "--sql and --autogenerate do not go together: autogenerate compares the models"
            " with the live database. Generate the revision, then `flask db upgrade --sql`."
        )

    def write(s: Session) -> Written:
        s.versions.mkdir(parents=True, exist_ok=True)
        if head == "head":
            s.require_single_head("revision --autogenerate" if autogenerate else "revision")
        s.require_new(rev_id, branch_label)
        result = command.revision(
            s.config,
            message=message,
            autogenerate=autogenerate,
            sql=sql,
            head=head,
            splice=splice,
            branch_label=branch_label,
            version_path=version_path,
            rev_id=rev_id,
            depends_on=depends_on,  # type: ignore[arg-type]
        )
        scripts = result if isinstance(result, list) else [result]
        written = [x for x in scripts if x is not None]
        findings, problems = _lint_new(s, written) if autogenerate else ((), ())
        return Written(
            scripts=tuple(s.revision(x) for x in written),
            sql=s.sql_output() if sql else None,
            warnings=tuple(s.config.attributes.get(WARNINGS_ATTRIBUTE, ())) + problems,
            findings=findings,
        )

    arguments = (head, *([depends_on] if isinstance(depends_on, str) else depends_on or ()))
    with open_project(
        app, directory, arguments, binds=binds, x_args=x_args, autogenerate=autogenerate
    ) as p:
        if not autogenerate:
            p.sessions = [p.only("gets the new revision")]
        else:
            p.require_at_head()
            p.require_models()
        results = p.each(write)
        return Written(
            scripts=tuple(x for r in results for x in r.scripts),
            sql="".join(r.sql for r in results if r.sql is not None) if sql else None,
            warnings=tuple(w for r in results for w in r.warnings),
            findings=tuple(f for r in results for f in r.findings),
        )


def migrate(message: str | None = None, **options: Any) -> Written:
    """``revision`` with autogenerate, under Flask-Migrate's name."""
    return revision(message, autogenerate=True, **options)


def merge(
    revisions: Sequence[str] = (),
    *,
    message: str | None = None,
    branch_label: str | None = None,
    rev_id: str | None = None,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> Written:
    """Write a revision that merges ``revisions`` into one; by default, merge the heads
    of every database whose history has several."""
    from alembic import command

    with open_project(app, directory, tuple(revisions), binds=binds) as p:
        if revisions:
            sessions = [p.holding(revisions)]
        else:
            sessions = [s for s in p.sessions if s.has_scripts and len(s.script.get_heads()) > 1]
            if not sessions:
                raise RevisionError("Nothing to merge: every revision history has one head.")

        def write(s: Session) -> Revision | None:
            s.require_new(rev_id, branch_label)
            _require_heads(s, revisions)
            script = command.merge(
                s.config,
                list(revisions) or ["heads"],
                message=message,
                branch_label=branch_label,
                rev_id=rev_id,
            )
            return s.revision(script) if script is not None else None

        p.sessions = sessions
        written = p.each(write)
        return Written(scripts=tuple(x for x in written if x is not None))


def _require_heads(session: Session, revisions: Sequence[str]) -> None:
    """Refuse to merge a revision that is not a head (Alembic's error offers a
    ``--splice`` that ``merge`` does not have)."""
    heads = session.script.get_heads()
    for name in revisions:
        found = resolve(session.script.revision_map, name) or ()
        others = [r for r in found if r not in heads]
        if others:
            what = others[0] if others[0] == name else f"{name} ({others[0]})"
            raise RevisionError(
                f"{what} is not a head, and a merge joins heads (the heads are"
                f" {', '.join(sorted(heads))}). Name heads only, or none to merge them all:"
                ' `flask db merge -m "merge heads"`.'
            )


def edit(
    revision: str = "head",
    *,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Path]:
    """The files of ``revision`` (``current`` reads the database), for an editor."""

    def files(s: Session) -> list[Path]:
        ids: tuple[str, ...] | str = s.current() if revision == "current" else revision
        return [Path(x.path) for x in s.script.get_revisions(ids) if x is not None]

    with open_project(app, directory, (revision,), binds=binds) as p:
        found = [path for paths in p.each(files, revisions=[revision]) for path in paths]
        if not found:
            raise UnknownRevisionError(f"No revision script matches {revision!r}.")
        return found


# --- Running migrations ----------------------------------------------------------


def _require_target(revision: str, sql: bool) -> None:
    """A range names a script to write, not a database's move: offline only."""
    if ":" in revision and not sql:
        raise RevisionError(
            f"{revision!r} is a range, which only --sql takes (start:end of the SQL script)."
            " To move the database, name the revision to reach, e.g. the part after the colon."
        )


def upgrade(
    revision: str = "head",
    *,
    sql: bool = False,
    tag: str | None = None,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    on_step: OnStep | None = None,
    lock: bool | None = None,
    lock_timeout: float | None = None,
    on_wait: OnWait | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Run]:
    """Apply revisions up to ``revision`` (``head``, an id, ``+N``, ``id+N``) on each
    database whose history knows ``revision``.

    ``on_step`` is called after each revision with its :class:`Step`. With ``sql``
    nothing touches the database: the results carry the SQL script. The migration
    lock (``lock``, ``lock_timeout``: default from the settings) serialises
    concurrent upgraders; ``on_wait`` is called when this one has to wait.
    """
    _require_target(revision, sql)
    options = RunOptions(sql, on_step, lock, lock_timeout, on_wait)

    def run(s: Session) -> list[Run]:
        if revision.split(":")[-1] == "head":
            s.require_single_head("upgrade")
        unchanged = None if sql else s.at_head(revision)
        if unchanged is not None:
            return [unchanged]
        from alembic import command

        return s.run(
            "upgrade",
            lambda: command.upgrade(s.config, revision, sql=sql, tag=tag),
            options,
            revision,
        )

    with open_project(app, directory, (revision,), binds=binds, x_args=x_args) as p:
        p.tag = tag
        if sql:
            p.require_one_script()
        found = p.each(run, revisions=[revision], empty=Session.untouched)
        return [r for runs in found for r in runs]


def downgrade(
    revision: str = "-1",
    *,
    sql: bool = False,
    tag: str | None = None,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    on_step: OnStep | None = None,
    lock: bool | None = None,
    lock_timeout: float | None = None,
    on_wait: OnWait | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Run]:
    """Revert revisions down to ``revision`` (``-N``, an id, ``base``) on each database
    whose history knows it. Data in dropped tables and columns is lost. The other
    arguments are those of :func:`upgrade`."""
    from alembic import command

    _require_target(revision, sql)
    if sql and ":" not in revision:
        revision = f"head:{revision}"  # offline, there is no database to start from
    options = RunOptions(sql, on_step, lock, lock_timeout, on_wait)
    with open_project(app, directory, (revision,), binds=binds, x_args=x_args) as p:
        p.tag = tag
        if sql:
            p.require_one_script()
        found = p.each(
            lambda s: s.run(
                "downgrade",
                lambda: command.downgrade(s.config, revision, sql=sql, tag=tag),
                options,
            ),
            revisions=[revision],
            empty=Session.untouched,
        )
        return [r for runs in found for r in runs]


def stamp(
    revisions: Sequence[str] = ("head",),
    *,
    sql: bool = False,
    tag: str | None = None,
    purge: bool = False,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    on_step: OnStep | None = None,
    lock: bool | None = None,
    lock_timeout: float | None = None,
    on_wait: OnWait | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Run]:
    """Record ``revisions`` in the version table without running any migration."""
    from alembic import command

    for revision in revisions:
        _require_target(revision, sql)

    options = RunOptions(sql, on_step, lock, lock_timeout, on_wait)
    with open_project(app, directory, tuple(revisions), binds=binds, x_args=x_args) as p:
        p.tag = tag
        if sql:
            p.require_one_script()
        found = p.each(
            lambda s: s.run(
                "stamp",
                lambda: command.stamp(s.config, list(revisions), sql=sql, tag=tag, purge=purge),
                options,
            ),
            revisions=revisions,
            empty=Session.untouched,
        )
        return [r for runs in found for r in runs]


def ensure_version(
    *,
    sql: bool = False,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> str | None:
    """Create the version tables that are missing; with ``sql``, return the SQL instead."""
    from alembic import command

    def ensure(s: Session) -> str:
        command.ensure_version(s.config, sql=sql)
        return s.sql_output()

    with open_project(app, directory, binds=binds) as p:
        if sql:
            p.require_one_script()
        output = "".join(p.each(ensure))
        return output if sql else None


def check(
    *,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Check]:
    """Per database, the model changes that no revision covers yet (empty when none)."""
    from alembic import command
    from alembic.util import AutogenerateDiffsDetected

    def compare(s: Session) -> Check:
        s.versions.mkdir(parents=True, exist_ok=True)
        try:
            command.check(s.config)
        except AutogenerateDiffsDetected as exc:
            heads = s.heads()
            next_step = (
                f"The revision history has {len(heads)} heads ({', '.join(heads)}). "
                + heads_advice(s.script, heads, "revision --autogenerate")
                if len(heads) > 1
                else 'Generate a revision: flask db revision --autogenerate -m "..."'
            )
            return Check(s.name, tuple(describe_diff(d) for d in exc.diffs), next_step)
        return Check(s.name)

    with open_project(app, directory, binds=binds, x_args=x_args) as p:
        p.require_at_head()
        p.require_models()
        return p.each(compare)


# --- Inspecting --------------------------------------------------------------------


def status(
    *,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Status]:
    """Per database: its current revision, the heads, and the revisions still to apply.

    A database whose version table names a revision no script here has is no error:
    its status lists that revision in ``unknown``, and its ``state`` is ``ahead``
    where the audit history shows it applied after this history's head (newer code
    migrated it first), ``unknown`` otherwise (newer code, or another branch). A
    revision that ``squash`` replaced is an error: that database is behind.

    The version table is read directly; with ``x_args``, which env.py may read to
    pick another database, env.py is run to read it (see :func:`current`). A database
    that cannot be reached does not stop the others: the error, a
    :class:`~flask_schemaops.errors.DatabaseUnavailableError`, carries their results
    (``completed``, like ``current``'s) and names it (``failed``)."""
    with open_project(app, directory, binds=binds, x_args=x_args) as p:
        return p.everywhere(Session.status)


def current(
    *,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Revision]:
    """The revisions the databases are at (none for a database at base): those the
    version table records, and, as Alembic counts them, the heads those depend on.

    The version table is read directly, with one query. Given ``x_args``, env.py
    may pick another database from them (one per tenant, say): then env.py is run
    to read the database it picks, as Alembic's ``current`` does."""

    def at(s: Session) -> list[Revision]:
        now = s.current()
        if now and not s.has_scripts:
            raise unknown_revision(now[0], s.versions, ())
        order = s.line()
        ids = [h.revision for h in order or ()]
        if order is not None and all(r in ids for r in now):
            return [s.from_line(order, ids.index(r)) for r in now]
        # The version table leaves out a head that a revision it holds depends on;
        # Alembic still counts that head as current.
        found = s.script.get_all_current(now) if now else set()
        return [s.revision(x) for x in sorted(found, key=lambda x: x.revision)]

    with open_project(app, directory, binds=binds, x_args=x_args) as p:
        try:
            return [r for found in p.everywhere(at) for r in found]
        except SchemaOpsError as exc:
            exc.completed = tuple(r for found in exc.completed for r in found)
            raise


def databases(
    *,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[str]:
    """The names of the databases the migrations directory migrates: ``default``
    (``SQLALCHEMY_DATABASE_URI``) and the ``SQLALCHEMY_BINDS`` keys, in the order the
    commands visit them. Under another tool's ``env.py``, those its run covers. Nothing
    connects."""
    with open_project(app, directory, whole_history=False) as p:
        return [x.name for s in p.sessions for x in (s, *s.siblings)]


def heads(
    *,
    resolve_dependencies: bool = False,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Revision]:
    """The head revisions of each history."""

    def find(s: Session) -> list[Revision]:
        order = s.line()
        if order is not None:
            return [s.from_line(order, 0)] if order else []
        ids = "heads" if resolve_dependencies else tuple(s.script.get_heads())
        return [s.revision(x) for x in s.script.get_revisions(ids) if x is not None]

    return _collect(find, app, directory, binds)


def branches(
    *,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Branch]:
    """The revisions where a history branches, each with the revisions built on it."""

    def find(s: Session) -> list[Branch]:
        found = []
        for x in s.script.walk_revisions():
            if x.is_branch_point:
                point = s.revision(x)
                into = s.script.get_revisions(point.next_revisions)
                found.append(Branch(point, tuple(s.revision(y) for y in into if y is not None)))
        return found

    return _collect(find, app, directory, binds)


def show(
    revisions: Sequence[str] = ("head",),
    *,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Revision]:
    """The scripts of ``revisions`` (``current``: the database's)."""

    def find(s: Session) -> list[Revision]:
        ids = tuple(x for r in revisions for x in (s.current() if r == "current" else (r,)))
        return [s.revision(x) for x in s.script.get_revisions(ids) if x is not None]

    with open_project(app, directory, tuple(revisions), binds=binds) as p:
        found = [r for rs in p.each(find, revisions=revisions) for r in rs]
        if not found:
            raise UnknownRevisionError(f"No revision script matches {' '.join(revisions)!r}.")
        return found


def history(
    rev_range: str | None = None,
    *,
    indicate_current: bool = False,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Revision]:
    """Revisions newest first, optionally within ``rev_range`` (``start:end``, either
    side optional; ``current`` stands for the database's revision)."""
    from alembic.util import CommandError

    if rev_range is not None and ":" not in rev_range:
        raise RevisionError(
            f"History range {rev_range!r} needs a colon: `start:end`, `start:` or `:end`."
        )
    base, _, head = (rev_range or ":").partition(":")

    def walk(s: Session) -> list[Revision]:
        now: tuple[str, ...] = (
            () if not (indicate_current or "current" in (base, head)) else s.current()
        )
        lower: str | tuple[str, ...] = now or "base" if base == "current" else base or "base"
        upper: str | tuple[str, ...] = now or "base" if head == "current" else head or "heads"
        if upper == "base":
            if lower != "base":
                raise _reversed(base, head)
            return []
        marked = set(now) if indicate_current else set()  # as Alembic marks them
        fast = s.walk_line(upper, lower, marked)
        if fast is not None:
            return fast
        try:
            return [
                s.revision(x, current=x.revision in marked)
                for x in s.script.walk_revisions(base=lower, head=upper)  # type: ignore[arg-type]
            ]
        except CommandError as exc:
            if "does not refer to ancestor/descendant" in str(exc) and _walks(s, upper, lower):
                raise _reversed(base, head) from None
            raise

    with open_project(app, directory, (base, head), binds=binds) as p:
        return [r for found in p.each(walk, revisions=[rev_range or ":"]) for r in found]


def _reversed(start: str, end: str) -> RevisionError:
    return RevisionError(
        f"History range '{start}:{end}' is reversed: a range names the older revision first."
        f" Use `flask db history -r {end or 'base'}:{start or 'heads'}`."
    )


def _walks(session: Session, lower: str | tuple[str, ...], upper: str | tuple[str, ...]) -> bool:
    """Whether the history has a range from ``lower`` up to ``upper``."""
    from alembic.util import CommandError

    try:
        return any(True for _ in session.script.walk_revisions(base=lower, head=upper))  # type: ignore[arg-type]
    except CommandError:
        return False


def _collect(
    find: Callable[[Session], list[T]],
    app: Flask | None,
    directory: str | Path | None,
    binds: Sequence[str] | None,
) -> list[T]:
    with open_project(app, directory, binds=binds) as p:
        p.sessions = [s for s in p.sessions if s.has_scripts]
        return [r for found in p.each(find) for r in found]


# --- Moving from Flask-Migrate ---------------------------------------------------------

ENV_BACKUP = "env.py.flask-migrate"


def convert_env(
    directory: str | Path | None = None,
    app: Flask | None = None,
    *,
    write: bool = False,
    app_import_path: str | None = None,
) -> EnvConversion:
    """The unified diff from the directory's env.py (e.g. Flask-Migrate's) to
    flask_schemaops's; with ``write``, put ours in place and keep the old one as
    ``env.py.flask-migrate``.

    Only env.py changes: alembic.ini, script.py.mako and the revisions stay; the
    result lists the ``alembic.ini`` lines plain ``alembic`` then needs
    (``app_import_path`` as given to ``flask --app``). A Flask-Migrate ``--multidb``
    directory is refused, and so is an existing backup.
    """
    import difflib

    from .config import is_multidb_directory, uses_our_environment

    state = get_state(app)
    folder = state.resolve_directory(directory)
    env = folder / "env.py"
    backup = folder / ENV_BACKUP
    if not env.is_file():
        raise DirectoryError(f"No env.py in {folder}: there is nothing to convert.")
    if uses_our_environment(folder):
        return EnvConversion(env=env, backup=backup, diff="")
    old = env.read_text(encoding="utf-8")
    if is_multidb_directory(folder):
        raise DirectoryError(
            f"{folder} is a Flask-Migrate --multidb directory: each revision runs every"
            " database through its upgrade_<bind>()/downgrade_<bind>() functions, which"
            " the flask_schemaops env.py (one history per database) does not call. Nothing"
            " was changed. Keep this env.py: `flask db` runs it as it is, for every"
            " database. To move to one history per database, start a new directory"
            " (`flask db init -d <new>`), write a baseline revision for each database"
            " there (`flask db -d <new> revision -m baseline --bind NAME`), and record it"
            " in each database with `flask db -d <new> stamp --purge head`."
        )
    new = (TEMPLATES / "flask" / "env.py").read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{env} (current)",
            tofile=f"{env} (flask_schemaops)",
        )
    )
    import configparser

    ini = configparser.ConfigParser(interpolation=None)
    ini.read(folder / "alembic.ini", encoding="utf-8")
    wanted = _plain_alembic(state.app, app_import_path, folder)
    missing = tuple(
        f"{key} = {value}"
        for key, value in wanted.items()
        if value and not ini.has_option("alembic", key)
    )
    if not write:
        return EnvConversion(env=env, backup=backup, diff=diff, ini_lines=missing)
    try:
        with backup.open("xb") as kept:  # "x": an earlier backup is never overwritten
            kept.write(env.read_bytes())
    except FileExistsError:
        raise DirectoryError(
            f"{backup} already exists (kept by an earlier conversion?), so env.py was not"
            " changed. Move that file elsewhere or delete it, then convert again."
        ) from None
    env.write_text(new, encoding="utf-8")
    return EnvConversion(env=env, backup=backup, diff=diff, ini_lines=missing, written=True)


def health(*, app: Flask | None = None) -> Health:
    """:func:`status` for a health endpoint: never raises, reports errors as data.

    :attr:`~flask_schemaops.results.Health.ok` is false while a revision is pending
    or on an error; a database ahead of this code (it records a revision no script
    here has: newer code migrated it first) is reported as ``ahead`` or ``unknown``
    and is ok. It costs one query per database (and, for a database ahead, a read
    of the audit history) and imports no revision script."""
    if app is None and not has_app_context():
        return Health(
            error="No Flask app to check: outside a request or app context, pass it,"
            " as in `schemaops.health(app)`."
        )
    try:
        return Health(databases=tuple(status(app=app)))
    except SchemaOpsError as exc:
        return Health(error=str(exc))


# --- Reviewing migrations ----------------------------------------------------------------


def lint(
    paths: Sequence[str | Path] = (),
    *,
    pending: bool = False,
    since: str | None = None,
    dialect: str | None = None,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> LintReport:
    """Check revision scripts for operations that fail or hurt on a production
    database; the scripts are read with ``ast``, never run.

    By default every revision of every database. ``pending``: the revisions not yet
    applied to each database (this connects to them); ``since``: the revisions a
    database at ``since`` would still apply (an id, a label, ``head``, ``base``,
    ``current``...); ``paths``: these files or folders, each judged alone (the
    history, which may have several heads, is checked in the other modes). The rules
    follow each database's kind, or ``dialect`` for all (``postgresql``, ``mysql``,
    ``mariadb``, ``sqlite``, ``mssql`` or ``oracle``; another name raises
    ConfigurationError): the PostgreSQL-only rules apply everywhere with
    ``dialect="postgresql"``. Disabled rules, severities and the failing threshold
    come from the ``lint_*`` settings.
    """
    from . import headers
    from .lint import dialect_name, lint_paths, scripts_in

    if sum((bool(paths), pending, since is not None)) > 1:
        raise ConfigurationError("Lint paths, --pending or --since: one of them, not several.")
    if dialect is not None:
        dialect = dialect_name(dialect)
    missing = [str(x) for x in paths if not Path(x).exists()]
    if missing:
        raise DirectoryError(f"Nothing to lint at {', '.join(missing)}: no such file or folder.")
    with open_project(
        app, directory, (since,) if since else (), binds=binds, whole_history=False
    ) as p:
        settings = p.state.settings
        modules = _app_modules(p.state.app)
        given = [Path(x).resolve() for x in paths]

        def owner(path: Path) -> Session:
            inside_one = [s for s in p.sessions if _within(path, s.versions)]
            return inside_one[0] if inside_one else p.sessions[0]

        def graph(s: Session) -> dict[str, headers.Header]:
            found = headers.read_headers(s.versions, {})
            if found is None:
                raise RevisionError(
                    f"A revision in {s.versions} has a header (revision, down_revision) that"
                    " is not plain literals, so the order of the revisions cannot be read"
                    " without running them. Lint them all (no --pending/--since), or name"
                    " the files."
                )
            return found

        def check(s: Session) -> LintReport | None:
            files: list[Path]
            if paths:
                files = [x for x in given if owner(x) is s]
            elif pending:
                found = graph(s)
                now = s.current()
                unknown = [r for r in now if r not in found]
                if unknown:
                    raise unknown_revision(unknown[0], s.versions, ())
                files = [Path(h.path) for h in headers.pending(found, set(now))]
            elif since is not None:
                after = _after(s, graph(s), since)
                if after is None:
                    return None
                files = [Path(h.path) for h in after]
            else:
                files = scripts_in(s.versions)
            if paths and not files:
                return None
            return lint_paths(
                files,
                dialect=dialect or s.target.engine.dialect.name,
                disable=settings.lint_disable,
                severity=settings.lint_severity,
                fail_on=settings.lint_fail_on,
                app_modules=modules,
                # Files named by path are judged alone; the history (SO121) is linted
                # with it, as a whole or from --pending or --since.
                histories=[s.versions] if s.versions.is_dir() and not paths else [],
                target=s.name,
                naming_convention=s.target.metadata.naming_convention,
            )

        reports = [r for r in p.each(check) if r is not None]
        if since is not None and not reports:
            raise unknown_revision(since, p.sessions[0].versions, (since,))
    return LintReport(
        findings=tuple(f for r in reports for f in r.findings),
        files=tuple(f for r in reports for f in r.files),
        suppressed=sum(r.suppressed for r in reports),
        fail_on=settings.lint_fail_on,
    )


def downgrade_preview(
    revision: str = "-1",
    *,
    x_args: Sequence[str] = (),
    tag: str | None = None,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> DowngradePreview:
    """What :func:`downgrade` to ``revision`` would revert, and what it would destroy:
    the tables and columns dropped by the ``downgrade()`` of each revision about to be
    reverted (read from the scripts), with the rows they hold now.

    A table or column that a revision reverted earlier in the run renames (or
    creates) is followed back to what it is in the database now; one that cannot be
    found there is listed with ``rows`` None, which needs a confirmation too. So is
    SQL that may drop anything (``Loss.sql``: its text is built as the script runs,
    or it is a statement the linter does not know), and every drop when ``x_args``
    or ``tag`` are given: env.py may pick another database from them, whose rows
    cannot be counted without running it.
    Nothing changes: when this raises, nothing was reverted on any database."""
    from alembic.script.revision import RangeNotAncestorError

    from .lint import downgrade_changes

    _require_target(revision, sql=False)

    def preview(s: Session) -> tuple[list[Revision], list[Loss]]:
        now = s.current()
        try:
            scripts = [
                x
                for x in s.script.iterate_revisions(now, revision, select_for_downgrade=True)
                if x is not None
            ]
        except RangeNotAncestorError:
            raise RevisionError(
                f"Cannot downgrade to {revision!r}: it is not below where the database is"
                f" ({', '.join(now) or '<base>'}). See `flask db history -i`; to move up,"
                " use `flask db upgrade`."
            ) from None
        # A Flask-Migrate --multidb script drops in downgrade_<bind>(): count there.
        sessions = {x.name: x for x in (s, *s.siblings)}
        losses: list[Loss] = []
        with ExitStack() as stack:
            databases: dict[str, _Reverting] = {}
            for script in scripts:
                for change in downgrade_changes(script.path, s.target.engine.dialect.name):
                    where = sessions.get(change.bind or targets.DEFAULT, s) if change.bind else s
                    if where.name not in databases:
                        connection = (
                            None
                            if s.project.env_arguments
                            else stack.enter_context(
                                targets.connect(where.target.engine, where.target.setting)
                            )
                        )
                        databases[where.name] = _Reverting(connection)
                    found = databases[where.name].apply(change)
                    if found is not None:
                        rows, found_as = found
                        default = where.target.engine.dialect.default_schema_name
                        losses.append(
                            Loss(
                                target=where.name,
                                revision=script.revision,
                                table=change.table,
                                column=change.column,
                                rows=rows,
                                file=script.path,
                                line=change.line,
                                found_as=found_as,
                                schema=None if change.schema == default else change.schema,
                                sql=change.sql,
                            )
                        )
        return [s.revision(x) for x in scripts], losses

    with open_project(app, directory, (revision,), binds=binds, x_args=x_args) as p:
        p.tag = tag
        # A database whose history has no revision yet has nothing to revert; the
        # downgrade itself says so.
        sessions = [s for s in p.sessions if s.has_scripts and s.knows(revision)]
        if not sessions and all(s.has_scripts for s in p.sessions):
            raise p.unknown([revision])
        results = []
        for s in sessions:  # not p.each: a failure here reverted nothing anywhere
            try:
                results.append(preview(s))
            except Exception as exc:
                error = translate(exc, s, p.arguments)
                where = f"[{s.name}] " if len(sessions) > 1 else ""
                raise type(error)(
                    f"{where}{error}\nNothing was reverted"
                    + (" on any database." if len(sessions) > 1 else ".")
                ) from exc
        return DowngradePreview(
            reverted=tuple(r for found, _ in results for r in found),
            losses=tuple(loss for _, found in results for loss in found),
            confirm=p.state.settings.downgrade_confirm,
        )


class _Reverting:
    """The tables and columns of one database as a downgrade changes them, revision
    by revision, each traced back to the name it has in the database now: what a
    drop destroys is counted there."""

    def __init__(self, connection: Any):
        self.connection = connection  # None: the database is not known, nothing is counted
        # (schema, name during the downgrade) -> name now; None: no table of today
        self.tables: dict[tuple[Any, ...], str | None] = {}
        # (schema, table now, name during the downgrade) -> name now; None: no column of today
        self.columns: dict[tuple[Any, ...], str | None] = {}
        self.created: set[tuple[Any, ...]] = set()  # the keys of what the downgrade creates

    def apply(self, change: Any) -> tuple[int | None, str | None] | None:
        """Follow ``change`` (a :class:`flask_schemaops.lint.Change`). For a drop, return
        what it destroys now: the rows (values), None when it is not found, and its name
        now when a reverted revision renamed it."""
        schema, kind = change.schema, change.kind
        table_key = (schema, change.table)
        table = self.tables.get(table_key, change.table)
        column_key = (schema, table, change.column)
        column = self.columns.get(column_key, change.column) if table is not None else None
        if kind == "create_table":
            self._move(self.tables, None, table_key, None, created=True)
        elif kind == "rename_table":
            self._move(self.tables, table_key, (schema, change.new_name), table)
        elif kind == "add_column" and table is not None:
            self._move(self.columns, None, column_key, None, created=True)
        elif kind == "rename_column" and table is not None:
            self._move(self.columns, column_key, (schema, table, change.new_name), column)
        elif kind == "sql":  # may drop anything: nothing can be counted
            return None, None
        elif kind in ("drop_table", "drop_column"):
            keys = [table_key] if kind == "drop_table" else [table_key, column_key]
            rows: int | None = None
            found_as = None
            if any(k in self.created for k in keys):
                rows = 0  # it holds nothing the database holds now
            elif (
                self.connection is not None
                and table is not None
                and (kind == "drop_table" or column is not None)
            ):
                rows = targets.count_rows(self.connection, table, column, schema)
                if (table, column) != (change.table, change.column):
                    found_as = table if column is None else f"{table}.{column}"
            if rows is None and change.if_exists:
                rows = 0
            self._move(self.tables if kind == "drop_table" else self.columns, keys[-1], None, None)
            return rows, found_as if rows is not None else None
        return None

    def _move(
        self,
        names: dict[tuple[Any, ...], str | None],
        old: tuple[Any, ...] | None,
        new: tuple[Any, ...] | None,
        value: str | None,
        *,
        created: bool = False,
    ) -> None:
        """The name ``new`` now stands for ``value``, and ``old`` for nothing of today."""
        if new is not None:
            names[new] = value
            if created or old in self.created:
                self.created.add(new)
        if old is not None:
            names[old] = None
            self.created.discard(old)


def _lint_new(s: Session, scripts: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Lint what autogenerate just wrote: the findings, or why it could not be done
    (the revision is written either way)."""
    from .lint import lint_paths

    settings = s.project.state.settings
    try:
        report = lint_paths(
            [x.path for x in scripts],
            dialect=s.target.engine.dialect.name,
            disable=settings.lint_disable,
            severity=settings.lint_severity,
            fail_on=settings.lint_fail_on,
            app_modules=_app_modules(s.project.state.app),
            target=s.name,
            naming_convention=s.target.metadata.naming_convention,
        )
    except SchemaOpsError as exc:
        return (), (f"The new revision was not linted: {exc}",)
    return report.findings, ()


def _app_modules(app: Flask) -> set[str]:
    """The top-level modules of the app and of its models."""
    state = get_state(app)
    names = {app.import_name.split(".")[0]}
    model = getattr(state.db, "Model", None)
    registry = getattr(model, "registry", None)
    for mapper in getattr(registry, "mappers", ()):
        names.add(mapper.class_.__module__.split(".")[0])
    return names - {"__main__", "builtins"}


def _within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _after(s: Session, found: dict[str, Any], since: str) -> list[Any] | None:
    """The revisions a database at ``since`` would still apply, oldest first; None when
    this history has no such revision. ``since`` is resolved as Alembic does (an id, a
    label, ``head``, ``base``...), from the headers; ``current`` is where the database
    is. Several, separated by spaces or lines, name a database at several heads (what
    ``current --bare`` prints; nothing for one at base)."""
    from . import headers

    revisions = headers.revision_map(found)
    at: list[str] = []
    for name in since.split():
        ids = s.current() if name == "current" else resolve(revisions, name)
        if ids is None:
            return None
        at.extend(ids)
    return headers.pending(found, set(at))


# --- Adoption and recovery ---------------------------------------------------------------


def baseline(
    *,
    message: str = "Initial baseline",
    force: bool = False,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Baseline]:
    """Bring databases built by ``db.create_all()`` (or by hand) under migrations.

    With no revision yet, the baseline revision (``message``) is generated from the
    models. A database that has tables but records no revision is compared with the
    schema the revisions build (in a scratch database) and stamped with the
    revision it matches; when it matches none, the differences are returned and
    nothing is stamped, unless ``force`` (then head is stamped). When it matches
    several in a row and those after the first do work a schema cannot show (a data
    migration), nothing is stamped, ``force`` or not: the result (``ambiguous``)
    lists that work. An empty database is left for ``upgrade``. Each result lists
    the revisions still pending.
    """
    from .baseline import baseline as adopt

    with open_project(app, directory, binds=binds) as p:
        return p.each(lambda s: adopt(s, message=message, force=force))


def doctor(
    *,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> list[Diagnosis]:
    """Per database, what is wrong with it and its revision history, with the evidence
    and the fix; read-only. See :mod:`flask_schemaops.doctor` for the checks."""
    from .doctor import examine

    # A broken history is a finding of its own (the `scripts` check), not a stop.
    with open_project(app, directory, binds=binds, whole_history=False) as p:
        return p.each(examine)


def squash(
    first: str,
    last: str,
    *,
    drop_data_migrations: bool = False,
    message: str | None = None,
    binds: Sequence[str] | None = None,
    directory: str | Path | None = None,
    app: Flask | None = None,
) -> Squash:
    """Replace the linear range ``first``..``last`` (both included) with one revision
    that builds the same schema, keeping ``last``'s id and ``first``'s parent.

    Refused while a database of the app is inside the range, or when the range has
    branches; refused while the range runs SQL or moves data (``op.execute``,
    ``get_bind()``) unless ``drop_data_migrations``. The result is verified on
    scratch databases: the squashed history builds the same schema as the original
    at ``last`` and at head, else the files are restored and an error raised. The
    replaced files are kept in ``<directory>/squashed/<last>/``.
    """
    from .squash import squash as replace_range

    with open_project(app, directory, (first, last), binds=binds) as p:
        p.sessions = [p.holding([first, last])]
        [result] = p.each(
            lambda s: replace_range(
                s, first, last, drop_statements=drop_data_migrations, message=message
            )
        )
        return result
