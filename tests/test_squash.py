"""`flask db squash FROM TO`: one revision in place of a linear range, the same schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apps import execute, invoke
from flask import Flask
from sqlalchemy.pool import NullPool

App = Callable[..., Flask]

# Twenty revisions that together exercise what a schema holds: tables, foreign keys,
# indexes, unique and check constraints, server defaults, type changes, drops, renames.
STEPS = [
    "op.create_table('authors', sa.Column('id', sa.Integer, primary_key=True),"
    " sa.Column('name', sa.String(80), nullable=False))",
    "op.create_table('books', sa.Column('id', sa.Integer, primary_key=True),"
    " sa.Column('title', sa.String(200), nullable=False),"
    " sa.Column('author_id', sa.Integer, sa.ForeignKey('authors.id', name='fk_books_author'),"
    " nullable=False))",
    "op.add_column('books', sa.Column('isbn', sa.String(13)))",
    "op.create_index('ix_books_isbn', 'books', ['isbn'], unique=True)",
    "op.add_column('authors', sa.Column('born', sa.Date))",
    "op.add_column('books', sa.Column('price', sa.Numeric(10, 2), server_default='0',"
    " nullable=False))",
    "op.create_table('tags', sa.Column('id', sa.Integer, primary_key=True),"
    " sa.Column('label', sa.String(40), nullable=False),"
    " sa.UniqueConstraint('label', name='uq_tags_label'))",
    "op.create_table('book_tags',"
    " sa.Column('book_id', sa.Integer, sa.ForeignKey('books.id', name='fk_bt_book'),"
    " primary_key=True),"
    " sa.Column('tag_id', sa.Integer, sa.ForeignKey('tags.id', name='fk_bt_tag'),"
    " primary_key=True))",
    "op.add_column('authors', sa.Column('bio', sa.Text))",
    "with op.batch_alter_table('authors') as batch:\n"
    "        batch.alter_column('name', type_=sa.String(120), existing_type=sa.String(80),"
    " existing_nullable=False)",
    "with op.batch_alter_table('authors') as batch:\n        batch.drop_column('bio')",
    "op.add_column('books', sa.Column('published', sa.Boolean, server_default=sa.false(),"
    " nullable=False))",
    "op.create_index('ix_books_title', 'books', ['title'])",
    "op.create_table('reviews', sa.Column('id', sa.Integer, primary_key=True),"
    " sa.Column('book_id', sa.Integer, sa.ForeignKey('books.id', name='fk_reviews_book'),"
    " nullable=False),"
    " sa.Column('stars', sa.Integer, nullable=False),"
    " sa.CheckConstraint('stars BETWEEN 1 AND 5', name='ck_reviews_stars'))",
    "op.add_column('reviews', sa.Column('body', sa.Text))",
    "with op.batch_alter_table('authors') as batch:\n"
    "        batch.create_unique_constraint('uq_authors_name', ['name'])",
    "op.drop_index('ix_books_title', table_name='books')",
    "op.add_column('tags', sa.Column('color', sa.String(7)))",
    "op.rename_table('book_tags', 'book_labels')",
    "op.add_column('authors', sa.Column('email', sa.String(120)))",
]
IDS = [f"r{n:02d}" for n in range(1, len(STEPS) + 1)]


def _ok(app: Flask, *args: str) -> str:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _versions(tmp_path: Path) -> Path:
    return tmp_path / "migrations" / "versions"


def _history(app: Flask, tmp_path: Path, steps: list[str], ids: list[str]) -> None:
    """init, then one hand-written revision per step."""
    _ok(app, "init")
    for rev_id, body in zip(ids, steps, strict=True):
        _ok(app, "revision", "-m", f"step {rev_id}", "--rev-id", rev_id)
        [path] = _versions(tmp_path).glob(f"{rev_id}_*.py")
        path.write_text(path.read_text().replace("    pass", f"    {body}", 1))


def _schema(url: str) -> dict[str, Any]:
    """What a user would compare: every table with its columns, keys, indexes and
    constraints."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        inspector = sa.inspect(engine)
        found: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            columns = {
                c["name"]: (
                    str(c["type"]),
                    c["nullable"],
                    re.sub(r"[()']", "", str(c.get("default"))).lower(),
                )
                for c in inspector.get_columns(table)
            }
            found[table] = {
                "columns": columns,
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign keys": sorted(
                    (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
            }
        return found
    finally:
        engine.dispose()


def test_twenty_revisions_squashed_into_one(
    make_app: App, tmp_path: Path, database_url: str, another_database: Callable[[str], str]
) -> None:
    app = make_app()
    _history(app, tmp_path, STEPS, IDS)
    _ok(app, "upgrade")
    before = _schema(database_url)
    assert set(before) == {
        "alembic_version",
        "authors",
        "books",
        "tags",
        "book_labels",
        "reviews",
    }
    execute(app, "INSERT INTO authors (name) VALUES ('kept')")

    output = _ok(app, "squash", "r01", "r20")
    [script] = _versions(tmp_path).glob("*.py")
    assert script.name.startswith("r20_")
    assert (
        f"Wrote {script}: r20 now does the work of 20 revisions (r01..r20), on top of <base>."
        in output
    )
    assert (
        "Verified on scratch databases: the squashed history builds the same schema as the"
        " original at r20." in output
    )
    backup = tmp_path / "migrations" / "squashed" / "r20"
    assert f"The replaced files are kept in {backup}" in output
    assert sorted(p.name[:3] for p in backup.glob("*.py")) == IDS
    text = script.read_text()
    assert text.startswith('"""Squashed r01..r20 (20 revisions)\n')
    assert "revision = 'r20'" in text and "down_revision = None" in text
    assert _ok(app, "history").splitlines() == [
        "<base> -> r20 (head), Squashed r01..r20 (20 revisions)"
    ]

    # The database already at head sees no change.
    assert "Nothing to do: the database is already at r20." in _ok(app, "upgrade")
    assert _schema(database_url) == before
    assert execute(app, "SELECT name FROM authors") == [("kept",)]

    # A fresh database gets the identical schema from the one revision, and loses it again.
    url = another_database("fresh")
    fresh = make_app(url=url)
    assert "1 revision applied" in _ok(fresh, "upgrade")
    assert _schema(url) == before
    _ok(fresh, "downgrade", "base")
    assert set(_schema(url)) == {"alembic_version"}


def test_a_range_inside_the_history(
    make_app: App, tmp_path: Path, database_url: str, another_database: Callable[[str], str]
) -> None:
    app = make_app()
    _history(app, tmp_path, STEPS[:8], IDS[:8])
    _ok(app, "upgrade")
    before = _schema(database_url)
    untouched = {p.name: p.read_text() for p in _versions(tmp_path).glob("r0[1678]_*.py")}

    _ok(app, "squash", "r02", "r05")
    names = sorted(p.name[:3] for p in _versions(tmp_path).glob("*.py"))
    assert names == ["r01", "r05", "r06", "r07", "r08"]
    for name, text in untouched.items():
        assert (_versions(tmp_path) / name).read_text() == text
    [squashed] = _versions(tmp_path).glob("r05_*.py")
    assert "down_revision = 'r01'" in squashed.read_text()
    assert "Nothing to do" in _ok(app, "upgrade")
    url = another_database("fresh")
    assert "5 revisions applied" in _ok(make_app(url=url), "upgrade")
    assert _schema(url) == before


def test_refused_while_a_database_is_inside_the_range(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    _history(app, tmp_path, STEPS[:6], IDS[:6])
    _ok(app, "upgrade", "r03")
    files = sorted(_versions(tmp_path).iterdir())

    result = invoke(app, "squash", "r01", "r06")
    assert result.exit_code == 1
    error = result.stderr
    assert "Error: The database 'default' (" in error
    assert (
        ") is at r03, inside the range r01..r06: squashing would delete the revision it"
        " records. Upgrade it to r06 or later first (`flask db upgrade r06`), or squash a"
        " range it is not in. Nothing was changed." in error
    )
    assert sorted(_versions(tmp_path).iterdir()) == files
    assert not (tmp_path / "migrations" / "squashed").exists()

    _ok(app, "upgrade")  # at r06, the end of the range: unaffected
    _ok(app, "squash", "r01", "r06")


def test_a_database_of_another_environment_inside_the_range(
    make_app: App, tmp_path: Path, another_database: Callable[[str], str]
) -> None:
    app = make_app()
    _history(app, tmp_path, STEPS[:6], IDS[:6])
    _ok(app, "upgrade")
    staging = make_app(url=another_database("staging"))  # not the app's configured one
    _ok(staging, "upgrade", "r03")

    result = invoke(app, "squash", "r01", "r06")
    assert result.exit_code == 0, result.output
    assert (
        "Warning: A database of another environment (not one this app is configured with)"
        ' that records r01, r02, r03, r04, r05 fails with "Can\'t locate revision" once this'
        " change reaches it: upgrade each such database to r06 or later before (`flask db"
        " upgrade r06`).\n" in result.stderr
    )

    kept = "migrations/squashed/r06"
    result = invoke(staging, "status")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: The database records revision 'r03', which `flask db squash` replaced: its"
        f" script is kept in {kept}/r03_step_r03.py, and r06 does the work of that range"
        " now. Bring the database to r06 with the original scripts (from a checkout made"
        " before the squash: `flask db upgrade r06`); from there this history serves it.\n"
    )
    output = invoke(staging, "doctor").output
    assert (
        "ERROR: The database records revision 'r03', which `flask db squash` replaced, so"
        " every command fails with \"Can't locate revision identified by 'r03'\".\n"
        "  Evidence: alembic_version holds 'r03'\n"
        "            migrations/versions has 1 revision(s), none with that id; head: r06\n"
        f"            {kept}/r03_step_r03.py keeps its script; r06 does the work of its range"
        " now\n"
        "  Cause:    The database was inside the range squashed into r06 (squash checks only"
        " the databases this app is configured with, not those of other environments), so it"
        " has the schema of the revision it records, behind the squashed one.\n"
        "  Fix:      Bring the database to r06 with the original scripts: from a checkout made"
        " before the squash, `flask db upgrade r06`. (Or copy the files of"
        f" {kept} into migrations/versions over the new r06 for that upgrade, then put the"
        " new one back.) From r06 on, this history serves it.\n"
    ) in output
    assert "differs by" not in output and "stamp" not in output

    # The second way, as written.
    [new] = _versions(tmp_path).glob("r06_*.py")
    squashed = new.read_text()
    for path in (tmp_path / kept).glob("*.py"):
        (_versions(tmp_path) / path.name).write_text(path.read_text())
    _ok(staging, "upgrade", "r06")
    for path in (tmp_path / kept).glob("*.py"):
        (_versions(tmp_path) / path.name).unlink()
    new.write_text(squashed)
    assert _ok(staging, "status").splitlines()[-1] == "Up to date."
    assert "Nothing to do: the database is already at r06." in _ok(staging, "upgrade")


def test_refused_when_the_range_has_branches(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    _history(app, tmp_path, STEPS[:4], IDS[:4])
    _ok(app, "revision", "-m", "side", "--rev-id", "side", "--head", "r02", "--splice")
    files = sorted(_versions(tmp_path).iterdir())

    result = invoke(app, "squash", "r01", "r04")
    assert result.exit_code == 1
    assert (
        "Error: side branches off r02, inside the range r01..r04, so the range has branches"
        in result.stderr
    )
    result = invoke(app, "squash", "r04", "r01")
    assert "r04 is not an ancestor of r01. Give the older revision first" in result.stderr
    assert sorted(_versions(tmp_path).iterdir()) == files


def test_data_migrations_are_listed_and_need_yes(
    make_app: App, tmp_path: Path, database_url: str
) -> None:
    app = make_app()
    steps = [
        *STEPS[:2],
        "op.execute(\"INSERT INTO authors (name) VALUES ('system')\")",
        "op.get_bind().execute(sa.text(\"UPDATE authors SET name = 'root'\"))",
    ]
    _history(app, tmp_path, steps, IDS[:4])
    files = {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")}

    result = invoke(app, "squash", "r01", "r04")
    assert result.exit_code == 1
    error = result.stderr
    assert "The range r01..r04 holds 2 statement(s) that run SQL or move data." in error
    [r03] = [n for n in files if n.startswith("r03")]
    [r04] = [n for n in files if n.startswith("r04")]
    assert (
        f'  r03 (migrations/versions/{r03}, line 18): op.execute("INSERT INTO authors (name)'
        " VALUES ('system')\")" in error
    )
    assert f"  r04 (migrations/versions/{r04}, line 18): op.get_bind()" in error
    assert "squash again with --yes to drop them" in error
    assert {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")} == files

    output = _ok(app, "squash", "r01", "r04", "--yes")
    assert "Dropped 2 statement(s) (--yes):" in output
    _ok(app, "upgrade")
    assert execute(app, "SELECT count(*) FROM authors") == [(0,)]
    assert set(_schema(database_url)) == {"alembic_version", "authors", "books"}


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_squash_that_fails_on_a_fresh_database_is_undone(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    steps = [
        "op.execute(\"CREATE FUNCTION answer() RETURNS integer AS 'SELECT 42' LANGUAGE SQL\")",
        "op.create_table('answers', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('value', sa.Integer, server_default=sa.text('answer()')))",
    ]
    _history(app, tmp_path, steps, IDS[:2])
    files = {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")}

    # --yes drops the CREATE FUNCTION, which the column's default needs.
    result = invoke(app, "squash", "r01", "r02", "--yes")
    assert result.exit_code == 1
    assert (
        "Error: The squashed history failed on a fresh scratch database, so the original"
        " files were put back:\n" in result.stderr
    )
    [cause] = result.stderr.splitlines()[1:2]
    assert cause.startswith("migrations/versions/r02_step_r02.py, line ")
    assert "function answer() does not exist" in cause
    assert {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")} == files
    assert not (tmp_path / "migrations" / "squashed").exists()


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_type_that_cannot_be_reflected_is_refused(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    point = (
        "class Point(sa.types.UserDefinedType):\n"
        "        cache_ok = True\n"
        "        def get_col_spec(self, **kw):\n"
        "            return 'POINT'\n"
        "    op.add_column('authors', sa.Column('location', Point()))"
    )
    _history(app, tmp_path, [STEPS[0], point], IDS[:2])
    files = {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")}

    with pytest.warns(sa.exc.SAWarning, match="Did not recognize type 'point'"):
        result = invoke(app, "squash", "r01", "r02")
    assert result.exit_code == 1
    assert (
        "Error: SQLAlchemy cannot reflect the type of authors.location, so a revision built"
        " from the schema cannot create that column." in result.stderr
    )
    assert {p.name: p.read_text() for p in _versions(tmp_path).glob("*.py")} == files
