"""Fast paths give the same answers as the slow ones."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from apps import invoke
from flask import Flask

from flask_schemaops import api
from flask_schemaops.headers import read_headers
from flask_schemaops.session import Session

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
