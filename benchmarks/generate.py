"""Generate a synthetic Flask project for the benchmarks.

``python benchmarks/generate.py DIR --tables T --revisions N`` writes ``DIR/app.py``
(Flask-SQLAlchemy models for T tables, some with foreign keys, some columns
indexed) and, for each tool, a migrations directory made by that tool's own
``init``, whose ``versions/`` receive the same N revision scripts: a linear chain in
plain Alembic ``op`` calls. Table i is created by revision ``i * N // T``; a
revision that creates no table adds a column to a table, or an index on a column
added earlier. The models describe the schema at the last revision, so ``check``
at head finds nothing.

The app reads ``DATABASE_URL`` and ``TOOL`` (see ``TOOLS``) from the environment.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Tool:
    key: str  # the value of TOOL
    label: str
    directory: str  # its migrations directory, next to app.py


SCHEMAOPS = Tool("schemaops", "flask_schemaops", "migrations_schemaops")
MIGRATE = Tool("migrate", "Flask-Migrate", "migrations_migrate")
TOOLS = (SCHEMAOPS, MIGRATE)

# Column types of the added columns: each can carry an index on PostgreSQL and MariaDB.
TYPES: tuple[str, ...] = ("sa.Integer()", "sa.String(length=80)", "sa.Boolean()")
TYPES += ("sa.DateTime()", "sa.Numeric(precision=10, scale=2)")


@dataclass
class Column:
    name: str
    type: str  # a Python expression, the same in the models and the scripts
    nullable: bool = True
    references: str | None = None  # the referred table (its `id`)
    index: bool = False  # in the final schema


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class Revision:
    id: str
    down: str | None
    message: str
    upgrade: list[str] = field(default_factory=list)  # lines of op calls
    downgrade: list[str] = field(default_factory=list)


@dataclass
class Plan:
    tables: list[Table]
    revisions: list[Revision]

    @property
    def head(self) -> str:
        return self.revisions[-1].id

    def columns(self) -> dict[str, list[str]]:
        """The expected tables and their column names at head, version table included."""
        found = {t.name: sorted(c.name for c in t.columns) for t in self.tables}
        return {**found, "alembic_version": ["version_num"]}


def plan(tables: int, revisions: int, seed: str = "bench") -> Plan:
    """The tables and the revision chain (deterministic for the same arguments)."""
    if tables < 1 or revisions < 1:
        raise ValueError("need at least one table and one revision")
    made: list[Table] = []
    chain: list[Revision] = []
    unindexed: list[tuple[Table, Column]] = []  # added columns that may get an index later
    next_table = 0
    for r in range(revisions):
        rev = Revision(
            hashlib.sha256(f"{seed}:{r}".encode()).hexdigest()[:12],
            chain[-1].id if chain else None,
            "",
        )
        new: list[str] = []
        while next_table < tables and next_table * revisions // tables == r:
            made.append(_create_table(rev, next_table, made))
            new.append(made[-1].name)
            next_table += 1
        if new:
            rev.message = "create " + ", ".join(new)
        elif unindexed and r % 2 == 0:
            table, column = unindexed.pop(0)
            column.index = True
            name = f"ix_{table.name}_{column.name}"
            rev.message = f"add index {name}"
            rev.upgrade.append(f"op.create_index({name!r}, {table.name!r}, [{column.name!r}])")
            rev.downgrade.append(f"op.drop_index({name!r}, table_name={table.name!r})")
        else:
            table = made[r % len(made)]
            column = Column(f"c{r}", TYPES[r % len(TYPES)])
            table.columns.append(column)
            unindexed.append((table, column))
            rev.message = f"add column {table.name}.{column.name}"
            rev.upgrade.append(f"op.add_column({table.name!r}, {_column(column)})")
            rev.downgrade.append(f"op.drop_column({table.name!r}, {column.name!r})")
        chain.append(rev)
    return Plan(made, chain)


def _create_table(rev: Revision, i: int, made: list[Table]) -> Table:
    table = Table(f"t{i:04d}", [Column("id", "sa.Integer()", nullable=False)])
    table.columns.append(Column("name", "sa.String(length=80)", nullable=False))
    if i % 3 == 1:  # a foreign key to an earlier table, with an index
        table.columns.append(Column("parent_id", "sa.Integer()", references=made[i // 2].name))
        table.column("parent_id").index = True
    parts = [f"        {_column(c)}," for c in table.columns]
    parts += [
        f"        sa.ForeignKeyConstraint([{c.name!r}], ['{c.references}.id'],"
        f" name={_fk(table, c)!r}),"
        for c in table.columns
        if c.references
    ]
    parts.append("        sa.PrimaryKeyConstraint('id'),")
    rev.upgrade.append(
        f"op.create_table(\n        {table.name!r},\n" + "\n".join(parts) + "\n    )"
    )
    drops = []
    for c in table.columns:
        if c.index:
            name = f"ix_{table.name}_{c.name}"
            rev.upgrade.append(f"op.create_index({name!r}, {table.name!r}, [{c.name!r}])")
            drops.append(f"op.drop_index({name!r}, table_name={table.name!r})")
    rev.downgrade[:0] = [*drops, f"op.drop_table({table.name!r})"]
    return table


def _fk(table: Table, column: Column) -> str:
    return f"fk_{table.name}_{column.name}"


def _column(column: Column) -> str:
    return f"sa.Column({column.name!r}, {column.type}, nullable={column.nullable})"


SCRIPT = '''"""{message}

