"""examples/deploy as its README says: gunicorn refuses to start against a database
that is not at head, serves once `migrate` ran, and /healthz tells the difference."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "deploy"
NOT_IN_THE_EXAMPLE = shutil.ignore_patterns("instance", "__pycache__", "*.pyc", "*.db")

pytest.importorskip("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _entrypoint(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(project / "entrypoint.sh"), *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def _wait_until_listening(process: subprocess.Popen[str], port: int) -> None:
    """Wait for gunicorn to accept connections (without sending a request)."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"gunicorn exited with {process.returncode}:\n{_finish(process)[1]}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "gunicorn did not listen within 60 s"
            time.sleep(0.1)


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _other_connections(url: str) -> int:
    """Sessions on the PostgreSQL database of ``url`` besides the one asking."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _environ(database_url: str, port: int, workers: int = 2) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SCHEMAOPS_"))},
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
    }


def _stop(server: subprocess.Popen[str]) -> str:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    code, output = _finish(server)
    assert code == 0, output
    assert "Shutting down: Master" in output
    return output


def test_gunicorn_with_the_startup_guard_and_health(database_url: str, tmp_path: Path) -> None:
    project = tmp_path / "deploy"
    shutil.copytree(EXAMPLE, project, ignore=NOT_IN_THE_EXAMPLE)
    port = _free_port()
    env = _environ(database_url, port)

    # 1. Not at head: gunicorn refuses to start, and says why.
    code, output = _finish(_entrypoint(project, env, "web"))
    assert code != 0, output
    assert "is at <base>; 1 revision(s) pending:" in output, output
    assert "  0001_baseline  Initial baseline" in output
    assert "The app does not start until the database is at head" in output
    assert "Listening at" not in output

    # 2. The migration step.
    code, output = _finish(_entrypoint(project, env, "migrate"))
    assert code == 0, output
    assert "1 revision applied" in output, output

    # 3. Now it serves, and is healthy.
    server = _entrypoint(project, env, "web")
    try:
        _wait_until_listening(server, port)
        if sa.make_url(database_url).get_backend_name() == "postgresql":
            # The guard's connections were closed before gunicorn forked its workers.
            assert _other_connections(database_url) == 0
        status, health = _get(port, "/healthz")
        assert status == 200, health
        assert health["status"] == "ok"
        assert [d["current"] for d in health["databases"]] == [["0001_baseline"]]
        for _ in range(10):
            assert _get(port, "/orders") == (200, {"orders": 0})

        # 4. New code arrives before its migration: not ready.
        code, output = _finish(
            _entrypoint(
                project, env, "flask", "db", "revision", "-m", "Add note", "--rev-id", "0002"
            )
        )
        assert code == 0, output
        status, health = _get(port, "/healthz")
        assert status == 503, health
        assert health["status"] == "pending"
        assert [p["revision"] for p in health["databases"][0]["pending"]] == ["0002"]
    finally:
        _stop(server)


NOTE = '''"""Add a note to orders

Revision ID: 0002_note
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_note"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("orders", "note")
'''


def test_the_old_version_serves_on_once_the_new_one_migrated(
    database_url: str, tmp_path: Path
) -> None:
    # A rolling deploy, expand first: the new version's migration step runs while
    # the old version serves, then old pods restart before the new ones replace them.
    old, new = tmp_path / "old", tmp_path / "new"
    for project in (old, new):
        shutil.copytree(EXAMPLE, project, ignore=NOT_IN_THE_EXAMPLE)
    (new / "deployapp" / "migrations" / "versions" / "0002_note_add_note.py").write_text(NOTE)
    port = _free_port()
    env = _environ(database_url, port)
    code, output = _finish(_entrypoint(old, env, "migrate"))
    assert code == 0, output

    server = _entrypoint(old, env, "web")
    try:
        _wait_until_listening(server, port)
        assert _get(port, "/healthz")[0] == 200
        code, output = _finish(_entrypoint(new, env, "migrate"))
        assert code == 0, output
        assert "0001_baseline -> 0002_note" in output

        # The old version stays ready, and serves.
        status, health = _get(port, "/healthz")
        assert status == 200, health
        assert health["status"] == "unknown"
        [database] = health["databases"]
        assert (database["state"], database["current"], database["unknown"]) == (
            "unknown",
            ["0002_note"],
            ["0002_note"],
        )
        assert _get(port, "/orders") == (200, {"orders": 0})

        # An old pod that restarts now comes back, and says why it starts.
        again = _free_port()
        restarted = _entrypoint(old, _environ(database_url, again, workers=1), "web")
        try:
            _wait_until_listening(restarted, again)
            assert _get(again, "/healthz")[0] == 200
            assert _get(again, "/orders") == (200, {"orders": 0})
        finally:
            output = _stop(restarted)
        assert (
            "is at 0002_note, which no revision script of this code has: the database is"
            " newer than this code (newer code migrated it first, as in a rolling deploy), or"
            ' it was migrated from another branch. The app starts (SCHEMAOPS_ON_START = "check").'
            in output
        ), output
    finally:
        _stop(server)
