"""Per-test cost of the pytest plugin's database fixtures, on a throwaway PostgreSQL.

    python benchmarks/fixtures.py [--tables 200] [--revisions 500] [--tests 40]
                                  [--replays 3] [--mariadb]

Generates an app factory with the synthetic history of benchmarks/generate.py
(200 tables over 500 revisions by default), then runs a pytest session of small
tests (one insert and one count through ``db.session``) in each mode:

* ``clone`` (FILE_COPY and WAL_LOG): each test gets ``CREATE DATABASE ... TEMPLATE``
  of the migrated template;
* ``rollback``: each test runs in a transaction on a shared copy, rolled back;
* ``replay``: each test gets an empty database and runs the 500 revisions, as
  plugins without a template do.

A test's time is its setup, call and teardown. The first test of a session,
which also builds the template, is reported apart. ``--mariadb`` runs clone and
rollback on a throwaway MariaDB too, and times the copy methods considered there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/servers.py starts the servers
sys.path.insert(0, str(HERE))

from generate import Plan, Table, plan, script  # noqa: E402
from servers import Server, start_mariadb, start_postgresql  # noqa: E402

# Writes each test's (setup + teardown, call) durations to $TIMINGS.
CONFTEST = """
import json, os
import flask_schemaops.testing.databases as databases

if os.environ.get("STRATEGY"):
    databases.POSTGRESQL_STRATEGY = os.environ["STRATEGY"]
TIMES = {}


def pytest_runtest_logreport(report):
    fixture, call = TIMES.setdefault(report.nodeid, [0.0, 0.0])
    if report.when == "call":
        TIMES[report.nodeid][1] += report.duration
    else:
        TIMES[report.nodeid][0] += report.duration


def pytest_sessionfinish(session):
    with open(os.environ["TIMINGS"], "w") as f:
        json.dump(list(TIMES.values()), f)
"""

TESTS = """
import sqlalchemy as sa
from benchapp import T0000, db


