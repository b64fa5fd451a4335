"""The working set of one API call, and the translation of failures.

A :class:`Project` is the migrations directory of one app with one
:class:`Session` per database (the default one and each Flask-SQLAlchemy bind):
its Alembic config, its script directory, its connection. Each database has
its own version history, in its own version table. Whatever goes wrong
becomes a :class:`SchemaOpsError` with the passwords masked.
"""

from __future__ import annotations

import functools
import io
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import sqlalchemy as sa
from flask import Flask

from . import audit, headers
from .config import (
    COMMAND_ATTRIBUTE,
    LOCK_ATTRIBUTE,
    LOCK_WAIT_ATTRIBUTE,
    REACHED_ATTRIBUTE,
    STEP_CALLBACK,
    TRANSACTIONAL_ATTRIBUTE,
    WARNINGS_ATTRIBUTE,
    build_config,
    is_multidb_directory,
    moves_versions,
    require_environment,
    uses_our_environment,
    version_table_in_env,
    versions_directory,
)
from .errors import (
    ConfigurationError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseUnavailableError,
    ForeignKeyCheckError,
    MultipleHeadsError,
    NotUpToDateError,
    RevisionError,
    SchemaOpsError,
    ScriptError,
    UnexpectedError,
    UnknownRevisionError,
    failed_revision,
    in_revision,
    inside,
    redact,
    relative_path,
    script_frame,
)
from .extension import State, get_state
from .headers import Header
from .locking import LockRequest, OnWait, lock_name, migration_lock, sqlite_migrator
from .results import Revision, Run, Status, Step
from .targets import (
    Target,
    all_targets,
    backend_name,
    busy,
    connect,
    current_heads,
    heads_unless_busy,
    masked_url,
    unavailable,
    url_secrets,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory
    from alembic.script.revision import RevisionMap

T = TypeVar("T")
OnStep = Callable[[Step], None]
Bound = str | tuple[str, ...]

_SYMBOLIC = re.compile(r"^(heads?|base|current|[+-]\d+)$")


TRANSACTIONAL_DDL = {"postgresql", "mssql"}

# How to give the app its models, where they declare no table.
IMPORT_MODELS = "Import the models before the app is created (e.g. in the app factory)"


@dataclass(frozen=True)
class RunOptions:
    """How ``upgrade``, ``downgrade`` and ``stamp`` run."""

    sql: bool = False
    on_step: OnStep | None = None
    lock: bool | None = None  # None: the ``lock`` setting
    lock_timeout: float | None = None  # None: the ``lock_timeout`` setting
    on_wait: OnWait | None = None


class Session:
    """One database of the project: its Alembic config and script directory, built
    when first used (answers read from the headers need neither, nor Alembic)."""

    def __init__(
        self,
        project: Project,
        target: Target,
        make_config: Callable[[], Config],
        place: int = 0,
    ):
        self.project = project
        self.target = target
        self.output = io.StringIO()
        self._make_config = make_config
        self._config: Config | None = None
        self._script: ScriptDirectory | None = None
        self._headers: dict[str, Header] | Literal[False] | None = False  # False: not read
        # The other databases this session's env.py migrates along with its own: the
        # binds, under a Flask-Migrate --multidb env.py. Read, never run on their own.
        self.siblings: list[Session] = []
        # Which of env.py's runs of the migrations is this database's: a sibling's
        # is its place among the app's databases, as that env.py visits them.
        self.place = place

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = self._make_config()
            self._config.output_buffer = self.output
        return self._config

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def history(self) -> str | None:
        """The bind whose history this database follows: its own with our env.py, the
        directory's one (None) with another tool's."""
        return self.target.bind_key if self.project.ours else None

    @property
    def versions(self) -> Path:
        return versions_directory(self.project.directory, self.history)

    @property
    def has_scripts(self) -> bool:
        """False for a bind added after ``init`` that has no revision yet."""
        return self.history is None or self.versions.is_dir()

    @property
    def script(self) -> ScriptDirectory:
        if self._script is None:
            from alembic.script import ScriptDirectory

            self._script = ScriptDirectory.from_config(self.config)
        return self._script

    def headers(self) -> dict[str, Header] | None:
        """The revision headers, read without importing the scripts, when the scripts
        are exactly the files of :attr:`versions` (no setting moves them). Read once
        per session: one API call."""
        if self._headers is False:
            self._headers = self._read_headers()
        return self._headers

    def _read_headers(self) -> dict[str, Header] | None:
        if not self.project.ours or moves_versions(self.project.directory):
            return None
        if self.project.state.extension.config_callbacks:  # they may change anything
            locations = self.config.get_main_option("version_locations")
            if (locations and Path(locations) != self.versions) or self.config.get_main_option(
                "recursive_version_locations"
            ):
                return None
        return headers.read_headers(self.versions, self.project.state.headers)

    def knows(self, revision: str) -> bool:
        """Whether ``revision`` (an id, label, range or relative form) means something here."""
        return self.unknown_part(revision) is None

    def unknown_part(self, revision: str) -> str | None:
        """The id or label in ``revision`` that no script here has; None when all are
        known. A prefix of several ids is an error of its own."""
        if not self.has_scripts:
            return revision
        for part in re.split(r"[:@]", revision):
            name = re.sub(r"[+-]\d+$", "", part)
            known = not name or _SYMBOLIC.match(name)
            if not known and resolve(self.script.revision_map, name) is None:
                return name
        return None

    def current(self) -> tuple[str, ...]:
        """The revisions the database is at (see :meth:`locate`)."""
        return self.locate()[1]

    def locate(self) -> tuple[str, tuple[str, ...]]:
        """The database, as its URL with the password masked, and the revisions it is at.

        Read from the app's database with one query; but given -x or --tag
        (:attr:`Project.env_arguments`), env.py may work on another database (one per
        tenant, say), so env.py is run to read it, as Alembic's ``current`` does."""
        if not self.project.env_arguments:
            with connect(self.target.engine, self.target.setting) as connection:
                return self.target.url, current_heads(self.project.state, connection)
        from alembic.runtime.environment import EnvironmentContext

        found: list[tuple[str, tuple[str, ...]]] = []

        def read(heads: Sequence[str], context: Any) -> list[Any]:
            found.append((masked_url(context.connection.engine.url), tuple(heads)))
            return []  # nothing to run

        config = self._make_config()  # a config of its own: none of a run's lock or callback
        with EnvironmentContext(
            config, self.script, fn=read, dont_mutate=True, tag=self.project.tag
        ):
            self.script.run_env()
        if len(found) <= self.place:
            raise ConfigurationError(
                f"{self.project.directory / 'env.py'} ran no migration for the database"
                f" {self.name!r}, so where it stands could not be read. Check the -x and"
                " --tag arguments env.py reads."
            )
        return found[self.place]

    def tables_without_models(self) -> list[str]:
        """The tables of the database (those of the app's schema: not the version or
        audit table, nor ``ignore_tables``) when its models declare none, else []. That
        is what a models module not imported before the app is created looks like:
        autogenerate would drop every table."""
        if self.target.metadata.tables:
            return []
        from .scratch import user_tables

        with connect(self.target.engine, self.target.setting) as connection:
            return user_tables(connection, self.project.state.settings)

    def no_models(self, tables: Sequence[str]) -> str:
        """What :meth:`tables_without_models` found, in a sentence."""
        several = self.target.bind_key is not None or len(self.project.sessions) > 1
        listed = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        return (
            f"The models{f' of the database {self.name!r}' if several else ''} declare no"
            f" table, but the database holds {len(tables)} ({listed}): the module that"
            " defines the models is not imported when the app is created, so autogenerate"
            " would drop every table."
        )

    def status(self) -> Status:
        database, now = self.locate()
        unknown = tuple(r for r in now if self.parents(r) is None)
        for name in unknown:  # one that squash replaced: behind, not ahead
            if headers.squashed(self.project.directory, name) is not None:
                raise unknown_revision(name, self.versions, (), self.project.directory)
        if unknown:
            heads = tuple(self.heads()) if self.has_scripts else ()
            origins = [self.origin(r) for r in unknown]
            ahead = all(x is not None and set(x) == set(heads) for x in origins)
            return Status(self.name, database, now, heads, (), unknown=unknown, ahead=ahead)
        if not self.has_scripts:
            return Status(self.name, database, now, (), ())
        found = self.headers()
        if found is not None and all(r in found for r in now):
            return Status(
                target=self.name,
                database=database,
                current=now,
                heads=tuple(sorted(headers.heads(found))),
                pending=tuple(
                    Revision(h.revision, h.down_revisions, h.message, h.path, target=self.name)
                    for h in headers.pending(found, set(now))
                ),
            )
        applied = {x.revision for x in self.script.iterate_revisions(now, "base")} if now else set()
        pending = [x for x in self.script.walk_revisions() if x.revision not in applied]
        return Status(
            target=self.name,
            database=database,
            current=now,
            heads=tuple(self.script.get_heads()),
            pending=tuple(self.revision(x) for x in reversed(pending)),
        )

    def parents(self, revision: str) -> tuple[str, ...] | None:
        """The down revisions of ``revision`` (an id the database or the audit history
        records); None when no script here has it. Read from the headers when it can
        be, so a revision unknown here imports no script."""
        if not self.has_scripts:
            return None
        found = self.headers()
        if found is not None:
            # Exact, or a unique start of an id of 4 or more characters, as Alembic reads it.
            same = [found[revision]] if revision in found else []
            same = same or [h for k, h in found.items() if len(k) > 3 and k.startswith(revision)]
            return same[0].down_revisions if len(same) == 1 else None
        ids = resolve(self.script.revision_map, revision)
        if not ids or len(ids) > 1:
            return None
        script = self.script.get_revision(ids[0])
        return _tuple(script.down_revision) if script is not None else None

    def origin(
        self, revision: str, connection: sa.Connection | None = None
    ) -> tuple[str, ...] | None:
        """Where the database stood before revisions unknown here brought it to
        ``revision``, as the audit history tells (see :func:`audit.origin`); None
        without one. ``connection``: one to the database already open."""
        settings = self.project.state.settings
        if settings.audit_table is None or self.project.env_arguments:
            return None  # given -x or --tag, env.py may work on another database
        with ExitStack() as stack:
            if connection is None:
                connection = stack.enter_context(connect(self.target.engine, self.target.setting))
            return audit.origin(
                connection,
                settings.audit_table,
                settings.version_table_schema,
                revision,
                self.parents,
            )

    def sql_output(self) -> str:
        return self.output.getvalue()

    def run(
        self, command: str, action: Callable[[], None], options: RunOptions, revision: str = ""
    ) -> list[Run]:
        """Run ``action``, the Alembic ``command`` towards ``revision``, and report what
        it did: to this database, then to each sibling (which the same run migrates)."""
        if options.sql:
            action()
            return [Run(self.name, self.target.url, sql=self.sql_output())]
        settings = self.project.state.settings
        self.config.attributes[COMMAND_ATTRIBUTE] = command
        request = None
        if settings.lock if options.lock is None else options.lock:
            timeout = (
                settings.lock_timeout if options.lock_timeout is None else options.lock_timeout
            )
            done = None
            if command == "upgrade" and self.predictable(revision):
                done = lambda: self.at_head(revision) is not None  # noqa: E731
            request = LockRequest(command, timeout, options.on_wait, done)
            self.config.attributes[LOCK_ATTRIBUTE] = request
        steps: list[Step] = []

        def record(step: Step) -> None:
            step = replace(step, target=self.name)
            steps.append(step)
            if options.on_step is not None:
                options.on_step(step)

        self.config.attributes[STEP_CALLBACK] = record
        # Our env.py says where the database it ran on stands once done (the one it
        # picks from -x, say: reading it here would run env.py again). Another tool's
        # env.py says nothing: its databases are read before and after.
        reached: list[tuple[str, ...]] = []
        self.config.attributes[REACHED_ATTRIBUTE] = reached
        with self._lock_around(request):
            sessions = (self, *self.siblings)
            before = [] if self.project.ours else [x.current() for x in sessions]
            started = time.perf_counter()
            try:
                action()
            except Exception as exc:
                raise self.failure(exc, steps) from exc
            # Our env.py says how long it waited for the lock: no revision's time.
            waited = float(self.config.attributes.pop(LOCK_WAIT_ATTRIBUTE, 0.0))
            seconds = time.perf_counter() - started - waited
            after = (
                reached[:1] if self.project.ours and reached else [x.current() for x in sessions]
            )
        if self.project.ours:
            # The steps say where this run began, after any wait. Without a step the
            # database did not move: a waiter found the work done, a stamp found the
            # database where it was asked to be.
            before = [steps[0].from_revisions if steps else after[0]]
        runs = [
            Run(x.name, x.target.url, (), b, a, seconds)
            for x, b, a in zip(sessions, before, after, strict=True)
        ]
        warnings = tuple(self.config.attributes.get(WARNINGS_ATTRIBUTE, ()))
        runs[0] = replace(runs[0], steps=tuple(steps), waited=waited, warnings=warnings)
        return runs

    @contextmanager
    def _lock_around(self, request: LockRequest | None) -> Iterator[None]:
        """Our env.py takes the migration lock itself; another tool's does not, so it
        is held around the whole run of that env.py."""
        if self.project.ours or request is None:
            yield
            return
        settings = self.project.state.settings
        url = self.target.engine.url
        name = lock_name(url, settings.version_table, settings.version_table_schema)
        with migration_lock(
            self.target.engine, name, timeout=request.timeout, on_wait=request.on_wait
        ):
            yield

    def failure(self, exc: Exception, steps: list[Step]) -> SchemaOpsError:
        """The report of a run that failed: which revision, the statement, the cause,
        what this run applied, and where the database stands now."""
        error = translate(exc, self, self.project.arguments)
        failed, frame = failed_revision(exc, self.script)
        command = str(self.config.attributes.get(COMMAND_ATTRIBUTE, "upgrade"))
        if frame is not None:
            lines = [
                f"Revision {failed.revision if failed else '?'} failed"
                f" ({relative_path(frame.filename, self.project.directory)}, line"
                f" {frame.lineno}, in {frame.name})."
            ]
        elif failed is not None:  # the foreign key check after it
            lines = [
                f"Revision {failed.revision} failed SQLite's foreign key check"
                f" ({relative_path(failed.path, self.project.directory)}, after {command}())."
            ]
        else:
            return error  # not a revision's code: Alembic, env.py, the database, a script's import
        statement = getattr(exc, "statement", None)
        if statement:
            lines.append(f"Statement: {_shorten(statement)}")
        detail = str(getattr(exc, "orig", None) or exc).strip()
        if isinstance(exc, ForeignKeyCheckError):
            lines.append(f"Error: {exc.cause}")
        else:
            lines.append(f"Error: {type(exc).__name__}: {detail.splitlines()[0] if detail else ''}")
        lines += [f"Warning: {w}" for w in self.config.attributes.get(WARNINGS_ATTRIBUTE, ())]
        dialect = self.target.engine.dialect.name
        # Our env.py makes SQLite's DDL transactional while foreign keys are on.
        transactional = dialect in TRANSACTIONAL_DDL or bool(
            self.config.attributes.get(TRANSACTIONAL_ATTRIBUTE)
        )
        one_transaction = (
            transactional and not self.project.state.settings.transaction_per_migration
        )
        done = ", ".join(f"{s.revision} ({s.message})" for s in steps) or "none"
        if one_transaction and steps:
            done = f"none: the run was one transaction, rolled back with the failure ({done})"
        verb = {"downgrade": "Reverted", "stamp": "Stamped"}.get(command, "Applied")
        lines.append(f"{verb} in this run: {done}.")
        try:
            lines.append(f"The database is now at {', '.join(self.current()) or '<base>'}.")
        except Exception:  # the report is about the failure; env.py (given -x) may fail too
            lines.append("Where the database stands now could not be read.")
        outside = failed is not None and "autocommit_block" in Path(failed.path).read_text(
            encoding="utf-8", errors="replace"
        )
        if not transactional:
            lines.append(
                f"{backend_name(self.target.engine.dialect)} commits DDL statements at once,"
                " so the failed revision may be partly applied: compare the database with"
                " the script and undo or finish its steps by hand before running it again"
                " (`flask db doctor` lists what it finds)."
            )
        elif outside:
            lines.append(
                "The revision's transaction was rolled back, but statements it ran in"
                " autocommit_block() are not: those that ran stay, and a failed CREATE INDEX"
                " CONCURRENTLY leaves an INVALID index behind. Check with `flask db doctor`,"
                " drop what is left, fix the revision and run the command again."
            )
        else:
            if dialect == "sqlite" and "database is locked" in detail:
                lines.append(
                    "SQLite lets one connection write at a time, and the revision's"
                    " transaction holds that lock (foreign keys are on): a revision that"
                    " writes through another connection (db.session, db.create_all()) waits"
                    " for it. Write through op.execute() or op.get_bind() instead."
                )
            lines.append("The failed revision was rolled back. Fix it and run the command again.")
        return type(error)("\n".join(lines))

    def revision(self, script: Script, *, current: bool = False) -> Revision:
        return Revision(
            target=self.name,
            revision=script.revision,
            down_revisions=_tuple(script.down_revision),
            message=script.doc or "",
            path=script.path,
            branch_labels=tuple(sorted(script.branch_labels)),
            depends_on=_tuple(script.dependencies),
            create_date=_create_date(script.longdoc),
            is_head=script.is_head,
            is_branch_point=script.is_branch_point,
            is_merge_point=script.is_merge_point,
            is_current=current,
            doc=script.longdoc or "",
            next_revisions=tuple(sorted(script.nextrev)),
            dependents=_dependents(script),
        )

    def line(self) -> list[Header] | None:
        """The history newest first from the headers, for a linear history without
        labels (most projects); None where Alembic must build its revision map."""
        found = self.headers()
        return headers.line(found) if found is not None else None

    def walk_line(self, upper: Bound, lower: Bound, marked: set[str]) -> list[Revision] | None:
        """``history``'s range, newest first, from the headers; None when Alembic must
        answer (a history that is not one line, a relative or labelled bound)."""
        order = self.line()
        if order is None:
            return None
        ids = [h.revision for h in order]

        def position(bound: Bound, end: str, default: int) -> int | None:
            if isinstance(bound, tuple):
                bound = bound[0] if len(bound) == 1 else ""
            return default if bound == end else ids.index(bound) if bound in ids else None

        top, bottom = position(upper, "heads", 0), position(lower, "base", len(ids) - 1)
        if top is None or bottom is None or top > bottom:
            return None
        return [self.from_line(order, i, ids[i] in marked) for i in range(top, bottom + 1)]

    def from_line(self, order: list[Header], index: int, current: bool = False) -> Revision:
        """The revision at ``index`` of :meth:`line`, as :meth:`revision` describes it."""
        header = order[index]
        return Revision(
            target=self.name,
            revision=header.revision,
            down_revisions=header.down_revisions,
            message=header.message,
            path=header.path,
            create_date=_create_date(header.doc),
            is_head=index == 0,
            is_current=current,
            doc=header.doc,
            next_revisions=(order[index - 1].revision,) if index else (),
        )

    def heads(self) -> list[str]:
        """The head revisions; from the headers when they can be read statically."""
        found = self.headers()
        return sorted(headers.heads(found)) if found is not None else self.script.get_heads()

    def predictable(self, revision: str) -> bool:
        """Whether "is ``upgrade revision`` a no-op?" can be answered without running
        env.py: from the headers and the version table."""
        return (
            revision in ("head", "heads")
            and not self.project.env_arguments
            and self.headers() is not None
        )

    def at_head(self, revision: str) -> Run | None:
        """A run that did nothing, when ``upgrade revision`` has nothing to do: found with
        one query and without importing a script (the deploy that finds no work)."""
        found = self.headers()
        if found is None or not self.predictable(revision):
            return None
        with connect(self.target.engine, self.target.setting) as connection:
            now = heads_unless_busy(self.project.state, connection)
        if now is None or not headers.nothing_to_apply(found, set(now)):  # None: being written
            return None
        return Run(self.name, self.target.url, before=now, after=now)

    def untouched(self) -> list[Run]:
        """The run on a database whose history has no revision yet: nothing to do."""
        return [Run(self.name, self.target.url, no_revisions=True)]

    def require_new(self, rev_id: str | None, branch_label: str | None) -> None:
        """Refuse, before a script is written, an id or a branch label already taken."""
        if not (rev_id or branch_label) or not self.has_scripts:
            return
        for script in self.script.walk_revisions():
            name = relative_path(script.path, self.project.directory)
            if rev_id is not None and rev_id in (script.revision, *script.branch_labels):
                raise RevisionError(
                    f"Revision id {rev_id!r} is already used by {name}. Choose another"
                    " --rev-id, or leave it out for a generated one."
                )
            if branch_label is not None and branch_label in (
                script.revision,
                *script.branch_labels,
            ):
                raise RevisionError(
                    f"Branch label {branch_label!r} is already used by {name}. Choose another"
                    " --branch-label."
                )

    def require_single_head(self, command: str) -> None:
        """Refuse ``command`` (``upgrade`` or ``revision``, as typed) to 'head' when the
        history has several heads, saying how to go on."""
        found = self.heads()
        if len(found) > 1:
            where = f" of {self.name!r}" if len(self.project.sessions) > 1 else ""
            raise MultipleHeadsError(
                f"The revision history{where} has {len(found)} heads ({', '.join(found)}), so"
                f" 'head' is ambiguous. {heads_advice(self.script, found, command)}"
            )


@dataclass(frozen=True)
class Heads:
    """The heads of a history, told apart: those that grew apart on one branch (two
    revisions added on one parent, to merge), and those of branches kept apart on
    purpose (a branch label, a base of their own, or a revision depends on it)."""

    to_merge: tuple[tuple[str, ...], ...]  # per branch, its heads
    apart: tuple[str, ...]
    reasons: tuple[str, ...]  # why they are apart
    label: str | None  # a branch label of one of them, to name a branch by

    @property
    def merges(self) -> list[str]:
        """The arguments of ``flask db`` that merge :attr:`to_merge`: all heads at once
        when none is apart."""
        if not self.apart and len(self.to_merge) == 1:
            return ['merge -m "merge heads"']
        return [f'merge {" ".join(group)} -m "merge heads"' for group in self.to_merge]

    @property
    def merge(self) -> str:
        """The ``merge`` command(s) for :attr:`to_merge`, in backquotes."""
        return " and ".join(f"`flask db {arguments}`" for arguments in self.merges)


def sort_heads(script: ScriptDirectory, heads: Sequence[str]) -> Heads:
    """:class:`Heads` for the ``heads`` of ``script``."""
    found = [r for r in (script.get_revision(h) for h in heads) if r is not None]
    roots = {r.revision: _roots(script, r.revision) for r in found}
    groups: dict[object, list[str]] = {}
    for head in found:  # a head another revision depends on is its own branch
        labels = frozenset(head.branch_labels)
        key = head.revision if _dependents(head) else (labels, roots[head.revision])
        groups.setdefault(key, []).append(head.revision)
    apart = [r for r in found if any(g == [r.revision] for g in groups.values())]
    reasons: dict[str, None] = {}
    for head in apart:
        if _dependents(head):
            reasons["another revision depends on it"] = None
        elif head.branch_labels:
            reasons[f"branch label {', '.join(sorted(head.branch_labels))}"] = None
        elif len(set(roots.values())) > 1:
            reasons["a base of its own"] = None
    named = sorted(label for r in found for label in r.branch_labels)
    return Heads(
        to_merge=tuple(tuple(g) for g in groups.values() if len(g) > 1),
        apart=tuple(r.revision for r in apart),
        reasons=tuple(reasons),
        label=named[0] if named else None,
    )


def _roots(script: ScriptDirectory, head: str) -> frozenset[str]:
    """The bases ``head`` grows from through its parents (not its dependencies)."""
    roots: set[str] = set()
    seen: set[str] = set()
    stack = [head]
    while stack:
        found = script.get_revision(stack.pop())
        if found is None or found.revision in seen:
            continue
        seen.add(found.revision)
        parents = _tuple(found.down_revision)
        if not parents:
            roots.add(found.revision)
        stack.extend(parents)
    return frozenset(roots)


def heads_advice(script: ScriptDirectory, heads: Sequence[str], command: str) -> str:
    """What to do instead of ``command`` to 'head' where the history has several
    ``heads``: ``upgrade`` applies them all or one branch; ``revision`` (``revision
    --autogenerate``) names the head the new revision goes on. Merging is advised for
    the heads that grew apart on one branch only, never for branches kept apart on
    purpose."""
    found = sort_heads(script, heads)
    one = f"{found.label}@head" if found.label else "<rev>"
    if command == "upgrade":
        then = "`flask db upgrade heads`" if found.apart else "`flask db upgrade`"
        go_on = (
            "apply every head with `flask db upgrade heads`, or one branch with"
            f" `flask db upgrade {one}`"
        )
    else:
        then = f'`flask db {command} -m "..."`'
        go_on = (
            f'name the head the new revision goes on: `flask db {command} --head {one} -m "..."`'
        )
    why = f" ({'; '.join(found.reasons)})" if found.reasons else ""
    if not found.to_merge:
        return f"They are branches kept apart on purpose{why}, so do not merge them: {go_on}."
    merge = f"If two branches each added a revision, merge them: {found.merge}, then {then}."
    if found.apart:
        keep = f"Do not merge {', '.join(found.apart)}: kept apart on purpose{why}."
        return f"{merge} {keep} Or {go_on}."
    return f"{merge} If they are meant to stay apart, {go_on}."


class Project:
    """The migrations directory of one app, with a session per selected database."""

    def __init__(self, state: State, directory: Path, arguments: Sequence[str]):
        self.state = state
        self.directory = directory
        self.arguments = arguments
        self.sessions: list[Session] = []
        self.ours = uses_our_environment(directory)
        self.x_args: Sequence[str] = ()
        self.tag: str | None = None

    @property
    def env_arguments(self) -> bool:
        """Whether -x or --tag is given: env.py may read them and work on another
        database than the app's, so only a run of env.py can say where it stands."""
        return bool(self.x_args) or self.tag is not None

    def each(
        self,
        action: Callable[[Session], T],
        *,
        revisions: Sequence[str] | None = None,
        empty: Callable[[Session], T] | None = None,
    ) -> list[T]:
        """``action`` on every session (those that know all of ``revisions``, when given).

        ``empty`` answers instead for a database whose history has no revision yet
        (a bind added after ``init``), when ``revisions`` are only words like ``head``,
        ``base`` or ``-1``. When one fails, the error says on which databases it ran
        and on which not.
        """

        def waiting(s: Session) -> bool:
            return empty is not None and not s.has_scripts and all(map(_symbolic, revisions or ()))

        sessions = self.sessions
        if revisions is not None:
            sessions = [s for s in sessions if waiting(s) or all(s.knows(r) for r in revisions)]
            if not sessions:
                raise self.unknown(revisions)
        done: list[str] = []
        results = []
        for index, session in enumerate(sessions):
            try:
                results.append(
                    empty(session) if empty is not None and waiting(session) else action(session)
                )
            except Exception as exc:
                error = translate(exc, session, self.arguments)
                error.completed, error.failed = tuple(results), ((session.name, str(error)),)
                if len(sessions) > 1:
                    rest = [s.name for s in sessions[index + 1 :]]
                    error = _placed(error, done, [session.name, *rest])
                raise error from exc
            done.append(session.name)
        return results

    def only(self, what: str) -> Session:
        """The one session ``what`` applies to; with several databases, ask for --bind."""
        if len(self.sessions) == 1:
            return self.sessions[0]
        names = ", ".join(s.name for s in self.sessions)
        raise ConfigurationError(
            f"This app has several databases ({names}); say which one {what} with --bind NAME."
        )

    def require_one_script(self) -> None:
        """Refuse offline SQL for several databases: one stream piped into one
        database would run every database's DDL, and version rows, there."""
        several = [s.name for s in self.sessions if s.has_scripts]
        if len(several) > 1:
            raise ConfigurationError(
                f"--sql writes the script of one database, and this app has several"
                f" ({', '.join(several)}), each with its own SQL for its own database. Pick"
                " one with --bind NAME (and run the command once per database); a revision"
                " range takes that database's ids, e.g."
                ' `--sql "$(flask db current --bind NAME --bare):head"`.'
            )

    def everywhere(self, action: Callable[[Session], T]) -> list[T]:
        """``action`` on every session and on each of its siblings (see
        :attr:`Session.siblings`): a read of every database.

        A database that cannot be reached does not stop the others: the error,
        raised once they are read, carries their results (``completed``)."""
        everyone = [x for s in self.sessions for x in (s, *s.siblings)]
        done: list[str] = []
        results: list[T] = []
        failed: list[tuple[str, str]] = []
        for index, session in enumerate(everyone):
            try:
                results.append(action(session))
            except Exception as exc:
                error = translate(exc, session, self.arguments)
                if not isinstance(error, DatabaseUnavailableError):
                    error.completed = tuple(results)
                    error.failed = (*failed, (session.name, str(error)))
                    if len(everyone) > 1:
                        rest = [s.name for s in everyone[index + 1 :]]
                        missed = [*(n for n, _ in failed), session.name, *rest]
                        error = _placed(error, done, missed)
                    raise error from exc
                failed.append((session.name, str(error)))
                continue
            done.append(session.name)
        if failed:
            names = [n for n, _ in failed]
            error = DatabaseUnavailableError("\n".join(m for _, m in failed))
            error.completed, error.failed = tuple(results), tuple(failed)
            raise _placed(error, done, names) if len(everyone) > 1 else error
        return results

    def require_at_head(self) -> None:
        """Refuse, before any database is compared, when one is not at head: autogenerate
        against it would compare an old schema, and the others' results would be cut short."""
        behind = []
        for session in (s for s in self.sessions if s.has_scripts):
            status = session.status()
            if status.unknown:
                raise unknown_revision(status.unknown[0], session.versions, (), self.directory)
            if status.pending:
                behind.append(session)
        if behind:
            names = ", ".join(s.name for s in behind)
            where = f" ({names})" if len(self.sessions) > 1 else ""
            heads = " heads" if any(len(s.heads()) > 1 for s in behind) else ""
            raise NotUpToDateError(
                f"The database{where} is not at the head revision, so autogenerate would"
                f" compare against an old schema. Run `flask db upgrade{heads}` first, then"
                " run this command again. Nothing was generated or compared."
            )

    def require_models(self) -> None:
        """Refuse, before any database is compared, when the models of one declare no
        table while it holds some (see :meth:`Session.tables_without_models`)."""
        for session in (x for s in self.sessions for x in (s, *s.siblings)):
            tables = session.tables_without_models()
            if tables:
                raise ConfigurationError(
                    f"{session.no_models(tables)} {IMPORT_MODELS}, then run this command"
                    " again. Nothing was generated or compared."
                )

    def holding(self, revisions: Sequence[str]) -> Session:
        """The session whose scripts hold all of ``revisions``."""
        for session in self.sessions:
            if all(session.knows(r) for r in revisions):
                return session
        raise self.unknown(revisions)

    def unknown(self, revisions: Sequence[str]) -> SchemaOpsError:
        """The error for ``revisions`` that no one history holds: it names an id or
        label that none has, else says they are in different histories."""
        for revision in revisions:
            missing = [s.unknown_part(revision) for s in self.sessions]
            if all(missing):
                return unknown_revision(str(missing[0]), self.sessions[0].versions, revisions)
        return UnknownRevisionError(
            f"No one revision history holds all of {', '.join(revisions)}: each database"
            " has its own. Name revisions of one database, with --bind."
        )


@contextmanager
def open_project(
    app: Flask | None,
    directory: str | Path | None,
    arguments: Sequence[str] = (),
    *,
    binds: Sequence[str] | None = None,
    x_args: Sequence[str] = (),
    autogenerate: bool = False,
    whole_history: bool = True,
) -> Iterator[Project]:
    """The project of ``app`` with a session per database in ``binds`` (default: all).

    A broken revision graph (two scripts with one id, a parent no script has) is an
    error before any work, unless the caller reads scripts one by one
    (``whole_history=False``: the linter)."""
    state = get_state(app)
    folder = state.resolve_directory(directory)
    targets = all_targets(state.app)
    secrets = [x for t in targets for x in url_secrets(t.engine.url)]
    project = Project(state, folder, arguments)
    project.x_args = x_args
    try:
        require_environment(folder)
        with state.app.app_context():
            # An env.py of another tool (e.g. Flask-Migrate's) handles its databases
            # itself: one session runs it, and with --multidb it migrates the binds too.
            chosen = _select(targets, binds)
            if not project.ours and (option := version_table_in_env(folder)):
                raise ConfigurationError(
                    f"{folder / 'env.py'} passes {option}= to context.configure() itself."
                    f" flask-schemaops reads the version table without running env.py: move"
                    f" the option to Migrate({option}=...) (or SCHEMAOPS_{option.upper()})"
                    " and take it out of env.py, which receives it from there."
                )
            if not project.ours:
                chosen = _whole_run(
                    targets, chosen if binds else None, is_multidb_directory(folder)
                )
            for target in chosen:
                make_config = functools.partial(
                    build_config,
                    state,
                    folder,
                    bind=target.bind_key if project.ours else None,
                    x_args=x_args,
                    autogenerate=autogenerate,
                )
                project.sessions.append(Session(project, target, make_config))
            for each in project.sessions if whole_history else ():
                each.headers()
            if not project.ours and project.sessions and is_multidb_directory(folder):
                [primary] = project.sessions
                primary.siblings = [
                    Session(project, t, make_config, place)
                    for place, t in enumerate(targets[1:], start=1)
                ]
            yield project
    except SchemaOpsError as exc:
        raise exc.reworded(redact(str(exc), secrets)) from exc.__cause__
    except Exception as exc:
        session = project.sessions[0] if project.sessions else None
        error = translate(exc, session, arguments)
        raise error.reworded(redact(str(error), secrets)) from exc
    finally:
        # Alembic puts alembic.ini's prepend_sys_path in front of sys.path each time it
        # loads the scripts: in a process that runs many commands (tests, the API) the
        # list would grow without end. Keeping each entry's first place changes no import.
        sys.path[:] = dict.fromkeys(sys.path)


def _placed(error: SchemaOpsError, done: list[str], missed: list[str]) -> SchemaOpsError:
    """``error`` of a command on several databases, saying where it failed (each
    failure marked with its database: :attr:`~SchemaOpsError.failed`), where it ran and
    where not."""
    lines = "\n".join(f"[{name}] {message}" for name, message in error.failed)
    return error.reworded(
        f"{lines}\nCompleted on: {', '.join(done) or 'none'}."
        f" Not completed on: {', '.join(missed)}."
    )


def _symbolic(revision: str) -> bool:
    """Whether ``revision`` names no script: ``head``, ``base``, ``-1``, ``head:-1``..."""
    return all(_SYMBOLIC.match(x) for x in revision.split(":") if x)


def _whole_run(targets: list[Target], chosen: list[Target] | None, multidb: bool) -> list[Target]:
    """The one target whose session runs another tool's env.py, which migrates the
    default database (and the binds too with ``--multidb``) in one run: ``--bind``
    (``chosen``) cannot narrow that."""
    scope = targets if multidb else targets[:1]
    if chosen is not None and {t.name for t in chosen} != {t.name for t in scope}:
        way = (
            "start a directory with one history per database (see 'Moving from"
            " Flask-Migrate' in the docs)"
            if multidb
            else "replace env.py with `flask db convert-env`"
        )
        raise ConfigurationError(
            "--bind cannot narrow a run of this migrations directory: its env.py (not"
            f" flask-schemaops's) works on {', '.join(t.name for t in scope)} together."
            f" Leave out --bind, or, to work on one database at a time, {way}."
        )
    return targets[:1]


def _select(targets: list[Target], binds: Sequence[str] | None) -> list[Target]:
    if not binds:
        return targets
    known = {t.name: t for t in targets}
    unknown = [b for b in binds if b not in known]
    if unknown:
        raise ConfigurationError(
            f"Unknown database {', '.join(map(repr, unknown))}. This app's databases:"
            f" {', '.join(known)} (`default` is SQLALCHEMY_DATABASE_URI, the others are"
            " SQLALCHEMY_BINDS keys)."
        )
    return [known[b] for b in dict.fromkeys(binds)]


# --- Failures ------------------------------------------------------------------------

_OFFLINE_BATCH = re.compile(r"cannot proceed in --sql mode; batch mode .* the table \"([^\"]*)\"")
_UNKNOWN = re.compile(
    r"(?:Can't locate revision identified by|No such revision or branch|No such branch:) '([^']*)'"
)
_NOT_A_LOCATION = re.compile(r"Path (.+) is not represented in current version locations")


def translate(
    exc: BaseException, session: Session | None, arguments: Sequence[str]
) -> SchemaOpsError:
    """Our error for ``exc``; one we did not foresee becomes an ``UnexpectedError``."""
    if isinstance(exc, SchemaOpsError):
        return exc
    directory = session.project.directory if session else Path.cwd()
    if isinstance(exc, SyntaxError) and inside(exc.filename, directory):
        return ScriptError(
            f"Syntax error in {relative_path(exc.filename, directory)}, line {exc.lineno}:"
            f" {exc.msg}.\nFix the file, then run the command again."
        )
    from alembic.script.revision import RevisionError as AlembicRevisionError
    from alembic.util import CommandError

    if isinstance(exc, (CommandError, AlembicRevisionError)):
        batch = _OFFLINE_BATCH.search(str(exc))
        frame = script_frame(exc, directory)
        if batch and frame is not None:  # batch_alter_table's copy and move, under --sql
            return ScriptError(
                f"--sql cannot write the batch operation on table {batch.group(1)!r}"
                f" ({relative_path(frame.filename, directory)}, line {frame.lineno}): its"
                " copy and move (which SQLite needs) reads the table's shape from the live"
                " database. Run the command without --sql, or pass the table's definition"
                " to batch_alter_table(copy_from=...) in the revision."
            )
        return _alembic_error(str(exc), session, arguments)
    detail = str(getattr(exc, "orig", None) or exc).strip()
    first = detail.splitlines()[0] if detail else ""
    frame = script_frame(exc, directory)
    if isinstance(exc, sa.exc.DBAPIError) and not in_revision(frame):
        if exc.statement is None and session is not None:  # connecting failed
            return unavailable(session.target.engine.url, exc, session.target.setting)
        if busy(exc) and session is not None:
            return _locked(session.target.engine)
        return DatabaseError(f"The database reported an error: {first}{_privilege_hint(first)}")
    if frame is not None:
        where = relative_path(frame.filename, directory)
        if Path(frame.filename).name == "env.py":
            advice = "Fix env.py, then run the command again."
        elif frame.name == "<module>":
            advice = "The script could not be loaded, so nothing ran. Fix it and run again."
        else:
            advice = (
                "The revision did not complete. Check `flask db status` for where the"
                " database stands, fix the script, and run the command again."
            )
        cause = f"{type(exc).__name__}: {first}"
        return ScriptError(f"{where}, line {frame.lineno}, in {frame.name}: {cause}\n{advice}")
    return UnexpectedError(
        f"Unexpected {type(exc).__name__}: {first}\n"
        "Run again with `flask db --traceback ...` to see where it came from."
    )


def _locked(engine: sa.Engine) -> DatabaseBusyError:
    """The error for a SQLite database that stayed locked past the busy timeout."""
    migrator = sqlite_migrator(engine)
    with engine.connect() as connection:
        waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0
    where = f"The SQLite database {masked_url(engine.url)} is locked"
    if migrator is not None:
        return DatabaseBusyError(
            f"{where}: {migrator.description} is migrating it (it holds the migration lock),"
            f" and SQLite's busy timeout ({waited / 1000:g} s) ran out.\n"
            "Run the command again once the migration has finished (`flask db upgrade`"
            " and the startup guard wait for it)."
        )
    return DatabaseBusyError(
        f"{where} by another connection that is writing to it, and SQLite's busy timeout"
        f" ({waited / 1000:g} s) ran out.\n"
        "Run the command again once that write is done, or give connections a longer"
        ' busy timeout: SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}.'
    )


def _alembic_error(
    message: str, session: Session | None, arguments: Sequence[str]
) -> SchemaOpsError:
    unknown = _UNKNOWN.search(message)
    if unknown:
        versions = session.versions if session else Path("versions")
        directory = session.project.directory if session else None
        return unknown_revision(unknown.group(1), versions, arguments, directory)
    outside = _NOT_A_LOCATION.match(message)
    if outside and session is not None:
        return RevisionError(_not_a_location(outside.group(1), session))
    if "Target database is not up to date" in message:
        return NotUpToDateError(
            "The database is not at the head revision, so autogenerate would compare"
            " against an old schema. Run `flask db upgrade` first, then generate the"
            " revision again."
        )
    if "Multiple head" in message:
        script = session.script if session is not None else None
        found = sort_heads(script, script.get_heads()) if script is not None else None
        command = found.merge if found is not None else '`flask db merge -m "merge heads"`'
        merge = (
            f" If two branches each added a revision, merge them: {command}."
            if found is None or found.to_merge
            else ""
        )
        return MultipleHeadsError(
            f"{message}.\nName one of them instead, or `heads` for all of them where the"
            f" command takes it.{merge}"
        )
    if "Ambiguous walk" in message:
        return RevisionError(
            f"{message}.\nA relative step is ambiguous where the history branches: name the"
            " revision instead (see `flask db history`)."
        )
    if re.search(r"Relative revision \S*?[+-]?0 didn't produce", message):
        return RevisionError(
            "A relative step of 0 (-0, +0) moves no revision. Give a step of 1 or more (e.g."
            " `flask db upgrade +1`, `flask db downgrade -1`), or name the revision to reach"
            " (see `flask db history -i`)."
        )
    if "Relative revision" in message or "didn't produce" in message:
        return UnknownRevisionError(
            f"{message}: there are not that many revisions to move over.\n"
            "See `flask db history -i` for where the database stands."
        )
    return RevisionError(message)


def _not_a_location(path: str, session: Session) -> str:
    """The error for a ``revision --version-path`` that is not a version location."""
    directory = session.project.directory
    locations = session.script.version_locations or [str(session.versions)]
    shown = ", ".join(relative_path(x, directory) for x in locations)
    first = f"--version-path {path} is not one of the version locations ({shown})."
    if session.history is not None:  # config.py sets a bind's one location
        return f"{first}\nLeave out --version-path: a bind's revisions go in its own folder."
    config = session.config
    if config.toml_file_name and not config.config_file_name:
        where = f"[tool.alembic] in {relative_path(config.toml_file_name, directory)}"
    else:
        where = f"[alembic] section of {relative_path(str(directory / 'alembic.ini'), directory)}"
    return (
        f"{first}\nAdd it to version_locations ({where}) together with the current ones,"
        " or leave out --version-path."
    )


def _privilege_hint(detail: str) -> str:
    lowered = detail.lower()
    if "permission denied" in lowered or "command denied" in lowered or "access denied" in lowered:
        return (
            "\nThe database user lacks a privilege this needs (e.g. CREATE on the schema):"
            " grant it, or run the migrations as a user that has it."
        )
    return ""


def resolve(revisions: RevisionMap, name: str) -> tuple[str, ...] | None:
    """The ids that revision argument ``name`` stands for in ``revisions``, by Alembic's
    rules: an id or a unique start of one, ``head``, ``heads``, ``base`` (none), a
    branch label, ``label@head``, ``-2`` (below the heads); None when it names nothing
    there. A start of several ids is a RevisionError; ``head`` where there are several,
    Alembic's ``MultipleHeads``."""
    from alembic.script.revision import ResolutionError, Revision

    try:
        found = revisions.get_revisions(name)
    except ResolutionError as exc:
        if "Multiple revisions start with" in str(exc):
            raise RevisionError(
                f"{exc}\nGive more characters of the id (see `flask db history`)."
            ) from None
        return None
    if None in found:  # -n past the first revision
        return None
    return tuple(r.revision for r in found if isinstance(r, Revision))  # not "base"


def unknown_revision(
    name: str, versions: Path, arguments: Sequence[str], directory: Path | None = None
) -> SchemaOpsError:
    """The error for a revision no script has: one given in ``arguments``, or the one
    the database records (``directory``: the migrations directory, to find it among
    those ``squash`` replaced)."""
    if any(name and name in arg for arg in arguments):
        return UnknownRevisionError(
            f"Unknown revision {name!r}: no script in {versions} has that id, label or"
            " position.\nSee `flask db history` for the revisions there are."
        )
    kept = headers.squashed(directory, name) if directory is not None else None
    if kept is not None and directory is not None:
        path, last = kept
        return UnknownRevisionError(
            f"The database records revision {name!r}, which `flask db squash` replaced: its"
            f" script is kept in {relative_path(str(path), directory)}, and {last}"
            " does the work of that range now. Bring the database to"
            f" {last} with the original scripts (from a checkout made before the squash:"
            f" `flask db upgrade {last}`); from there this history serves it."
        )
    return UnknownRevisionError(
        f"The database records revision {name!r}, but no script in {versions} has that id."
        " Most often the database is newer than this code: a newer version of the app"
        " migrated it (a rolling deploy migrates first); or another branch migrated it, or"
        " the script was deleted or renamed.\nRun this command from the code that has that"
        " revision. If no code should have it, `flask db doctor` shows the evidence and the"
        " way back."
    )


def _shorten(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _dependents(script: Script) -> tuple[str, ...]:
    # Alembic keeps the revisions that depend on a script only in the private
    # _all_nextrev (nextrev plus those naming it in depends_on); its "(effective head)"
    # marker reads the same set.
    return tuple(sorted(script._all_nextrev - script.nextrev))


def _create_date(doc: str | None) -> str | None:
    created = re.search(r"^Create Date: (.+)$", doc or "", re.MULTILINE)
    return created.group(1).strip() if created else None


def _tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def describe_diff(diff: Any) -> str:
    """One readable line for an autogenerate diff entry."""
    if isinstance(diff, list):
        return "; ".join(describe_diff(d) for d in diff)
    operation, *rest = diff
    if operation.startswith("modify_"):
        schema, table, column, _existing, old, new = rest
        table = f"{schema}.{table}" if schema else table
        before, after = _sql(old), _sql(new)
        if str(before) == str(after):  # e.g. an Enum, which renders as VARCHAR without a dialect
            before, after = repr(before), repr(after)
        return f"{operation} {table}.{column}: {before} -> {after}"
    objects = [x for x in rest if isinstance(x, (sa.Table, sa.Column, sa.Index, sa.Constraint))]
    if not objects:
        return " ".join([operation, *(x for x in rest if isinstance(x, str))])
    return " ".join([operation, *(_object_name(x) for x in objects)])


def _sql(value: Any) -> Any:
    """A server default as its SQL text, an enum type with its values (without a
    dialect it reads as ``VARCHAR(n)``, or MariaDB's as a bare ``ENUM``), anything
    else as it is."""
    if isinstance(value, sa.DefaultClause):
        return getattr(value.arg, "text", value.arg)
    if isinstance(value, sa.Enum):
        return f"ENUM({', '.join(map(repr, value.enums))})"
    return value


def _object_name(item: Any) -> str:
    """``schema.table``, ``schema.table.column``, ``name on schema.table`` (no schema:
    the default one)."""
    if isinstance(item, sa.Table):
        return item.fullname
    name = item.name or "(unnamed)"
    table = item.table if isinstance(item, (sa.Column, sa.Index, sa.Constraint)) else None
    if isinstance(item, sa.Column) and table is not None:
        return f"{table.fullname}.{name}"
    return f"{name} on {table.fullname}" if table is not None else str(name)
