"""Fast paths give the same answers as the slow ones."""

from __future__ import annotations

import gc
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script.revision import RevisionError as AlembicRevisionError
from apps import invoke
from flask import Flask

from flask_schemaops import api
from flask_schemaops.errors import SchemaOpsError
from flask_schemaops.headers import read_headers
from flask_schemaops.session import Session, open_project

App = Callable[..., Flask]


def _revision(app: Flask, rev: str, *extra: str) -> Path:
    result = invoke(app, "revision", "-m", f"step {rev}", "--rev-id", rev, *extra)
    assert result.exit_code == 0, result.output
    return Path(result.output.split("Wrote ")[1].split()[0])


def test_the_header_cache_follows_file_changes(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    invoke(app, "init")
    _revision(app, "a")
    second = _revision(app, "b")
    cache = app.extensions["schemaops"].headers
    versions = tmp_path / "migrations" / "versions"
    assert set(read_headers(versions, cache) or {}) == {"a", "b"}

    # Rewritten in place (same size, later mtime) and then removed: both are seen.
    text = second.read_text().replace("step b", "step B")
    second.write_text(text)
    stat = second.stat()
    os.utime(second, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert read_headers(versions, cache)["b"].message == "step B"  # type: ignore[index]
    second.unlink()
    assert set(read_headers(versions, cache) or {}) == {"a"}
    [status] = api.status(app=app)
    assert status.heads == ("a",)


def test_upgrade_heads_is_not_a_no_op_at_one_of_two_heads(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    _revision(app, "root")
    _revision(app, "left")
    _revision(app, "right", "--head", "root", "--splice")
    assert invoke(app, "upgrade", "left").exit_code == 0

    result = invoke(app, "upgrade", "heads")
    assert result.exit_code == 0, result.output
    assert "1 revision applied" in result.output
    assert sorted(invoke(app, "current", "--bare").output.split()) == ["left", "right"]
    result = invoke(app, "upgrade", "heads")
    assert "Nothing to do: the database is already at left, right." in result.output
    # "head" stays ambiguous with two heads, fast path or not.
    result = invoke(app, "upgrade")
    assert result.exit_code == 1 and "2 heads (left, right)" in result.stderr


def test_status_from_headers_matches_alembic(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    for rev in ("a", "b", "c"):
        _revision(app, rev)
    invoke(app, "upgrade", "a")
    [fast] = api.status(app=app)
    history = {r.revision: r for r in api.history(app=app)}
    assert fast.current == ("a",) and fast.heads == ("c",)
    assert [(p.revision, p.message) for p in fast.pending] == [
        (rev, history[rev].message) for rev in ("b", "c")
    ]


def test_status_from_headers_counts_dependencies(
    make_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # d depends on a through a's branch label, e on a by id: applying them applies a,
    # and the version table then holds d and e alone.
    app = make_app()
    invoke(app, "init")
    _revision(app, "a", "--branch-label", "main")
    _revision(app, "g", "--head", "base", "--branch-label", "side")
    _revision(app, "d", "--head", "g", "--depends-on", "main")
    _revision(app, "e", "--head", "base", "--depends-on", "a", "--branch-label", "more")
    [before] = api.status(app=app)
    order = [r.revision for r in before.pending]
    assert sorted(order) == ["a", "d", "e", "g"]
    assert order.index("a") < min(order.index("d"), order.index("e"))
    assert order.index("g") < order.index("d")

    result = invoke(app, "upgrade", "heads")
    assert result.exit_code == 0, result.output
    [fast] = api.status(app=app)
    assert (sorted(fast.current), fast.pending) == (["d", "e"], ())
    assert invoke(app, "status").exit_code == 0
    with monkeypatch.context() as patch:
        patch.setattr(Session, "headers", lambda self: None)  # what Alembic's revision map says
        [slow] = api.status(app=app)
    assert (sorted(fast.heads), fast.pending) == (sorted(slow.heads), slow.pending)


# Histories whose revisions depend on others (``--depends-on``): each revision as its
# id and the options of `flask db revision`, or ("merge", id, the revisions it joins).
SHAPES = {
    "dependencies on heads of other branches": [
        ("a", "--branch-label", "main"),
        ("g", "--head", "base", "--branch-label", "side"),
        ("d", "--head", "g", "--depends-on", "main"),
        ("e", "--head", "base", "--depends-on", "a", "--branch-label", "more"),
    ],
    "a dependency in the middle of a branch": [
        ("a1", "--branch-label", "one"),
        ("a2",),
        ("b1", "--head", "base", "--depends-on", "a1", "--branch-label", "two"),
        ("b2", "--head", "b1"),
    ],
    "a merge, and a dependency on one of its sides": [
        ("r",),
        ("x",),
        ("y", "--head", "r", "--splice"),
        ("merge", "m", "x", "y"),
        ("z", "--head", "base", "--depends-on", "x", "--branch-label", "other"),
    ],
    "a chain of dependencies": [
        ("a",),
        ("b", "--head", "base", "--depends-on", "a", "--branch-label", "bee"),
        ("c", "--head", "base", "--depends-on", "bee", "--branch-label", "sea"),
        ("d", "--head", "c", "--depends-on", "a"),
    ],
    "one head, over a dependency between branches": [
        ("r",),
        ("x",),
        ("y", "--head", "r", "--splice"),
        ("w", "--head", "y", "--depends-on", "x"),
        ("merge", "m", "x", "w"),
    ],
}


def _history(app: Flask, shape: str) -> None:
    invoke(app, "init")
    for rev, *extra in SHAPES[shape]:
        if rev == "merge":
            result = invoke(app, "merge", "-m", "merge", "--rev-id", *extra)
            assert result.exit_code == 0, result.output
        else:
            _revision(app, rev, *extra)


@pytest.mark.parametrize("shape", SHAPES)
def test_upgrade_finds_nothing_to_do_without_alembic_where_alembic_finds_nothing(
    make_app: App, database_url: str, tmp_path: Path, shape: str
) -> None:
    """For every set of revisions the version table can hold, ``upgrade heads`` (and
    ``head``, where there is one head) does what Alembic decides: it applies the
    revisions Alembic would, in its order; it refuses what Alembic refuses (a
    revision below another in the version table); and where Alembic finds nothing to
    apply, it says so without importing a script."""
    app = make_app()
    _history(app, shape)
    with open_project(app, None) as project:
        [session] = project.sessions
        ids = sorted(session.headers() or ())
        script = session.script  # Alembic's revision map, from the imported scripts
        targets = ["heads", "head"] if len(script.get_heads()) == 1 else ["heads"]
    states = [x for n in range(len(ids) + 1) for x in itertools.combinations(ids, n)]
    cases = []
    for held, target in itertools.product(states, targets):
        try:
            walk = script.iterate_revisions(target, held, implicit_base=True)
            cases.append((held, target, [r.revision for r in reversed(list(walk))]))
        except AlembicRevisionError as exc:
            cases.append((held, target, str(exc)))
    marker = tmp_path / "imported"
    for path in (tmp_path / "migrations" / "versions").glob("*.py"):
        path.write_text(f"{path.read_text()}\nopen({str(marker)!r}, 'a').write('x')\n")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    assert invoke(app, "upgrade", "heads").exit_code == 0  # the version table exists

    nothing = 0
    for held, target, alembic in cases:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM alembic_version"))
            for revision in held:
                connection.execute(
                    sa.text("INSERT INTO alembic_version (version_num) VALUES (:r)"),
                    {"r": revision},
                )
        marker.unlink(missing_ok=True)
        if isinstance(alembic, str):
            # "Requested revision X overlaps with other requested revisions ...": the
            # others come in no fixed order.
            with pytest.raises(SchemaOpsError, match=re.escape(alembic.split(" with ")[0])):
                api.upgrade(target, app=app)
            continue
        [run] = api.upgrade(target, app=app)
        assert [s.revision for s in run.steps] == alembic, (held, target)
        if not alembic:
            nothing += 1
            assert sorted(run.before) == sorted(run.after) == list(held)
        assert marker.exists() == bool(alembic), (held, target)
    engine.dispose()
    assert nothing >= len(targets)


def test_a_no_op_upgrade_of_a_history_with_dependencies_imports_no_script(
    make_app: App, database_url: str, tmp_path: Path
) -> None:
    # The version table holds d and e alone: a, a head that both depend on, was
    # applied with them. Nothing is left to apply, as Alembic would find.
    app = make_app()
    _history(app, "dependencies on heads of other branches")
    result = invoke(app, "upgrade", "heads")
    assert result.exit_code == 0 and "4 revisions applied" in result.output, result.output
    marker = tmp_path / "imported"
    for path in (tmp_path / "migrations" / "versions").glob("*.py"):
        path.write_text(f"{path.read_text()}\nopen({str(marker)!r}, 'a').write('x')\n")

    result = invoke(app, "upgrade", "heads")
    assert result.exit_code == 0, result.output
    done = "Nothing to do: the database is already at "
    assert result.output.startswith(done), result.output
    assert sorted(result.output.removeprefix(done).rstrip(".\n").split(", ")) == ["d", "e"]
    assert not marker.exists()
    # With e taken out of the version table, there is work: Alembic does it.
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM alembic_version WHERE version_num = 'e'"))
    engine.dispose()
    result = invoke(app, "upgrade", "heads")
    assert "1 revision applied" in result.output and marker.exists()


def test_status_of_a_fresh_database_under_a_long_history(make_app: App, tmp_path: Path) -> None:
    # Longer than Python's recursion limit: the pending revisions are put in order
    # without recursion.
    app = make_app()
    invoke(app, "init")
    versions = tmp_path / "migrations" / "versions"
    count = sys.getrecursionlimit() + 100
    for n in range(count):
        parent = repr(f"r{n - 1}") if n else None
        (versions / f"r{n}_step.py").write_text(
            f'"""step {n}"""\nrevision = "r{n}"\ndown_revision = {parent}\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        )
    result = invoke(app, "status")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[1:4] == [
        "Current:  <base>",
        f"Heads:    r{count - 1}",
        f"Pending:  {count} revision(s)",
    ]
    assert (
        lines[4:6] == ["  r0  step 0", "  r1  step 1"]
        and lines[-1] == f"  r{count - 1}  step {count - 1}"
    )


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_history_heads_and_current_from_headers_match_alembic(
    make_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    invoke(app, "init")
    for rev in ("a", "b", "c", "d"):
        _revision(app, rev)
    invoke(app, "upgrade", "b")

    def shown(args: tuple[str, ...]) -> str:
        result = invoke(app, *args)
        assert result.exit_code == 0, result.output
        return result.output

    fast = [shown(args) for args in QUERIES]
    with monkeypatch.context() as patch:
        patch.setattr(Session, "line", lambda self: None)  # what Alembic's revision map says
        slow = [shown(args) for args in QUERIES]
    assert fast == slow


QUERIES = (
    ("history",),
    ("history", "-v"),
    ("history", "-i"),
    ("history", "-r", "a:c"),
    ("history", "-r", "current:"),
    ("history", "-r", ":current"),
    ("history", "-r", "-1:"),
    ("heads",),
    ("heads", "-v"),
    ("current",),
    ("current", "-v"),
)


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_read_only_commands_import_no_script(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    invoke(app, "init")
    script = _revision(app, "a")
    _revision(app, "b")
    invoke(app, "upgrade")
    marker = tmp_path / "imported"
    script.write_text(f"open({str(marker)!r}, 'a').write('x')\n" + script.read_text())
    for args in (("heads",), ("history",), ("current",), ("status",), ("upgrade",)):
        assert invoke(app, *args).exit_code == 0, args
    assert not marker.exists()


def test_scripts_in_subfolders_count_when_alembic_ini_says_so(
    make_app: App, tmp_path: Path
) -> None:
    # The header reader lists one folder; a setting that makes Alembic look further
    # sends every answer back to Alembic.
    app = make_app()
    invoke(app, "init")
    _revision(app, "a")
    second = _revision(app, "b")
    ini = tmp_path / "migrations" / "alembic.ini"
    text = ini.read_text()
    assert "[alembic]\n" in text
    ini.write_text(text.replace("[alembic]\n", "[alembic]\nrecursive_version_locations = true\n"))
    later = second.parent / "later"
    later.mkdir()
    second.rename(later / second.name)

    [status] = api.status(app=app)
    assert status.heads == ("b",) and [p.revision for p in status.pending] == ["a", "b"]
    assert invoke(app, "upgrade").exit_code == 0
    assert invoke(app, "current", "--bare").output.split() == ["b"]
    result = invoke(app, "upgrade")
    assert "Nothing to do: the database is already at b." in result.output


def test_the_header_cache_on_disk_follows_file_changes(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    invoke(app, "init")
    _revision(app, "a")
    second = _revision(app, "b")
    versions = tmp_path / "migrations" / "versions"
    assert set(read_headers(versions, {}) or {}) == {"a", "b"}
    saved = versions / "__pycache__" / "schemaops-headers.json"
    assert saved.is_file()

    # Each fresh cache below stands for a new process, which starts from the file.
    text = second.read_text().replace("step b", "step B")
    second.write_text(text)
    stat = second.stat()
    os.utime(second, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert read_headers(versions, {})["b"].message == "step B"  # type: ignore[index]
    third = _revision(app, "c")
    assert set(read_headers(versions, {}) or {}) == {"a", "b", "c"}
    third.unlink()
    assert set(read_headers(versions, {}) or {}) == {"a", "b"}

    saved.write_text("{not json")  # a damaged cache is read as no cache
    assert set(read_headers(versions, {}) or {}) == {"a", "b"}
    [status] = api.status(app=make_app())  # a new app: a new in-memory cache
    assert status.heads == ("b",)


APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_schemaops import SchemaOps

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
db = SQLAlchemy(app)
SchemaOps(app, db)
"""

# Prints, at the very end of the interpreter's exit, whether the garbage collector
# has frozen objects (atexit runs the handler registered first last).
AT_EXIT = (
    "import atexit, gc, runpy, sys;"
    " atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0));"
    " sys.argv = ['flask', *sys.argv[1:]]; runpy.run_module('flask', run_name='__main__')"
)


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_the_app_is_collectable_after_a_command_and_skipped_at_exit(
    make_app: App, tmp_path: Path
) -> None:
    # In process (a test, a script), the app can be garbage collected again once a
    # command is done...
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    assert invoke(app, "heads").exit_code == 0
    assert gc.get_freeze_count() == 0
    # ... while `flask db` as a program leaves it to the operating system at exit.
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP)

    def flask(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        done = subprocess.run(
            [sys.executable, "-c", AT_EXIT, "--app", "app", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "frozen at exit: False" in flask("--help")
    assert "frozen at exit: True" in flask("db", "init")
    assert "frozen at exit: True" in flask("db", "heads")