Revision ID: {id}
Revises: {down_text}
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = {id!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''


def script(rev: Revision) -> str:
    return SCRIPT.format(
        message=rev.message,
        id=rev.id,
        down=rev.down,
        down_text=rev.down or "",
        upgrade="\n    ".join(rev.upgrade),
        downgrade="\n    ".join(rev.downgrade),
    )


def _model(table: Table) -> str:
    lines = [
        f"class {table.name.title()}(db.Model):",
        f"    __tablename__ = {table.name!r}",
        "    id = sa.Column(sa.Integer, primary_key=True)",
    ]
    for c in table.columns[1:]:
        args = [c.type]
        if c.references:
            args.append(f"sa.ForeignKey('{c.references}.id', name={_fk(table, c)!r})")
        args.append(f"nullable={c.nullable}")
        if c.index:
            args.append("index=True")
        lines.append(f"    {c.name} = sa.Column({', '.join(args)})")
    return "\n".join(lines)


APP = '''"""A generated app for the flask-schemaops benchmarks: {tables} tables."""

import os

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


{models}


if os.environ.get("BENCH_DRIFT"):  # a model change that no revision covers
    {first}.__table__.append_column(sa.Column("drift", sa.Integer()))

TOOL = os.environ.get("TOOL", "schemaops")
if TOOL == {schemaops.key!r}:
    from flask_schemaops import SchemaOps

    SchemaOps(app, db, directory={schemaops.directory!r})
elif TOOL == {migrate.key!r}:
    from flask_migrate import Migrate

    Migrate(app, db, directory={migrate.directory!r})
else:
    raise RuntimeError(f"unknown TOOL {{TOOL!r}}")
'''


def generate(root: Path, tables: int, revisions: int, seed: str = "bench") -> Plan:
    """Write the project into ``root`` (which must not hold one yet); return its plan."""
    result = plan(tables, revisions, seed)
    root.mkdir(parents=True, exist_ok=True)
    models = "\n\n\n".join(_model(t) for t in result.tables)
    (root / "app.py").write_text(
        APP.format(
            tables=tables,
            models=models,
            first=result.tables[0].name.title(),
            schemaops=SCHEMAOPS,
            migrate=MIGRATE,
        )
    )
    scripts = {f"{r:05d}_{rev.id}.py": script(rev) for r, rev in enumerate(result.revisions)}
    for tool in TOOLS:
        env = {**os.environ, "TOOL": tool.key}
        env.pop("DATABASE_URL", None)  # init needs no database
        command = [sys.executable, "-m", "flask", "--app", "app", "db", "init"]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{tool.label} init failed in {root}:\n{done.stderr}")
        versions = root / tool.directory / "versions"
        for name, text in scripts.items():
            (versions / name).write_text(text)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the project (new)")
    parser.add_argument("--tables", type=int, default=20, help="tables (default 20)")
    parser.add_argument("--revisions", type=int, default=50, help="revisions (default 50)")
    args = parser.parse_args()
    result = generate(args.directory, args.tables, args.revisions)
    print(f"{args.directory}: {len(result.tables)} tables, head {result.head}")


if __name__ == "__main__":
    main()
