"""The examples run as their READMEs say (with this test run's interpreter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _flask(cwd: Path, env: dict[str, str], *args: str, expect: int = 0) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app.py", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == expect, output
    assert "Traceback" not in output
    return output


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_multidb_example(
    database_url: str, another_database: Callable[[str], str], tmp_path: Path
) -> None:
    project = tmp_path / "multidb"
    shutil.copytree(EXAMPLES / "multidb", project, ignore=shutil.ignore_patterns("instance"))
    audit = another_database("audit")
    env = {"DATABASE_URL": database_url, "AUDIT_DATABASE_URL": audit}

    _flask(project, env, "db", "init")
    output = _flask(project, env, "db", "revision", "--autogenerate", "-m", "Initial baseline")
    assert output.count("Wrote ") == 2
    _flask(project, env, "db", "upgrade")
    assert _tables(database_url) == {"alembic_version", "account"}
    assert _tables(audit) == {"alembic_version", "audit_event"}
    output = _flask(project, env, "db", "status")
    assert output.count("Up to date.") == 2 and "[audit]" in output

    _flask(project, env, "db", "downgrade", "--bind", "audit", "base")
    assert _tables(audit) == {"alembic_version"}
    assert _tables(database_url) == {"alembic_version", "account"}
    output = _flask(project, env, "db", "status", expect=1)
    assert "Pending:  1 revision(s)" in output.split("[audit]")[1]


def test_python_warnings_print_as_one_line(tmp_path: Path) -> None:
    """Alembic warns through Python's warnings: under `flask db` that is one line, not
    a source path and a line of Alembic's code."""
    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", project, ignore=shutil.ignore_patterns("instance"))
    _flask(project, {}, "db", "revision", "-m", "a", "--rev-id", "a1")
    _flask(
        project,
        {},
        "db",
        "revision",
        "-m",
        "b",
        "--rev-id",
        "b1",
        "--head",
        "0001_baseline",
        "--splice",
    )
    _flask(project, {}, "db", "upgrade", "heads")
    output = _flask(project, {}, "db", "downgrade", "-1")
    assert "Warning: downgrade -1 from multiple heads is ambiguous" in output
    assert "UserWarning" not in output and ".py:" not in output
