"""``squash``: one revision in place of a linear range of them.

The new revision keeps the id (and the file) of the last revision of the range
and the parent of the first, so a database at that last revision or later, or
before the range, is unaffected; one inside the range would record a revision
that no longer exists, so squashing is refused while a database of the app is
there.

The new revision is built from schemas, not from the old scripts: in scratch
databases the history is run up to the parent of the range and up to its end,
and autogenerate (with our clean-up) writes what turns the first schema into
the second. Statements a schema cannot show (``op.execute``, ``bulk_insert``,
work on ``op.get_bind()``) are listed and only dropped when asked. Then the
squashed history runs on a fresh scratch database, and its schema is compared
with the original history's at the end of the range and at head; on any
difference the files are put back as they were.

The replaced files are kept in ``<migrations>/squashed/<revision>/``, out of
Alembic's sight: review the change, commit it, then delete that folder.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import util as alembic_util
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.sql.elements import conv

from . import autogen, headers, scratch, scripts
from .config import WARNINGS_ATTRIBUTE
from .errors import RevisionError, ScriptError, relative_path
from .results import Squash
from .session import Session, describe_diff, translate, unknown_revision
from .settings import Settings
from .targets import connect

BACKUPS = headers.SQUASHED
_DIALECT_MODULES = ("postgresql", "mysql", "sqlite", "mssql", "oracle")


def squash(
    session: Session,
    first: str,
    last: str,
    *,
    drop_statements: bool,
    message: str | None,
) -> Squash:
    """Replace ``first`` .. ``last`` (both included) of ``session``'s history."""
    script = session.script
    start, end = _resolve(session, script, first), _resolve(session, script, last)
    chain = _chain(script, start, end)
    _refuse_databases_inside(session, chain)
    statements = [
        f"{x.revision} ({relative_path(x.path, session.project.directory)}, line"
        f" {s.line}): {s.code}"
        for x in chain
        for s in scripts.statements(x.path)
    ]
    if statements and not drop_statements:
        listed = "\n".join(f"  {s}" for s in statements)
        raise RevisionError(
            f"The range {start.revision}..{end.revision} holds {len(statements)} statement(s)"
            " that run SQL or move data. The squashed revision is built from the schema"
            " alone, so it would not carry them over:\n"
            f"{listed}\n"
            "A database still before the range would skip them. Once every database has"
            " run them, squash again with --yes to drop them; or squash a range without"
            " them. Nothing was changed."
        )
    settings = session.project.state.settings
    strict = _strict_settings(session)
    with (
        scratch.scratch_database(session.target.engine) as before,
        scratch.scratch_database(session.target.engine) as original,
    ):
        parents = scripts.ids(start.down_revision)
        if parents:
            scratch.upgrade(scratch.scratch_config(session, before), parents)
        config = scratch.scratch_config(session, original)
        scratch.upgrade(config, end.revision)
        with connect(original) as connection:
            at_end = _snapshot(connection, settings)
            schema = _final(scratch.reflect(connection, settings), connection.dialect)
        scratch.upgrade(config, "heads")
        with connect(original) as connection:
            at_heads = _snapshot(connection, settings)
        with connect(before) as connection:
            upgrades, downgrades, imports, warnings = _render(connection, schema, strict)
    text = message or f"Squashed {start.revision}..{end.revision} ({len(chain)} revisions)"
    backup = _replace(session, script, chain, text, upgrades, downgrades, imports)
    try:
        differences = _verify(session, end.revision, at_end, at_heads)
    except Exception as exc:
        _restore(chain, backup)
        raise ScriptError(
            "The squashed history failed on a fresh scratch database, so the original files"
            f" were put back:\n{str(translate(exc, session, ())).splitlines()[0]}\n"
            "Squash a shorter range, or write that revision by hand."
        ) from exc
    except BaseException:
        _restore(chain, backup)
        raise
    if differences:
        _restore(chain, backup)
        listed = "\n".join(f"  {d}" for d in differences)
        raise ScriptError(
            "The squashed history does not build the same schema as the original one, so"
            f" the original files were put back:\n{listed}\n"
            "Squash a shorter range, or write that revision by hand."
        )
    fresh = ScriptDirectory.from_config(session.config).get_revision(end.revision)
    assert fresh is not None
    removed = ", ".join(x.revision for x in chain[:-1])
    warnings += (
        f"A database of another environment (not one this app is configured with) that"
        f' records {removed} fails with "Can\'t locate revision" once this change reaches'
        f" it: upgrade each such database to {end.revision} or later before"
        f" (`flask db upgrade {end.revision}`).",
    )
    return Squash(
        target=session.name,
        revision=session.revision(fresh),
        replaced=tuple(session.revision(x) for x in chain),
        backup=str(backup),
        dropped=tuple(statements),
        verified=(end.revision, *(r for r in _heads(session) if r != end.revision)),
        warnings=warnings,
    )


def _strict_settings(session: Session) -> Settings:
    """The settings to compare schemas with: types and server defaults included."""
    settings = scratch.reflected_settings(session.project.state.settings)
    return dataclasses.replace(settings, compare_type=True, compare_server_default=True)


