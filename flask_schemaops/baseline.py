"""``baseline``: bring a database that ``db.create_all()`` (or a person) built under
migrations.

The question is always the same: which revision does the live schema match? It
is answered by building the schema of the revisions in a scratch database
(:mod:`flask_schemaops.scratch`), through the project's env.py, and comparing
the live database with it the way autogenerate compares (our noise filters
included). That is sound whatever the models say: it compares with what
``upgrade`` really builds. The live database is only read, and stamped when it
matches.

- No revision yet: the "Initial baseline" revision is generated from the models
  (against an empty scratch database, so every table is in it), then the live
  schema is compared with what it builds.
- Revisions exist: the live schema is compared with the schema at head; when it
  differs and the history is linear, with the schema at each earlier revision, so
  a database built by an older release is stamped there and its pending
  revisions reported.
- When the live schema matches several revisions in a row, and those after the
  first do work a schema cannot show (a data migration), nothing is stamped:
  whether that work ran there is the user's call.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from . import autogen, scratch, scripts
from .config import build_config
from .errors import ConfigurationError, MultipleHeadsError, relative_path
from .results import Baseline, Revision
from .session import IMPORT_MODELS, RunOptions, Session, describe_diff
from .targets import connect, current_heads


def baseline(session: Session, *, message: str, force: bool) -> Baseline:
    """Generate, compare and stamp, for the database of ``session``."""
    settings = session.project.state.settings
    with connect(session.target.engine, session.target.setting) as connection:
        current = current_heads(session.project.state, connection)
        tables = scratch.user_tables(connection, settings)
    if current:
        pending = session.status().pending
        return _result(session, "versioned", revision=", ".join(current), pending=pending)
    history = list(session.script.walk_revisions()) if session.has_scripts else []
    if not history:
        return _generate(session, message, force, has_tables=bool(tables))
    if not tables:
        return _result(session, "empty", pending=_pending(session, session.script, ()))
    return _adopt(session, force)


def _generate(session: Session, message: str, force: bool, *, has_tables: bool) -> Baseline:
    if not session.target.metadata.tables:
        raise ConfigurationError(
            f"The models of the database {session.name!r} declare no table, so there is"
            f" no baseline to generate. {IMPORT_MODELS}, then run `flask db baseline` again."
        )
    session.versions.mkdir(parents=True, exist_ok=True)
    state = session.project.state
    if not has_tables:  # the live database is empty: autogenerate against it, as usual
        config = build_config(
            state, session.project.directory, bind=session.target.bind_key, autogenerate=True
        )
        written = _write(session, config, message)
        return _result(
            session,
            "generated",
            written=written,
            pending=(written,),
            warnings=scratch.warnings(config),
        )
    with scratch.scratch_database(session.target.engine) as empty:
        config = scratch.scratch_config(session, empty, autogenerate=True)
        written = _write(session, config, message)
        scratch.upgrade(config, "heads")
        with connect(empty) as connection:
            schema = scratch.reflect(connection, state.settings)
    found = _compare(session, schema)
    return _conclude(
        session,
        force,
        written.revision,
        found,
        f"the schema the new baseline {written.revision} builds",
        written=written,
        warnings=scratch.warnings(config),
    )


def _write(session: Session, config: Config, message: str) -> Revision:
    script = command.revision(config, message=message, autogenerate=True)
    if isinstance(script, list):
        script = script[0] if script else None
    if script is None:
        raise ConfigurationError(
            f"Autogenerate found nothing to put in a baseline for {session.name!r}: check"
            " include_object hooks and SCHEMAOPS_IGNORE_TABLES."
        )
    return session.revision(script)


def _adopt(session: Session, force: bool) -> Baseline:
    script = session.script
    heads = script.get_heads()
    if len(heads) > 1:
        raise MultipleHeadsError(
            f"The revision history of {session.name!r} has {len(heads)} heads"
            f" ({', '.join(heads)}), so there is no single schema to compare with. Merge"
            ' them with `flask db merge -m "merge heads"`, then run `flask db baseline`'
            " again."
        )
    [head] = heads
    settings = session.project.state.settings
    with scratch.scratch_database(session.target.engine) as built:
        scratch.upgrade(scratch.scratch_config(session, built), "heads")
        with connect(built) as connection:
            at_head = scratch.reflect(connection, settings)
    found = _compare(session, at_head)
    history = {x.revision: x for x in script.walk_revisions()}
    work = {r: scripts.operations(x.path) for r, x in history.items()}
    if not found and any(s.call in _SEEN for s in work[head]):
        return _conclude(session, force, head, found, _at(script, head))  # no tie with its parent
    matches = _matches(session, script, head_matches=not found)
    if not matches:
        return _conclude(session, force, head, found, _at(script, head))
    directory = session.project.directory
    unseen = [
        f"{r} ({relative_path(history[r].path, directory)}, line {s.line}): {s.code}"
        for r in matches[1:]
        for s in work[r]
    ]
    if unseen:  # whether they ran, the schema cannot tell: the user decides
        return _result(
            session,
            "ambiguous",
            revision=matches[-1],
            matches=tuple(matches),
            unseen=tuple(unseen),
            compared_with=f"the schema the revisions build at each of {', '.join(matches)}",
        )
    return _conclude(session, force, matches[-1], [], _at(script, matches[-1]))


# Operations whose change a schema comparison always sees.
_SEEN = {"create_table", "drop_table", "add_column", "drop_column", "create_index", "drop_index"}


def _matches(session: Session, script: ScriptDirectory, *, head_matches: bool) -> list[str]:
    """The revisions whose schema the live database has, oldest first: the newest
    one and those right before it that build the same schema (they change nothing
    the comparison sees). Earlier revisions are compared in a linear history only
    (a branch's revision has no schema of its own)."""
    order = list(reversed(list(script.walk_revisions())))
    linear = all(
        len(scripts.ids(x.down_revision)) <= 1 and len(x.nextrev) <= 1 and not x.dependencies
        for x in order
    )
    if not linear or len(order) < 2:
        return [order[-1].revision] if head_matches and order else []
    settings = session.project.state.settings
    matching: list[bool] = []
    with scratch.scratch_database(session.target.engine) as built:
        config = scratch.scratch_config(session, built)
        for revision in order[:-1]:
            scratch.upgrade(config, revision.revision)
            with connect(built) as connection:
                matching.append(not _compare(session, scratch.reflect(connection, settings)))
    matching.append(head_matches)
    if not any(matching):
        return []
    last = max(i for i, matched in enumerate(matching) if matched)
    first = last
    while first > 0 and matching[first - 1]:
        first -= 1
    return [x.revision for x in order[first : last + 1]]


def _compare(session: Session, schema: sa.MetaData) -> list[str]:
    """What ``upgrade`` would have to change in the live database to reach
    ``schema``, as ``check`` describes it."""
    settings = scratch.reflected_settings(session.project.state.settings)
    with connect(session.target.engine, session.target.setting) as connection:
        return [describe_diff(d) for d in autogen.changes(connection, schema, settings)]


def _conclude(
    session: Session,
    force: bool,
    revision: str,
    differences: list[str],
    compared_with: str,
    *,
    written: Revision | None = None,
    warnings: tuple[str, ...] = (),
) -> Baseline:
    if differences and not force:
        return _result(
            session,
            "differs",
            revision=revision,
            written=written,
            compared_with=compared_with,
            differences=tuple(differences),
            warnings=warnings,
        )
    session.run("stamp", lambda: command.stamp(session.config, [revision]), RunOptions())
    fresh = ScriptDirectory.from_config(session.config)
    return _result(
        session,
        "forced" if differences else "stamped",
        revision=revision,
        written=written,
        compared_with=compared_with,
        differences=tuple(differences),
        pending=_pending(session, fresh, (revision,)),
        warnings=warnings,
    )


def _at(script: ScriptDirectory, revision: str) -> str:
    found = script.get_revision(revision)
    what = "head" if found is not None and found.is_head else "revision"
    return f"the schema the revisions build at {revision} ({what})"


def _pending(
    session: Session, script: ScriptDirectory, current: tuple[str, ...]
) -> tuple[Revision, ...]:
    applied = {x.revision for x in script.iterate_revisions(current, "base")} if current else set()
    missing: list[Script] = [x for x in script.walk_revisions() if x.revision not in applied]
    return tuple(session.revision(x) for x in reversed(missing))


def _result(session: Session, outcome: str, **fields: Any) -> Baseline:
    return Baseline(target=session.name, database=session.target.url, outcome=outcome, **fields)