def test_{n}(app):
    db.session.add(T0000(name="x"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(T0000)) == 1
"""

REPLAY = """
def test_{n}(schemaops_migrations):
    schemaops_migrations.upgrade()
    schemaops_migrations.insert("t0000", {{"id": 1, "name": "x"}})
    assert len(schemaops_migrations.rows("t0000")) == 1
"""

FACTORY = '''"""Generated for benchmarks/fixtures.py."""

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

db = SQLAlchemy()
schemaops = SchemaOps()


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    app.config.update(config or {{}})
    db.init_app(app)
    schemaops.init_app(app, db)
    return app


{models}
'''


def model(table: Table) -> str:
    lines = [f"class {table.name.title()}(db.Model):", f"    __tablename__ = {table.name!r}"]
    lines.append("    id = sa.Column(sa.Integer, primary_key=True)")
    for c in table.columns[1:]:
        args = [c.type]
        if c.references:
            args.append(f"sa.ForeignKey('{c.references}.id')")
        args.append(f"nullable={c.nullable}")
        if c.index:
            args.append("index=True")
        lines.append(f"    {c.name} = sa.Column({', '.join(args)})")
    return "\n".join(lines)


def make_project(root: Path, history: Plan, tests: int, replays: int) -> None:
    package = root / "benchapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        FACTORY.format(models="\n\n\n".join(model(t) for t in history.tables))
    )
    sys.path.insert(0, str(root))
    from benchapp import create_app

    from flask_schemaops import api

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        api.init()
    for n, revision in enumerate(history.revisions):
        (package / "migrations" / "versions" / f"{n:05d}_{revision.id}.py").write_text(
            script(revision)
        )
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pytest.ini").write_text(
        "[pytest]\npythonpath = .\nschemaops_app = benchapp:create_app\n"
    )
    (root / "test_app.py").write_text("".join(TESTS.format(n=n) for n in range(tests)))
    (root / "test_replay.py").write_text("".join(REPLAY.format(n=n) for n in range(replays)))


def session(
    root: Path, url: str, target: str, *options: str, **env: str
) -> list[tuple[float, float]]:
    """Run one pytest session; (fixtures, call) seconds of each test, in order."""
    timings = root / "timings.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target, *options],
        cwd=root,
        env={
            **os.environ,
            "TIMINGS": str(timings),
            "SCHEMAOPS_TEST_DATABASE_URL": url,
            **env,
        },
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"pytest failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return [(fixtures, call) for fixtures, call in json.loads(timings.read_text())]


def report(label: str, times: list[tuple[float, float]]) -> float:
    """Print the medians (the first test, which builds the template, apart); return
    the median time per test."""
    first, rest = times[0], times[1:]
    fixtures = statistics.median(f for f, _ in rest)
    total = statistics.median(f + c for f, c in rest)
    print(
        f"  {label:27} first test {sum(first):6.2f} s | then per test (median of {len(rest)}):"
        f" {total * 1000:7.1f} ms, of which fixtures {fixtures * 1000:7.1f} ms"
    )
    return total


def mariadb_methods(server: Server, url: str, root: Path) -> None:
    """Time the ways to copy the migrated template on MariaDB."""
    import sqlalchemy as sa

    from flask_schemaops.testing.databases import MariaDB

    backend = MariaDB(sa.make_url(url))
    [template] = [n for n in backend.names(backend.base + "_tpl_")][:1] or [None]
    if template is None:
        print("  (no kept template to copy)")
        return
    tables = [
        r[0]
        for r in backend.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s", s=template
        )
    ]

    def replay(name: str) -> None:
        backend.clone(template, name)

    def like(name: str) -> None:  # loses foreign keys, which must be added back
        backend.execute(f"CREATE DATABASE `{name}`")
        for table in tables:
            backend.execute(f"CREATE TABLE `{name}`.`{table}` LIKE `{template}`.`{table}`")

    for label, method in (("schema replay (the plugin's)", replay), ("CREATE TABLE LIKE", like)):
        times = []
        for i in range(5):
            name = f"{backend.base}_m{i}"
            started = time.perf_counter()
            method(name)
            times.append(time.perf_counter() - started)
            backend.drop(name)
        print(f"  {label:32} median {statistics.median(times) * 1000:7.1f} ms")
    backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--tests", type=int, default=40)
    parser.add_argument("--replays", type=int, default=3)
    parser.add_argument("--mariadb", action="store_true")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="schemaops-fixtures-"))
    base.chmod(0o755)
    history = plan(args.tables, args.revisions)
    project = base / "project"
    make_project(project, history, args.tests, args.replays)
    print(f"{args.tables} tables, {args.revisions} revisions, {args.tests} tests per session")

    servers = [("postgresql", start_postgresql)]
    if args.mariadb:
        servers.append(("mariadb", start_mariadb))
    for name, start in servers:
        folder = base / name
        folder.mkdir()
        folder.chmod(0o755)
        server = start(folder)
        try:
            url = server.url("bench")
            print(f"\n{name}:")
            results = {}
            if name == "postgresql":
                for strategy in ("FILE_COPY", "WAL_LOG"):
                    results[f"clone {strategy}"] = report(
                        f"clone ({strategy})",
                        session(project, url, "test_app.py", STRATEGY=strategy),
                    )
            else:
                results["clone"] = report("clone", session(project, url, "test_app.py"))
            results["rollback"] = report(
                "rollback",
                session(project, url, "test_app.py", "--schemaops-isolation=rollback"),
            )
            replay = report("replay the chain per test", session(project, url, "test_replay.py"))
            print("  replay per test / mode per test:")
            for label, median in results.items():
                print(f"    {label:26} {replay / median:8.1f}x faster")
            if name == "mariadb":
                session(project, url, "test_app.py", "--schemaops-keep-template")
                mariadb_methods(server, url, project)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