def _resolve(session: Session, script: ScriptDirectory, name: str) -> Script:
    try:
        found = script.get_revision(name)
    except CommandError as exc:
        raise RevisionError(f"{exc}.") from exc
    except Exception as exc:
        raise unknown_revision(name, session.versions, (name,)) from exc
    if found is None:
        raise unknown_revision(name, session.versions, (name,))
    return found


def _chain(script: ScriptDirectory, start: Script, end: Script) -> list[Script]:
    """``start`` .. ``end``, oldest first, refused unless it is a straight line."""
    where = f"{start.revision}..{end.revision}"
    if start.revision == end.revision:
        raise RevisionError(
            f"{where} is a single revision; squash needs a range of two or more, e.g."
            " `flask db squash <first> <last>`."
        )
    chain = [end]
    while chain[-1].revision != start.revision:
        parents = scripts.ids(chain[-1].down_revision)
        if len(parents) > 1:
            raise RevisionError(
                f"{chain[-1].revision} merges {', '.join(parents)}, so the range {where}"
                " has branches. Squash a linear part of it: the merge's branches"
                " separately, or from the merge on."
            )
        found = script.get_revision(parents[0]) if parents else None
        if found is None:
            raise RevisionError(
                f"{start.revision} is not an ancestor of {end.revision}. Give the older"
                " revision first: `flask db squash <first> <last>` (see `flask db history`)."
            )
        chain.append(found)
    chain.reverse()
    inside = {x.revision for x in chain[:-1]}
    for revision in script.walk_revisions():
        if revision.revision in inside or revision.revision == end.revision:
            continue
        branched = inside & set(scripts.ids(revision.down_revision))
        depends = inside & set(scripts.ids(revision.dependencies))
        if branched or depends:
            how = "branches off" if branched else "depends on"
            raise RevisionError(
                f"{revision.revision} {how} {', '.join(sorted(branched or depends))},"
                f" inside the range {where}, so the range has branches and the revisions it"
                " removes are still needed. Squash a linear range that nothing else builds on."
            )
    return chain


def _refuse_databases_inside(session: Session, chain: Sequence[Script]) -> None:
    removed = {x.revision for x in chain[:-1]}
    current = session.current()
    inside = [r for r in current if r in removed]
    if inside:
        last = chain[-1].revision
        raise RevisionError(
            f"The database {session.name!r} ({session.target.url}) is at {inside[0]}, inside"
            f" the range {chain[0].revision}..{last}: squashing would delete the revision it"
            f" records. Upgrade it to {last} or later first (`flask db upgrade {last}`), or"
            " squash a range it is not in. Nothing was changed."
        )


def _final(schema: sa.MetaData, dialect: sa.Dialect) -> sa.MetaData:
    """``schema`` with its constraint and index names marked final, so that the app's
    naming convention (which Alembic applies to the ops) does not rename them again;
    without the defaults of PostgreSQL serial columns; and on MySQL without the
    indexes the server made for foreign keys (it makes them again, and they cannot
    be dropped before the key)."""
    for table in schema.tables.values():
        unknown = [c.name for c in table.columns if isinstance(c.type, sa.types.NullType)]
        if unknown:
            raise RevisionError(
                f"SQLAlchemy cannot reflect the type of {table.name}.{unknown[0]}, so a"
                " revision built from the schema cannot create that column. Squash a range"
                " that does not create it. Nothing was changed."
            )
        if dialect.name == "postgresql":
            for column in table.columns:
                # A serial column's default: its type makes the sequence and the default.
                text = getattr(getattr(column.server_default, "arg", None), "text", "")
                serial = f"nextval('{table.name}_{column.name}_seq'::regclass)"
                if column.autoincrement is True and text == serial:
                    column.server_default = None
        if dialect.name == "mysql":
            keys = {
                (fk.name, tuple(fk.column_keys))
                for fk in table.foreign_key_constraints
                if isinstance(fk.name, str)
            }
            for index in list(table.indexes):
                if not index.unique and (index.name, tuple(c.name for c in index.columns)) in keys:
                    table.indexes.discard(index)
        items: list[sa.Constraint | sa.Index] = [*table.constraints, *table.indexes]
        for item in items:
            if isinstance(item.name, str) and not isinstance(item.name, conv):
                item.name = conv(item.name)
    return schema


def _render(
    connection: sa.Connection, schema: sa.MetaData, settings: Settings
) -> tuple[str, str, str, tuple[str, ...]]:
    """The upgrade and downgrade code that turn ``connection``'s schema into
    ``schema``, the imports they need, and autogenerate's warnings."""
    dialect = connection.dialect
    options = autogen.comparison_options(settings, dialect)
    context = autogen.comparison_context(connection, schema, settings, options)
    migration = produce_migrations(context, schema)
    attributes: dict[str, Any] = {WARNINGS_ATTRIBUTE: []}
    autogen.rewrite(context, migration, generating=True, config_attributes=attributes)
    batch = settings.render_as_batch
    batch = dialect.name == "sqlite" if batch == "auto" else bool(batch)
    code = [
        render_python_code(
            ops,
            render_as_batch=batch,
            migration_context=context,
            render_item=options["render_item"],
        )
        for ops in (migration.upgrade_ops_list[-1], migration.downgrade_ops_list[-1])
    ]
    imports = sorted(
        f"from sqlalchemy.dialects import {name}"
        for name in _DIALECT_MODULES
        if any(re.search(rf"\b{name}\.", c) for c in code)
    )
    connection.rollback()
    return code[0], code[1], "\n".join(imports), tuple(attributes[WARNINGS_ATTRIBUTE])


