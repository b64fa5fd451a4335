"""Deploys: concurrent upgraders, the migration lock, and failure reports."""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from apps import columns, execute, invoke, tables
from flask import Flask
from servers import Server

from flask_schemaops import api, guard
from flask_schemaops.errors import NotUpToDateError
from flask_schemaops.locking import lock_name, migration_lock

PROJECT = Path(__file__).parent / "projects" / "race"
HEAD = "r4"
SERVERS = pytest.mark.parametrize("dialect", ["postgresql", "mysql"], indirect=True)


def _upgrade(url: str, project: Path = PROJECT, **env: str) -> subprocess.Popen[str]:
    """Start `flask db upgrade` on the race project (or a copy) against ``url``."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app.py", "db", "upgrade"],
        cwd=project,
        env={**os.environ, "DATABASE_URL": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _fresh(server: Server | None, tmp_path: Path) -> str:
    if server is None:
        return f"sqlite:///{tmp_path / f'race-{uuid.uuid4().hex[:8]}.db'}"
    name = f"race_{uuid.uuid4().hex[:10]}"
    server.create_database(name)
    return server.url(name)


def _state(url: str) -> tuple[Counter[str], list[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            runs = Counter(r for (r,) in connection.execute(sa.text("SELECT revision FROM runs")))
            versions = [
                v for (v,) in connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return runs, versions


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_race_of_eight_upgraders(database_server: Server | None, tmp_path: Path) -> None:
    trials = int(os.environ.get("SCHEMAOPS_RACE_TRIALS", "20" if database_server else "5"))
    waited = nothing = 0
    started = time.perf_counter()
    for _ in range(trials):
        url = _fresh(database_server, tmp_path)
        processes = [_upgrade(url) for _ in range(8)]
        outputs = [p.communicate(timeout=300)[0] for p in processes]
        for process, output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output
            assert "Traceback" not in output
        waited += sum("Waiting for the migration lock" in o for o in outputs)
        nothing += sum("Nothing to do" in o for o in outputs)
        applied = [o for o in outputs if "4 revisions applied" in o]
        assert len(applied) == 1, outputs
        runs, versions = _state(url)
        assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
        assert versions == [HEAD]
    seconds = time.perf_counter() - started
    print(
        f"\n{trials} trials x 8 upgraders: every process exited 0; 1 applied 4 revisions,"
        f" {waited} waited for the lock, {nothing} found nothing to do;"
        f" {seconds / trials:.2f} s a trial"
    )


@SERVERS
def test_race_under_flask_migrates_env_py(database_server: Server, tmp_path: Path) -> None:
    # A project that moved with compat.Migrate and kept Flask-Migrate's env.py, which
    # takes no lock: the lock is held around the whole run of it.
    project = tmp_path / "race"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    template = Path(flask_migrate.__file__).parent / "templates" / "flask"
    shutil.copyfile(template / "env.py", project / "migrations" / "env.py")
    shutil.copyfile(template / "alembic.ini.mako", project / "migrations" / "alembic.ini")
    app = project / "app.py"
    text = app.read_text().replace("SchemaOps(app, db)", "Migrate(app, db)")
    app.write_text(
        text.replace("flask_schemaops import SchemaOps", "flask_schemaops.compat import Migrate")
    )
    for _ in range(3):
        url = _fresh(database_server, tmp_path)
        processes = [_upgrade(url, project) for _ in range(8)]
        outputs = [p.communicate(timeout=300)[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 8, outputs
        assert sum("The database moved from <base> to r4." in o for o in outputs) == 1, outputs
        assert sum("Nothing to do: the database is already at r4." in o for o in outputs) == 7
        runs, versions = _state(url)
        assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
        assert versions == [HEAD]


@SERVERS
def test_a_waiting_upgrader_names_the_holder(database_server: Server, tmp_path: Path) -> None:
    url = _fresh(database_server, tmp_path)
    first = _upgrade(url, MIGRATION_SLEEP="1")
    time.sleep(1.0)
    second = _upgrade(url, MIGRATION_SLEEP="0")
    out_first, out_second = (p.communicate(timeout=120)[0] for p in (first, second))
    assert first.returncode == 0 and second.returncode == 0, (out_first, out_second)
    expected = "server process" if database_server.dialect == "postgresql" else "connection"
    assert f"Waiting for the migration lock, held by {expected}" in out_second
    assert "Nothing to do: the database is already at r4." in out_second


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_concurrent_index_build_under_the_lock_does_not_deadlock(
    database_server: Server, isolation: str, tmp_path: Path
) -> None:
    url = _fresh(database_server, tmp_path)
    # Whatever the default, the lock's transaction must keep no snapshot between statements.
    database = sa.make_url(url).database
    _execute(url, f"ALTER DATABASE {database} SET default_transaction_isolation = '{isolation}'")
    processes = [_upgrade(url, MIGRATION_SLEEP="0.5") for _ in range(5)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * 5, outputs
    assert sum("4 revisions applied" in o for o in outputs) == 1
    engine = sa.create_engine(url)
    try:
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("runs")}
    finally:
        engine.dispose()
    assert "ix_runs_revision" in indexes


def _through(pgbouncer: Server, url: str) -> str:
    """The URL of the database at ``url`` through ``pgbouncer``."""
    return pgbouncer.url(sa.make_url(url).database or "")


def _advisory_locks(url: str) -> list[int]:
    """The server processes that hold an advisory lock in the database at ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    sa.text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    )
                )
            )
    finally:
        engine.dispose()


def _locks_once(url: str, held: bool) -> list[int]:
    """Wait until the migration lock of the database at ``url`` (a direct URL) is
    ``held``, or not, and return the server processes that hold it."""
    deadline = time.monotonic() + 30
    while bool(pids := _advisory_locks(url)) != held:
        assert time.monotonic() < deadline, f"the lock is {'not ' if held else ''}held"
        time.sleep(0.1)
    return pids