def _replace(
    session: Session,
    script: ScriptDirectory,
    chain: Sequence[Script],
    message: str,
    upgrades: str,
    downgrades: str,
    imports: str,
) -> Path:
    """Write the squashed revision over the last file of ``chain``, remove the others,
    and return the folder where all of them are kept."""
    start, end = chain[0], chain[-1]
    folder = session.project.directory / BACKUPS / end.revision
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = session.project.directory / BACKUPS / f"{end.revision}-{suffix}"
    folder.mkdir(parents=True)
    for revision in chain:
        shutil.copy2(revision.path, folder / Path(revision.path).name)
    labels = sorted({label for x in chain for label in x.branch_labels})
    inside = {x.revision for x in chain}
    depends = [d for x in chain for d in scripts.ids(x.dependencies) if d not in inside]
    try:
        alembic_util.template_to_file(
            str(session.project.directory / "script.py.mako"),
            end.path,
            script.output_encoding,
            up_revision=end.revision,
            down_revision=_scalar(scripts.ids(start.down_revision)),
            branch_labels=tuple(labels) or None,
            depends_on=_scalar(tuple(dict.fromkeys(depends))),
            create_date=datetime.datetime.now(),
            comma=alembic_util.format_as_comma,
            message=message,
            upgrades=upgrades,
            downgrades=downgrades,
            imports=imports,
        )
    except Exception:
        _restore(chain, folder)
        raise
    for revision in chain[:-1]:
        Path(revision.path).unlink()
    for revision in chain:
        _forget_bytecode(revision.path)
    return folder


def _restore(chain: Sequence[Script], folder: Path) -> None:
    """Put the original files back from ``folder``, which is then removed."""
    for revision in chain:
        shutil.copy2(folder / Path(revision.path).name, revision.path)
        _forget_bytecode(revision.path)
    shutil.rmtree(folder)
    if not any(folder.parent.iterdir()):
        folder.parent.rmdir()


def _forget_bytecode(path: str) -> None:
    # A rewrite within the same second and of the same size could reuse stale bytecode.
    Path(importlib.util.cache_from_source(path)).unlink(missing_ok=True)


class _Snapshot(NamedTuple):
    schema: sa.MetaData
    names: dict[str, set[str]]  # per table, its index and constraint names


def _snapshot(connection: sa.Connection, settings: Settings) -> _Snapshot:
    schema = scratch.reflect(connection, settings)
    return _Snapshot(schema, _names(connection, schema))


def _names(connection: sa.Connection, schema: sa.MetaData) -> dict[str, set[str]]:
    """The names of the indexes and constraints of each table of ``schema``, as the
    database reports them (autogenerate skips some, e.g. expression indexes and
    CHECK constraints)."""
    inspector = sa.inspect(connection)
    existing = set(inspector.get_table_names())
    found: dict[str, set[str]] = {}
    for name in schema.tables:
        if name not in existing:
            found[name] = set()
            continue
        items = [
            *inspector.get_indexes(name),
            *inspector.get_unique_constraints(name),
            *inspector.get_foreign_keys(name),
            *inspector.get_check_constraints(name),
        ]
        found[name] = {str(i["name"]) for i in items if i.get("name")}
    connection.rollback()
    return found


def _verify(session: Session, end: str, at_end: _Snapshot, at_heads: _Snapshot) -> list[str]:
    """Differences between the squashed and the original history, at ``end`` and at
    head, each run on a fresh scratch database."""
    settings = _strict_settings(session)
    found: list[str] = []
    with scratch.scratch_database(session.target.engine) as fresh:
        config = scratch.scratch_config(session, fresh)
        for destination, wanted in ((end, at_end), ("heads", at_heads)):
            scratch.upgrade(config, destination)
            with connect(fresh) as connection:
                changes = autogen.changes(connection, wanted.schema, settings)
                diffs = [describe_diff(d) for d in changes]
                there = _names(connection, wanted.schema)
            for table, names in sorted(wanted.names.items()):
                diffs += [f"missing {n} on {table}" for n in sorted(names - there[table])]
                diffs += [f"unexpected {n} on {table}" for n in sorted(there[table] - names)]
            where = end if destination == end else "head"
            found += [f"at {where}: {d}" for d in diffs]
    return found


def _heads(session: Session) -> list[str]:
    return list(ScriptDirectory.from_config(session.config).get_heads())


def _scalar(values: tuple[str, ...]) -> str | tuple[str, ...] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values