def test_race_through_pgbouncer_in_transaction_mode(
    postgresql_server: Server, pgbouncer_server: Server, tmp_path: Path
) -> None:
    # Six upgraders share three server sessions, lent for one transaction at a time.
    for _ in range(2):
        url = _fresh(postgresql_server, tmp_path)
        processes = [_upgrade(_through(pgbouncer_server, url), POOLED="1") for _ in range(6)]
        outputs = [p.communicate(timeout=300)[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 6, outputs
        assert sum("4 revisions applied" in o for o in outputs) == 1, outputs
        assert sum("Nothing to do: the database is already at r4." in o for o in outputs) == 5
        runs, versions = _state(url)
        assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
        assert versions == [HEAD]
        assert _advisory_locks(url) == []  # none left behind in a pooled session


@pytest.mark.parametrize("through_pgbouncer", [False, True], ids=["direct", "pgbouncer"])
def test_a_killed_holder_leaves_nothing_behind(
    postgresql_server: Server,
    through_pgbouncer: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    url = migrate = _fresh(postgresql_server, tmp_path)
    env = {}
    if through_pgbouncer:
        migrate, env = _through(request.getfixturevalue("pgbouncer_server"), url), {"POOLED": "1"}
    holder = _upgrade(migrate, MIGRATION_SLEEP="60", **env)
    _locks_once(url, held=True)
    time.sleep(0.5)  # well inside revision r1's sleep
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    _locks_once(url, held=False)  # a pooler closes the session that a client left

    started = time.monotonic()
    second = _upgrade(migrate, MIGRATION_SLEEP="0", LOCK_TIMEOUT="10", **env)
    output = second.communicate(timeout=60)[0]
    assert second.returncode == 0, output
    assert time.monotonic() - started < 15
    assert "4 revisions applied" in output
    runs, versions = _state(url)
    assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
    assert versions == [HEAD]
    assert _advisory_locks(url) == []


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_lock_lost_during_the_run_is_an_error(database_server: Server, tmp_path: Path) -> None:
    url = _fresh(database_server, tmp_path)
    holder = _upgrade(url, MIGRATION_SLEEP="1")
    [session] = _locks_once(url, held=True)
    _execute(url, f"SELECT pg_terminate_backend({session})")  # as an administrator might
    output = holder.communicate(timeout=60)[0]
    assert holder.returncode == 1, output
    assert (
        "Error: The run finished, but the migration lock was lost on the way: its session"
        f" (server process {session}) ended (" in output
    )
    assert "Another process may have migrated this database at the same time" in output
    assert "Traceback" not in output
    runs, versions = _state(url)
    assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
    assert versions == [HEAD]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_a_waiter_stops_once_another_process_has_reached_head(
    database_server: Server | None, tmp_path: Path
) -> None:
    url = _fresh(database_server, tmp_path)
    assert _upgrade(url).communicate(timeout=120)[0].count("applied") == 1
    _execute(url, "UPDATE alembic_version SET version_num = 'r3'")  # as if r4 were pending
    engine = sa.create_engine(url)
    name = lock_name(engine.url, "alembic_version", None)
    try:
        with migration_lock(engine, name, timeout=10) as held:  # another migrator, here
            assert held
            waiter = _upgrade(url, LOCK_TIMEOUT="60")
            assert waiter.stdout is not None
            seen = ""
            while "Waiting for the migration lock" not in seen:
                line = waiter.stdout.readline()
                assert line, f"the upgrader exited without waiting: {seen}"
                seen += line
            _execute(url, "UPDATE alembic_version SET version_num = 'r4'")  # the holder is done
            output = seen + waiter.communicate(timeout=30)[0]
            # It stopped while the lock was still held, and ran nothing.
            assert waiter.returncode == 0, output
            assert "Nothing to do: the database is already at r4." in output
    finally:
        engine.dispose()
    runs, versions = _state(url)
    assert runs == Counter({"r1": 1, "r2": 1, "r3": 1, "r4": 1})
    assert versions == [HEAD]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_the_wait_for_the_lock_is_no_revisions_time(
    database_server: Server | None, tmp_path: Path
) -> None:
    """A run that waited for the lock says how long, apart from its own time; each
    revision's time, in the output and the audit history, starts once it holds the lock."""
    url = _fresh(database_server, tmp_path)
    engine = sa.create_engine(url)
    name = lock_name(engine.url, "alembic_version", None)
    try:
        with migration_lock(engine, name, timeout=10) as held:  # another migrator, here
            assert held
            waiter = _upgrade(url, MIGRATION_SLEEP="0", AUDIT_TABLE="schemaops_audit")
            assert waiter.stdout is not None
            seen = waiter.stdout.readline()
            assert seen.startswith("Waiting for the migration lock, held by "), seen
            released = datetime.datetime.now(datetime.UTC)
        output = seen + waiter.communicate(timeout=120)[0]
        with engine.connect() as connection:
            query = sa.text("SELECT started_at FROM schemaops_audit")
            rows = connection.execute(query.columns(started_at=sa.DateTime(timezone=True)))
            # Stored in UTC; MariaDB keeps whole seconds.
            started = [at if at.tzinfo else at.replace(tzinfo=datetime.UTC) for (at,) in rows]
        if engine.dialect.name in ("mysql", "mariadb"):
            released = released.replace(microsecond=0)
    finally:
        engine.dispose()
    assert waiter.returncode == 0, output
    assert re.fullmatch(
        r"Waiting for the migration lock, held by .*\.\.\.\n"
        r"(  upgrade   \S+ +-> r\d +step \d: .*  \(\d+ ms\)\n){4}"
        r"4 revisions applied in \d+\.\d\d s after waiting \d+\.\d s for the lock;"
        r" the database is now at r4\.\n",
        output,
    ), output
    assert len(started) == 4 and min(started) >= released, (started, released)


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_a_lock_timeout_is_a_clear_error(database_server: Server | None, tmp_path: Path) -> None:
    url = _fresh(database_server, tmp_path)
    first = _upgrade(url, MIGRATION_SLEEP="1")
    time.sleep(1.0)
    second = _upgrade(url, MIGRATION_SLEEP="0", LOCK_TIMEOUT="0.5")
    out_second = second.communicate(timeout=60)[0]
    out_first = first.communicate(timeout=60)[0]
    assert first.returncode == 0, out_first
    assert second.returncode == 1, out_second
    assert "Gave up waiting for the migration lock after 0.5 s" in out_second
    assert "--lock-timeout" in out_second and "Traceback" not in out_second


# --- SQLite: a migration that holds the whole database ----------------------------------

BUSY = Path(__file__).parent / "projects" / "busy"


def _in_busy(url: str, *command: str, cwd: Path = BUSY, **env: str) -> subprocess.Popen[str]:
    """Start ``command`` in the busy project against ``url``, with a busy timeout of
    0.5 s for each SQLite connection."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_environ(url, BUSY_TIMEOUT="0.5", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], line: str) -> str:
    """What ``process`` prints up to and including ``line`` (a whole line)."""
    assert process.stdout is not None
    seen = ""
    while line + "\n" not in seen:
        more = process.stdout.readline()
        assert more, f"the process exited before printing {line!r}:\n{seen}"
        seen += more
    return seen


@pytest.fixture
def hold(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen[str]]]]:
    """A folder for the busy project's HOLD, and a list for the processes a test
    starts: once it ends, revision b2 may go on and every process is stopped."""
    folder = tmp_path / "hold"
    folder.mkdir()
    processes: list[subprocess.Popen[str]] = []
    yield folder, processes
    (folder / "release").touch()
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize("foreign_keys", ["", "on"], ids=["fk-off", "fk-on"])
def test_sqlite_commands_wait_for_a_migration_that_holds_the_database(
    tmp_path: Path, hold: tuple[Path, list[subprocess.Popen[str]]], foreign_keys: str
) -> None:
    # Revision b2 copies a 5 MB table: from there to its commit, SQLite's exclusive
    # lock keeps every other connection out, readers too. It says when it holds the
    # lock, and holds it until told to go on.
    folder, processes = hold
    url = f"sqlite:///{tmp_path / 'app.db'}"
    flask = (sys.executable, "-m", "flask", "--app", "app.py")
    keys = {"FOREIGN_KEYS": foreign_keys}

    def start(*command: str, cwd: Path = BUSY, **env: str) -> subprocess.Popen[str]:
        processes.append(_in_busy(url, *command, cwd=cwd, **keys, **env))
        return processes[-1]

    holder = start(*flask, "db", "upgrade", HOLD=str(folder))
    while not (folder / "holding").exists():
        assert holder.poll() is None, holder.communicate()[0]
        time.sleep(0.05)
    who = f"process {(folder / 'holding').read_text()} on {socket.gethostname()}"

    upgrader = start(*flask, "db", "upgrade")
    upgraded = _read_until(upgrader, f"Waiting for the migration lock, held by {who}...")
    plain = start("alembic", "upgrade", "head", cwd=BUSY / "migrations")
    logged = f"Waiting for the migration lock held by {who}."
    plain_output = _read_until(plain, f"WARNI [flask_schemaops] {logged}")
    # The startup guard finds the database locked once SQLite's busy timeout has run
    # out, and waits for it.
    starting = {
        mode: start(sys.executable, "-c", "import app", ON_START=mode)
        for mode in ("upgrade", "check", "wait")
    }
    locked = (
        f"The SQLite database {url} is locked: {who} is migrating it (it holds the"
        " migration lock), and SQLite's busy timeout (0.5 s) ran out."
    )
    free = f"{locked}\nWaiting up to 120 s (SCHEMAOPS_LOCK_TIMEOUT) until the database is free."
    started = {
        "upgrade": _read_until(starting["upgrade"], free),
        "check": _read_until(starting["check"], free),
        "wait": _read_until(
            starting["wait"],
            f"{locked}\nWaiting up to 300 s (SCHEMAOPS_ON_START_TIMEOUT) until the database"
            " is free.",
        ),
    }
    # A command that only reads does not wait past the busy timeout.
    status = subprocess.run(
        [*flask, "db", "status"],
        cwd=BUSY,
        env=_environ(url, BUSY_TIMEOUT="0.5", **keys),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (status.returncode, status.stdout) == (2, "")
    assert status.stderr == (
        f"Error: {locked}\nRun the command again once the migration has finished"
        " (`flask db upgrade` and the startup guard wait for it).\n"
    )

    (folder / "release").touch()
    out_holder = holder.communicate(timeout=120)[0]
    assert holder.returncode == 0, out_holder
    assert "2 revisions applied" in out_holder
    upgraded += upgrader.communicate(timeout=120)[0]
    assert upgrader.returncode == 0, upgraded
    assert upgraded == (
        f"Waiting for the migration lock, held by {who}...\n"
        "Nothing to do: the database is already at b2.\n"
    )
    plain_output += plain.communicate(timeout=120)[0]
    assert (plain.returncode, plain_output) == (0, f"WARNI [flask_schemaops] {logged}\n")
    for mode, process in starting.items():
        started[mode] += process.communicate(timeout=120)[0]
        assert process.returncode == 0, (mode, started[mode])
        assert "Traceback" not in started[mode]
    assert _versions(url) == ["b2"]


# --- Failure reports -----------------------------------------------------------------


def test_failure_report_and_per_migration_transactions(
    make_app: Callable[..., Flask], tmp_path: Path, database_url: str
) -> None:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    versions = tmp_path / "migrations" / "versions"
    for rev, body in (
        ("a1", "op.create_table('notes', sa.Column('id', sa.Integer, primary_key=True))"),
        ("a2", "op.execute('INSERT INTO no_such_table VALUES (1)')"),
    ):
        assert invoke(app, "revision", "-m", f"step {rev}", "--rev-id", rev).exit_code == 0
        [path] = versions.glob(f"{rev}_*.py")
        path.write_text(
            path.read_text().replace("def upgrade():\n    pass", f"def upgrade():\n    {body}")
        )

    result = invoke(app, "upgrade")
    assert result.exit_code == 1
    report = result.stderr
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "no_such_table" in text
    )
    assert (
        f"Revision a2 failed (migrations/versions/{path.name}, line {line}, in upgrade)." in report
    )
    assert "Statement: INSERT INTO no_such_table VALUES (1)" in report
    [cause] = [text for text in report.splitlines()[1:] if text.startswith("Error: ")]
    assert "no_such_table" in cause
    assert "Applied in this run: a1 (step a1)." in report
    assert "The database is now at a1." in report
    backend = sa.make_url(database_url).get_backend_name()
    if backend == "postgresql":
        assert "The failed revision was rolled back." in report
    else:
        name = "SQLite" if backend == "sqlite" else "MariaDB"  # the suite's server
        assert report.endswith(
            f"\n{name} commits DDL statements at once, so the failed revision may be partly"
            " applied: compare the database with the script and undo or finish its steps by"
            " hand before running it again (`flask db doctor` lists what it finds).\n"
        )
    assert "Traceback" not in result.output
    # Per-migration transactions: the revision before the failed one stays applied.
    assert invoke(app, "current", "--bare").output.split() == ["a1"]


# --- The startup guard and health ------------------------------------------------------


def _start_app(url: str, on_start: str) -> subprocess.CompletedProcess[str]:
    """Create the race project's app the way an app server does (no `flask` command)."""
    return subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": url, "ON_START": on_start, "MIGRATION_SLEEP": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_refuses_to_start_yet_flask_db_upgrade_works(
    database_server: Server | None, tmp_path: Path
) -> None:
    url = _fresh(database_server, tmp_path)
    refused = _start_app(url, "check")
    assert refused.returncode == 1
    assert "NotUpToDateError" in refused.stderr
    assert "is at <base>; 4 revision(s) pending:" in refused.stderr
    assert "  r1  step 1: sleep, then record that this revision ran" in refused.stderr
    assert refused.stderr.endswith(
        "The app does not start until the database is at head: run `flask db upgrade` (e.g."
        ' in a deploy job), or set SCHEMAOPS_ON_START to "wait" or "upgrade".\n'
    )

    upgrade = _upgrade(url, MIGRATION_SLEEP="0", ON_START="check")
    output = upgrade.communicate(timeout=120)[0]
    assert upgrade.returncode == 0, output
    assert _start_app(url, "check").returncode == 0


def test_upgrade_on_start(database_server: Server | None, tmp_path: Path) -> None:
    url = _fresh(database_server, tmp_path)
    started = _start_app(url, "upgrade")
    assert started.returncode == 0, started.stderr
    assert _state(url)[1] == [HEAD]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_upgrade_on_start_logs_its_wait_for_the_lock(
    database_server: Server | None, tmp_path: Path
) -> None:
    url = _fresh(database_server, tmp_path)
    engine = sa.create_engine(url)
    name = lock_name(engine.url, "alembic_version", None)
    holders = {  # who holds the lock: this process, through its lock's connection
        "sqlite": re.escape(f"process {os.getpid()} on {socket.gethostname()}"),
        "postgresql": r"server process \d+, from 127\.0\.0\.1, application"
        + re.escape(f" 'flask-schemaops on {socket.gethostname()}, pid {os.getpid()}'")
        + r", connected at .+",
        "mysql": r"connection \d+ of \w+@127\.0\.0\.1:\d+",
    }
    try:
        with migration_lock(engine, name, timeout=10):
            starting = subprocess.Popen(
                [sys.executable, "-c", "import app"],
                cwd=PROJECT,
                env={**os.environ, "DATABASE_URL": url, "ON_START": "upgrade"},
                stderr=subprocess.PIPE,
                text=True,
            )
            assert starting.stderr is not None
            line = starting.stderr.readline()
            dialect = engine.dialect.name
            assert re.fullmatch(
                rf"Waiting for the migration lock held by {holders[dialect]}\.\n", line
            ), line
    finally:
        engine.dispose()
    rest = starting.communicate(timeout=120)[1]
    assert (starting.returncode, rest) == (0, "")
    assert _state(url)[1] == [HEAD]


def test_guard_modes_in_process(
    make_app: Callable[..., Flask],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    assert invoke(app, "revision", "-m", "Initial baseline", "--rev-id", "one").exit_code == 0
    [status] = api.status(app=app)
    behind = (
        f"The database 'default' ({status.database}) is at <base>; 1 revision(s) pending:\n"
        "  one  Initial baseline\n"
    )

    with pytest.raises(NotUpToDateError) as refused:
        make_app(on_start="check")
    assert str(refused.value) == (
        f"{behind}The app does not start until the database is at head: run `flask db"
        ' upgrade` (e.g. in a deploy job), or set SCHEMAOPS_ON_START to "wait" or "upgrade".'
    )
    with caplog.at_level("WARNING", logger="flask_schemaops"):
        make_app(on_start="warn")
    assert caplog.messages == [f'{behind}The app starts anyway (SCHEMAOPS_ON_START = "warn").']
    caplog.clear()
    with (
        caplog.at_level("WARNING", logger="flask_schemaops"),
        pytest.raises(NotUpToDateError) as gave_up,
    ):
        make_app(on_start="wait", on_start_timeout=0.5)
    assert str(gave_up.value) == (
        f"{behind}The database did not reach head within 0.5 s (SCHEMAOPS_ON_START_TIMEOUT),"
        " so the app does not start: run `flask db upgrade` (e.g. in a deploy job), or"
        " raise SCHEMAOPS_ON_START_TIMEOUT."
    )
    assert caplog.messages == [
        f"{behind}Waiting up to 0.5 s (SCHEMAOPS_ON_START_TIMEOUT) until another process"
        " (a migration job) brings the database to head."
    ]
    caplog.clear()
    assert not app.extensions["schemaops"].extension.health(app).ok
    assert app.extensions["schemaops"].extension.health(app).as_dict()["status"] == "pending"

    # "wait" says that it waits, then that it still does (here after each check);
    # it returns as soon as another process brings the database to head.
    monkeypatch.setattr(guard, "LOG_EVERY", 0.0)
    upgraders: list[threading.Thread] = []

    class UpgradeWhenStillWaiting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Still waiting") and not upgraders:
                upgraders.append(threading.Thread(target=invoke, args=(app, "upgrade")))
                upgraders[0].start()

    logger = logging.getLogger("flask_schemaops")
    logger.addHandler(handler := UpgradeWhenStillWaiting())
    try:
        with caplog.at_level("WARNING", logger="flask_schemaops"):
            make_app(on_start="wait", on_start_timeout=60)
    finally:
        logger.removeHandler(handler)
    upgraders[0].join()
    first, *still = caplog.messages
    assert first == (
        f"{behind}Waiting up to 60 s (SCHEMAOPS_ON_START_TIMEOUT) until another process"
        " (a migration job) brings the database to head."
    )
    assert still, caplog.messages
    for line in still:
        assert re.fullmatch(
            r"Still waiting, after \d+ s: 'default' is at <base>, 1 revision\(s\) pending", line
        ), line
    checked = make_app(on_start="check")
    assert checked.extensions["schemaops"].extension.health(checked).ok


def test_the_happy_path_imports_no_revision_script(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    assert invoke(app, "init").exit_code == 0
    assert invoke(app, "revision", "-m", "one", "--rev-id", "one").exit_code == 0
    [script] = (tmp_path / "migrations" / "versions").glob("one_*.py")
    marker = tmp_path / "imported"
    script.write_text(f"open({str(marker)!r}, 'a').write('x')\n" + script.read_text())
    assert invoke(app, "upgrade").exit_code == 0
    marker.unlink()

    guarded = make_app(on_start="check")
    assert guarded.extensions["schemaops"].extension.health(guarded).as_dict()["status"] == "ok"
    assert not marker.exists()


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_health_reports_errors_as_data(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    report = app.extensions["schemaops"].extension.health(app).as_dict()
    assert report["status"] == "error"
    assert "flask db init" in report["error"]


def test_audit_history(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = make_app(audit_table="schemaops_audit")
    assert invoke(app, "init").exit_code == 0
    for rev in ("b1", "b2", "b3"):
        assert invoke(app, "revision", "-m", f"step {rev}", "--rev-id", rev).exit_code == 0
    [broken] = (tmp_path / "migrations" / "versions").glob("b3_*.py")
    broken.write_text(
        broken.read_text().replace(
            "def upgrade():\n    pass", "def upgrade():\n    op.execute('SELECT * FROM nowhere')"
        )
    )

    assert invoke(app, "upgrade", "b2").exit_code == 0
    assert invoke(app, "downgrade", "-1").exit_code == 0
    assert invoke(app, "upgrade").exit_code == 1
    rows = execute(
        app,
        "SELECT revision, direction, success, host, error, seconds, started_at"
        " FROM schemaops_audit ORDER BY id",
    )
    assert [r[:3] for r in rows] == [
        ("b1", "upgrade", True),
        ("b2", "upgrade", True),
        ("b2", "downgrade", True),
        ("b2", "upgrade", True),
        ("b3", "upgrade", False),
    ]
    assert all(r[3] == socket.gethostname() and r[5] >= 0 and r[6] is not None for r in rows)
    assert "nowhere" in rows[-1][4] and rows[0][4] is None

    # A stamp records where it moved the database.
    assert invoke(app, "stamp", "base").exit_code == 0
    assert invoke(app, "stamp", "b1").exit_code == 0
    rows = execute(app, "SELECT revision, direction FROM schemaops_audit ORDER BY id")
    assert rows[-2:] == [("<base>", "stamp"), ("b1", "stamp")]

    # So does a --purge stamp, which empties the version table first: to base, and
    # from a revision no script has (what --purge is for) to one.
    result = invoke(app, "stamp", "--purge", "base")
    assert result.exit_code == 0, result.output
    assert "1 revision stamped in " in result.output and "now at <base>." in result.output
    assert invoke(app, "stamp", "--purge", "base").output.startswith("Nothing to do: ")
    execute(app, "INSERT INTO alembic_version (version_num) VALUES ('gone')")
    [run] = api.stamp(["b2"], purge=True, app=app)
    assert (run.before, run.after, [s.from_revisions for s in run.steps]) == (
        ("gone",),
        ("b2",),
        [("gone",)],
    )
    rows = execute(app, "SELECT revision, direction, success FROM schemaops_audit ORDER BY id")
    assert rows[-4:] == [
        ("<base>", "stamp", True),
        ("b1", "stamp", True),
        ("<base>", "stamp", True),
        ("b2", "stamp", True),
    ]


# --- A database ahead of this code: newer code migrated it first ---------------------------


def _migrated_by_newer_code(
    make_app: Callable[..., Flask], tmp_path: Path, audit_table: str | None
) -> Flask:
    """The app of this code (root ``old``, head ``old1``), whose database a newer copy
    of the project (root ``new``) migrated to ``note2``: a nullable column."""
    old_root, new_root = tmp_path / "old", tmp_path / "new"
    old_root.mkdir()
    old = make_app(root=old_root, audit_table=audit_table)
    for args in (("init",), ("revision", "--autogenerate", "-m", "Initial", "--rev-id", "old1")):
        assert invoke(old, *args).exit_code == 0
    assert invoke(old, "upgrade").exit_code == 0
    shutil.copytree(old_root / "migrations", new_root / "migrations")
    new = make_app(root=new_root, audit_table=audit_table, columns={"note": sa.Column(sa.Text)})
    result = invoke(new, "revision", "--autogenerate", "-m", "Add note", "--rev-id", "note2")
    assert result.exit_code == 0, result.output
    assert invoke(new, "upgrade").exit_code == 0
    return old


def _ahead_warning(url: str, mode: str, proven: bool) -> str:
    why = (
        "the audit history shows it was applied after this code's head (old1), so the"
        " database is newer than this code: newer code migrated it first"
        if proven
        else "the database is newer than this code (newer code migrated it first, as in a"
        " rolling deploy), or it was migrated from another branch"
    )
    return (
        f"The database 'default' ({url}) is at note2, which no revision script of this code"
        f" has: {why}. The app starts{' and applies nothing to it' if mode == 'upgrade' else ''}"
        f' (SCHEMAOPS_ON_START = "{mode}").'
    )


@pytest.mark.parametrize("audit_table", [None, "schemaops_audit"])
def test_a_database_ahead_of_this_code_serves_it(
    make_app: Callable[..., Flask],
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    audit_table: str | None,
) -> None:
    old = _migrated_by_newer_code(make_app, tmp_path, audit_table)
    proven = audit_table is not None  # the audit history shows old1 applied before note2
    state = "ahead" if proven else "unknown"
    url = sa.make_url(database_url).render_as_string(hide_password=True)
    # The rest imports none of this code's revision scripts.
    [script] = (tmp_path / "old" / "migrations" / "versions").glob("old1_*.py")
    marker = tmp_path / "imported"
    script.write_text(f"open({str(marker)!r}, 'a').write('x')\n" + script.read_text())

    status = invoke(old, "status")
    assert status.exit_code == 3, status.output
    assert status.output == (
        f"Database: {url}\nCurrent:  note2\nHeads:    old1\n"
        + (
            "Ahead:    note2 has no script here; the audit history shows it was applied after"
            " this code's head. The database is newer than this code: migrate it from the"
            " newer code.\n"
            if proven
            else "Unknown:  note2 has no script here. The database is probably newer than this"
            " code (newer code migrated it first), or was migrated from another branch;"
            " `flask db doctor` tells more.\n"
        )
    )
    report = json.loads(invoke(old, "status", "--json").output)
    assert report["up_to_date"] is False
    [database] = report["databases"]
    assert database == {
        "target": "default",
        "database": url,
        "current": ["note2"],
        "heads": ["old1"],
        "pending": [],
        "unknown": ["note2"],
        "ahead": proven,
        "up_to_date": False,
        "state": state,
    }

    health = old.extensions["schemaops"].extension.health(old)
    assert health.ok  # a readiness probe keeps the old code in the load balancer
    assert json.loads(json.dumps(health.as_dict())) == {"status": state, "databases": [database]}

    for mode in ("check", "warn", "wait", "upgrade"):
        caplog.clear()
        with caplog.at_level("WARNING", logger="flask_schemaops"):
            make_app(root=tmp_path / "old", audit_table=audit_table, on_start=mode)
        assert caplog.messages == [_ahead_warning(url, mode, proven)]
    assert not marker.exists()
    # "upgrade" applied nothing: no downgrade, no stamp.
    assert execute(old, "SELECT version_num FROM alembic_version") == [("note2",)]
    assert "note" in columns(old, "spans")
    if proven:
        rows = execute(old, f"SELECT revision, direction FROM {audit_table} ORDER BY id")
        assert rows == [("old1", "upgrade"), ("note2", "upgrade")]

    # Commands that move the database refuse, and send the user to the newer code.
    versions = tmp_path / "old" / "migrations" / "versions"
    for args, after in ((("upgrade",), ""), (("downgrade", "-1"), "Nothing was reverted.\n")):
        refused = invoke(old, *args)
        assert refused.exit_code == 1, refused.output
        assert refused.stderr == (
            f"Error: The database records revision 'note2', but no script in {versions} has"
            " that id. Most often the database is newer than this code: a newer version of"
            " the app migrated it (a rolling deploy migrates first); or another branch"
            " migrated it, or the script was deleted or renamed.\nRun this command from the"
            " code that has that revision. If no code should have it, `flask db doctor` shows"
            f" the evidence and the way back.\n{after}"
        )
    assert execute(old, "SELECT version_num FROM alembic_version") == [("note2",)]


def test_upgrade_on_start_upgrades_the_others_and_leaves_one_ahead(
    make_app: Callable[..., Flask],
    another_database: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    binds = {"users": another_database("users")}
    old_root = tmp_path / "old"
    old_root.mkdir()
    old = make_app(root=old_root, binds=binds)
    assert invoke(old, "init").exit_code == 0
    assert invoke(old, "revision", "--autogenerate", "-m", "Initial").exit_code == 0
    assert invoke(old, "upgrade").exit_code == 0
    shutil.copytree(old_root / "migrations", tmp_path / "new" / "migrations")
    new = make_app(root=tmp_path / "new", binds=binds, columns={"note": sa.Column(sa.Text)})
    result = invoke(new, "revision", "--autogenerate", "-m", "Add note", "--rev-id", "note2")
    assert result.exit_code == 0, result.output
    assert invoke(new, "upgrade").exit_code == 0
    # This code has a revision of its own for the users database, not applied yet.
    result = invoke(old, "revision", "-m", "Users step", "--bind", "users", "--rev-id", "u2")
    assert result.exit_code == 0, result.output
    assert [s.state for s in api.status(app=old)] == ["unknown", "pending"]

    with caplog.at_level("WARNING", logger="flask_schemaops"):
        make_app(root=old_root, binds=binds, on_start="upgrade")
    url = sa.make_url(old.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    assert caplog.messages == [_ahead_warning(url, "upgrade", proven=False)]
    assert execute(old, "SELECT version_num FROM alembic_version") == [("note2",)]
    assert execute(old, "SELECT version_num FROM alembic_version", "users") == [("u2",)]
    assert [s.state for s in api.status(app=old)] == ["unknown", "up_to_date"]


def test_behind_and_ahead_from_both_sides(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = _migrated_by_newer_code(make_app, tmp_path, "schemaops_audit")
    new = make_app(
        root=tmp_path / "new",
        audit_table="schemaops_audit",
        columns={"note": sa.Column(sa.Text)},
    )
    assert json.loads(invoke(new, "status", "--json").output)["databases"][0]["state"] == (
        "up_to_date"
    )
    # The newer code takes the database back: the old code is at head, the new one behind.
    assert invoke(new, "downgrade", "-1").exit_code == 0
    assert invoke(old, "status").exit_code == 0
    behind = invoke(new, "status", "--json")
    assert behind.exit_code == 1
    [database] = json.loads(behind.output)["databases"]
    assert (database["state"], database["unknown"], database["ahead"]) == ("pending", [], False)
    assert new.extensions["schemaops"].extension.health(new).as_dict()["status"] == "pending"
    assert not new.extensions["schemaops"].extension.health(new).ok
    with pytest.raises(NotUpToDateError, match=r"1 revision\(s\) pending:\n  note2  Add note"):
        make_app(root=tmp_path / "new", audit_table="schemaops_audit", on_start="check")

    # Up again: the audit history still shows old1 applied before note2, through the
    # downgrade and the second upgrade.
    assert invoke(new, "upgrade").exit_code == 0
    [database] = json.loads(invoke(old, "status", "--json").output)["databases"]
    assert (database["state"], database["ahead"]) == ("ahead", True)


def test_a_branch_built_below_this_head_is_not_ahead(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # This code: old1 <- old2. Another branch: old1 <- feature, applied after old2 was
    # reverted. The audit history shows feature was built on old1, not on this head.
    root = tmp_path / "old"
    root.mkdir()
    old = make_app(root=root, audit_table="schemaops_audit")
    assert invoke(old, "init").exit_code == 0
    for rev in ("old1", "old2"):
        assert invoke(old, "revision", "-m", f"step {rev}", "--rev-id", rev).exit_code == 0
    assert invoke(old, "upgrade").exit_code == 0
    assert invoke(old, "downgrade", "-1").exit_code == 0
    shutil.copytree(root / "migrations", tmp_path / "branch" / "migrations")
    [second] = (tmp_path / "branch" / "migrations" / "versions").glob("old2_*.py")
    second.unlink()
    branch = make_app(root=tmp_path / "branch", audit_table="schemaops_audit")
    result = invoke(branch, "revision", "-m", "feature", "--rev-id", "feature")
    assert result.exit_code == 0, result.output
    assert invoke(branch, "upgrade").exit_code == 0

    status = invoke(old, "status", "--json")
    assert status.exit_code == 3
    [database] = json.loads(status.output)["databases"]
    assert (database["state"], database["unknown"], database["ahead"]) == (
        "unknown",
        ["feature"],
        False,
    )
    doctor = invoke(old, "doctor")
    assert doctor.exit_code == 1
    assert (
        "the audit history applied old1 before it: the nearest ancestor this checkout knows"
        in doctor.output
    )
    assert (
        "Fix:      If newer code migrated it, nothing is wrong: run the commands from that"
        " code. If not, undo by hand what feature changed, then `flask db stamp --purge"
        " old1` and `flask db upgrade`; or restore its script" in doctor.output
    )


@pytest.mark.parametrize("per_migration", [False, True])
def test_stamp_purge_base_on_a_new_database(
    make_app: Callable[..., Flask], per_migration: bool
) -> None:
    # Nothing moves, so nothing is recorded; the version table is made and kept.
    app = make_app(audit_table="schemaops_audit", transaction_per_migration=per_migration)
    assert invoke(app, "init").exit_code == 0
    result = invoke(app, "stamp", "--purge", "base")
    assert result.output == "Nothing to do: the database is already at <base>.\n"
    assert {"alembic_version", "schemaops_audit"} <= tables(app)
    assert execute(app, "SELECT revision FROM schemaops_audit") == []


# --- The guard in the deploy example, run as users run it ------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "deploy"
PENDING = "  0001_baseline  Initial baseline"
BEHIND = (
    "The app refuses requests until the database is at head: run `flask db upgrade` (e.g. in"
    ' a deploy job), or set SCHEMAOPS_ON_START to "wait" or "upgrade".'
)


@pytest.fixture
def deploy(tmp_path: Path) -> Path:
    """A copy of examples/deploy (its app reads every SCHEMAOPS_* setting from the
    environment, and its guard is "check" by default)."""
    project = tmp_path / "deploy"
    ignore = shutil.ignore_patterns("instance", "__pycache__", "*.pyc", "*.db")
    shutil.copytree(EXAMPLE, project, ignore=ignore)
    return project


def _environ(url: str, **env: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SCHEMAOPS_"))}
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**kept, "PATH": path, "DATABASE_URL": url, **env}


def _in(cwd: Path, url: str, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` with the deploy app's database at ``url``."""
    return subprocess.run(
        command, cwd=cwd, env=_environ(url, **env), capture_output=True, text=True, timeout=120
    )


CREATE_APP = (sys.executable, "-c", "import deployapp; deployapp.create_app()")
FLASK_DB = ("flask", "--app", "deployapp", "db")


def _versions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return []
            return list(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def test_plain_alembic_never_runs_the_guard(deploy: Path, database_url: str) -> None:
    migrations = deploy / "deployapp" / "migrations"
    # At base, the guard would refuse (check) or upgrade first (upgrade).
    downgrade = _in(
        migrations, database_url, "alembic", "downgrade", "base", SCHEMAOPS_ON_START="upgrade"
    )
    assert downgrade.returncode == 0, downgrade.stderr
    assert _versions(database_url) == []

    upgrade = _in(migrations, database_url, "alembic", "upgrade", "head")  # "check"
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Running upgrade  -> 0001_baseline" in upgrade.stderr
    assert _versions(database_url) == ["0001_baseline"]

    assert _in(migrations, database_url, "alembic", "downgrade", "base").returncode == 0
    upgrade = _in(
        migrations, database_url, "alembic", "upgrade", "head", SCHEMAOPS_ON_START="upgrade"
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stderr.count("Running upgrade  -> 0001_baseline") == 1
    assert "Traceback" not in upgrade.stderr
    assert _versions(database_url) == ["0001_baseline"]
    assert _in(deploy, database_url, *CREATE_APP).returncode == 0


def test_plain_alembic_records_the_revision_that_failed(deploy: Path, database_url: str) -> None:
    """Run from the migrations directory, as Alembic's docs show: the audit history
    names the revision whose upgrade or downgrade failed."""
    migrations = deploy / "deployapp" / "migrations"
    for rev, down, upgrade, downgrade in (
        (
            "0002_notes",
            "0001_baseline",
            "op.create_table('notes', sa.Column('id', sa.Integer))",
            "op.execute('DELETE FROM nowhere')",
        ),
        ("0003_fill", "0002_notes", "op.execute('INSERT INTO nowhere VALUES (1)')", "pass"),
    ):
        (migrations / "versions" / f"{rev}.py").write_text(
            f'"""{rev}\n\nRevision ID: {rev}\nRevises: {down}\n"""\n'
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    {downgrade}\n"
        )
    audit = {"SCHEMAOPS_AUDIT_TABLE": "schemaops_audit"}
    upgrade = _in(migrations, database_url, "alembic", "upgrade", "head", **audit)
    assert upgrade.returncode == 1, upgrade.stderr
    downgrade = _in(migrations, database_url, "alembic", "downgrade", "0001_baseline", **audit)
    assert downgrade.returncode == 1, downgrade.stderr
    assert _versions(database_url) == ["0002_notes"]
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT revision, direction, success, error FROM schemaops_audit ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r[:3]) for r in rows] == [
        ("0001_baseline", "upgrade", True),
        ("0002_notes", "upgrade", True),
        ("0003_fill", "upgrade", False),
        ("0002_notes", "downgrade", False),
    ]
    assert "nowhere" in rows[2].error and "nowhere" in rows[3].error


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)
def test_flask_run_refuses_every_request_until_the_database_is_at_head(
    deploy: Path, database_url: str
) -> None:
    port = _free_port()
    server = subprocess.Popen(
        ["flask", "--app", "deployapp", "run", "--port", str(port)],
        cwd=deploy,
        env=_environ(database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "flask run did not listen within 60 s"
                time.sleep(0.1)
        for path in ("/orders", "/orders", "/healthz"):
            status, body = _get(port, path)
            assert status == 503, body
            assert body.endswith(f" is at <base>; 1 revision(s) pending:\n{PENDING}\n{BEHIND}\n")

        upgrade = _in(deploy, database_url, "flask", "--app", "deployapp", "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr
        assert _get(port, "/orders") == (200, '{"orders":0}\n')
        assert _get(port, "/healthz")[0] == 200
    finally:
        server.terminate()  # not SIGINT: a job started in the background ignores it
        log = server.communicate(timeout=30)[1]
    assert log.count(BEHIND) == 3, log
    assert "does not start" not in log
    assert "Traceback" not in log


def _missing_database(server: Server | None, tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """The URL of a database that does not exist yet, and how to create it."""
    if server is None:
        folder = tmp_path / "not-yet"
        return f"sqlite:///{folder / 'app.db'}", folder.mkdir
    name = f"later_{uuid.uuid4().hex[:10]}"
    return server.url(name), functools.partial(server.create_database, name)


def test_an_unreachable_database_on_start(
    database_server: Server | None, tmp_path: Path, deploy: Path
) -> None:
    url, create = _missing_database(database_server, tmp_path)
    unreachable = "Cannot connect to the database at"
    for mode in ("check", "upgrade"):
        refused = _in(deploy, url, *CREATE_APP, SCHEMAOPS_ON_START=mode)
        assert refused.returncode == 1
        assert f"DatabaseUnavailableError: {unreachable}" in refused.stderr

    warned = _in(deploy, url, *CREATE_APP, SCHEMAOPS_ON_START="warn")
    assert warned.returncode == 0, warned.stderr
    assert unreachable in warned.stderr
    assert 'The app starts anyway (SCHEMAOPS_ON_START = "warn").' in warned.stderr

    started = time.monotonic()
    gave_up = _in(
        deploy, url, *CREATE_APP, SCHEMAOPS_ON_START="wait", SCHEMAOPS_ON_START_TIMEOUT="2"
    )
    assert time.monotonic() - started >= 2
    assert gave_up.returncode == 1
    assert unreachable in gave_up.stderr
    assert (
        "The app does not start: the database was still unreachable after waiting 2 s"
        in gave_up.stderr
    )

    # A pod that starts before the database exists waits for it, then for the migration.
    waiter = subprocess.Popen(
        CREATE_APP,
        cwd=deploy,
        env=_environ(url, SCHEMAOPS_ON_START="wait", SCHEMAOPS_ON_START_TIMEOUT="60"),
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)
    assert waiter.poll() is None, waiter.communicate()[1]
    create()
    upgrade = _in(deploy, url, "flask", "--app", "deployapp", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert waiter.wait(timeout=30) == 0, waiter.communicate()[1]
    if database_server is not None:
        database_server.drop_database(sa.make_url(url).database or "")


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_optional_settings_from_the_environment(deploy: Path, database_url: str) -> None:
    # At base: only an unset guard lets the app start.
    for none in ("None", "none", "null", ""):
        started = _in(
            deploy,
            database_url,
            *CREATE_APP,
            SCHEMAOPS_ON_START=none,
            SCHEMAOPS_ON_START_TIMEOUT=none,
            SCHEMAOPS_LOCK_TIMEOUT=none,
            SCHEMAOPS_AUDIT_TABLE=none,
        )
        assert started.returncode == 0, (none, started.stderr)
    upgrade = _in(deploy, database_url, *FLASK_DB, "upgrade", SCHEMAOPS_AUDIT_TABLE="NULL")
    assert upgrade.returncode == 0, upgrade.stderr
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == ["alembic_version", "orders"]
    finally:
        engine.dispose()

    # A wrong value: one line, no traceback, from `flask` and from `alembic`.
    wrong = _in(deploy, database_url, *FLASK_DB, "current", SCHEMAOPS_ON_START="sometimes")
    assert wrong.returncode == 1
    assert wrong.stderr == (
        "Error: SCHEMAOPS_ON_START must be None or one of 'check', 'warn', 'wait', 'upgrade',"
        " not 'sometimes'.\n"
    )
    wrong = _in(
        deploy / "deployapp" / "migrations",
        database_url,
        "alembic",
        "current",
        SCHEMAOPS_LOCK_TIMEOUT="soon",
    )
    assert wrong.returncode != 0
    assert (
        wrong.stdout == "FAILED: SCHEMAOPS_LOCK_TIMEOUT must be a number of seconds, not 'soon'.\n"
    )
    assert "Traceback" not in wrong.stderr


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_health_outside_an_app_context(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    schemaops = app.extensions["schemaops"].extension
    assert invoke(app, "init").exit_code == 0
    outside = schemaops.health()
    assert outside.as_dict()["status"] == "error"
    assert "pass it, as in `schemaops.health(app)`" in outside.as_dict()["error"]
    assert schemaops.health(app).as_dict()["status"] == "ok"
    with app.app_context():
        assert schemaops.health().as_dict()["status"] == "ok"
