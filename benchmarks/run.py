"""flask_schemaops against Flask-Migrate on generated projects and a throwaway PostgreSQL.

    python benchmarks/run.py [--quick] [--repeat K] [--only NAME[,NAME...]] [--mariadb]

See benchmarks/README.rst for the scenarios and how to read the output.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.metadata
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # tests/servers.py starts the servers

from generate import TOOLS, Plan, Tool, generate  # noqa: E402
from servers import Server, ServerUnavailable, start_mariadb, start_postgresql  # noqa: E402

TIMEOUT = 1800.0  # seconds for one command: a hung run fails the benchmark


class BenchmarkFailure(Exception):
    """A command failed or a tool left the database in a state it should not have."""


@dataclass(frozen=True)
class Sizes:
    upgrade_revisions: int = 500  # scenarios a, b and e
    upgrade_tables: int = 200
    heads_revisions: int = 2000  # scenario c
    check_tables: int = 1000  # scenario d, created over check_tables // 4 revisions
    repeat: int = 5
    trials: int = 3  # scenario e
    concurrency: int = 8


QUICK = Sizes(50, 20, 200, 100, repeat=3, trials=2)


# --- Running commands --------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    seconds: float
    cpu: float  # user + system seconds of the process (not of the database server)
    returncode: int
    stdout: str
    stderr: str


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", *args]


def _env(tool: Tool, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "TOOL": tool.key, "DATABASE_URL": url, **(extra or {})}


def flask(
    project: Path,
    tool: Tool,
    url: str,
    *args: str,
    check: bool = True,
    extra_env: dict[str, str] | None = None,
) -> Done:
    """Run ``python -m flask --app app ARGS`` in ``project``; time it (wall clock and CPU)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        _command(*args),
        cwd=project,
        env=_env(tool, url, extra_env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    seconds = time.perf_counter() - started
    done = Done(seconds, _children_cpu() - cpu, proc.returncode, proc.stdout, proc.stderr)
    if check and done.returncode != 0:
        raise BenchmarkFailure(
            f"{tool.label}: `flask {' '.join(args)}` exited with {done.returncode}:\n"
            + "\n".join((done.stderr or done.stdout).strip().splitlines()[-20:])
        )
    return done


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _error_line(text: str) -> str:
    """The line of a traceback or error report that names the error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line and not line.startswith("(Background")]
    return (named or lines or [""])[-1]


# --- Databases and what is in them ---------------------------------------------------------


class Databases:
    """Fresh databases on one server, each dropped when the benchmark is done with it."""

    def __init__(self, server: Server):
        self.server = server
        self.count = 0

    def fresh(self, label: str) -> str:
        self.count += 1
        name = f"bench_{label}_{self.count}"
        self.server.create_database(name)
        return self.server.url(name)

    def drop(self, url: str) -> None:
        self.server.drop_database(str(sa.make_url(url).database))


@dataclass(frozen=True)
class Snapshot:
    columns: dict[str, list[str]]
    indexes: dict[str, list[str]]
    version: list[str]


def snapshot(url: str) -> Snapshot:
    """The tables with their column and index names, and the version table's rows."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        inspector = sa.inspect(engine)
        columns = {
            table: sorted(c["name"] for c in found)
            for (_, table), found in inspector.get_multi_columns().items()
        }
        indexes = {
            table: sorted(str(i["name"]) for i in found)
            for (_, table), found in inspector.get_multi_indexes().items()
        }
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            version = sorted(rows.scalars())
    finally:
        engine.dispose()
    return Snapshot(columns, indexes, version)


class Expectation:
    """Each database a tool leaves must hold the plan's tables and columns, be at its
    head, and equal (indexes included) the first one seen."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.reference: tuple[str, Snapshot] | None = None

    def problems(self, url: str, who: str) -> list[str]:
        got = snapshot(url)
        found: list[str] = []
        expected = self.plan.columns()
        if got.columns != expected:
            missing = sorted(set(expected) - set(got.columns))
            extra = sorted(set(got.columns) - set(expected))
            differ = [t for t in expected if t in got.columns and got.columns[t] != expected[t]]
            found.append(
                f"tables missing {missing[:5]}, unexpected {extra[:5]},"
                f" with other columns {differ[:5]}"
            )
        if got.version != [self.plan.head]:
            found.append(f"version table holds {got.version}, expected [{self.plan.head!r}]")
        if self.reference is None:
            self.reference = (who, got)
        elif got != self.reference[1]:
            found.append(f"schema or version differs from the one {self.reference[0]} left")
        return found

    def verify(self, url: str, who: str) -> None:
        found = self.problems(url, who)
        if found:
            raise BenchmarkFailure(f"{who} left a wrong database: " + "; ".join(found))


# --- Timing --------------------------------------------------------------------------------


@dataclass
class Timing:
    title: str
    over: dict[str, list[float]] = field(default_factory=dict)  # seconds over app load
    load: dict[str, list[float]] = field(default_factory=dict)  # `flask --help`
    total: dict[str, list[float]] = field(default_factory=dict)  # the command itself
    cpu: dict[str, list[float]] = field(default_factory=dict)  # CPU seconds over app load
    database: list[float] = field(default_factory=list)  # the same SQL piped to psql

    def add(self, tool: Tool, load: Done, done: Done) -> None:
        self.over.setdefault(tool.label, []).append(done.seconds - load.seconds)
        self.load.setdefault(tool.label, []).append(load.seconds)
        self.total.setdefault(tool.label, []).append(done.seconds)
        self.cpu.setdefault(tool.label, []).append(done.cpu - load.cpu)


def measure(
    title: str,
    project: Path,
    args: Sequence[str],
    prepare: Callable[[Tool], str],
    verify: Callable[[Tool, str, Done], None],
    repeat: int,
) -> Timing:
    """Alternate the tools (A B A B ...): per run, ``prepare`` gives the database URL, then
    ``flask --help`` (app load) and ``flask db ARGS`` are timed and ``verify`` checks
    the outcome. The first round only warms up (bytecode and OS caches)."""
    timing = Timing(title)
    for round_ in range(repeat + 1):
        for tool in TOOLS:
            url = prepare(tool)
            load = flask(project, tool, url, "--help")
            done = flask(project, tool, url, "db", *args)
            verify(tool, url, done)
            if round_:
                timing.add(tool, load, done)
        print(f"  {title}: round {round_ or 'warm-up'} done", file=sys.stderr, flush=True)
    return timing


# --- Scenarios -----------------------------------------------------------------------------


@dataclass
class Bench:
    sizes: Sizes
    workdir: Path
    db: Databases
    projects: dict[tuple[int, int], tuple[Path, Plan]] = field(default_factory=dict)

    def project(self, tables: int, revisions: int) -> tuple[Path, Plan]:
        key = (tables, revisions)
        if key not in self.projects:
            root = self.workdir / f"project-t{tables}-r{revisions}"
            self.projects[key] = (root, generate(root, tables, revisions))
        return self.projects[key]

    def upgraded(self, label: str, project: Path, tool: Tool, expect: Expectation) -> str:
        """A fresh database brought to head by ``tool`` (untimed) and verified."""
        url = self.db.fresh(label)
        flask(project, tool, url, "db", "upgrade")
        expect.verify(url, f"{tool.label} (set-up upgrade)")
        return url


def scenario_upgrade(bench: Bench) -> Timing:
    s = bench.sizes
    project, plan = bench.project(s.upgrade_tables, s.upgrade_revisions)
    expect = Expectation(plan)

    def verify(tool: Tool, url: str, done: Done) -> None:
        expect.verify(url, tool.label)
        bench.db.drop(url)

    title = f"a upgrade, {s.upgrade_revisions} rev, {s.upgrade_tables} tables"
    timing = measure(title, project, ["upgrade"], lambda t: bench.db.fresh(t.key), verify, s.repeat)
    timing.database = database_alone(bench, project, expect)
    return timing


def database_alone(bench: Bench, project: Path, expect: Expectation) -> list[float]:
    """What the database itself takes: flask_schemaops's ``upgrade --sql`` (one
    transaction per revision, as it runs them) piped to ``psql``, timed per run."""
    psql = shutil.which("psql")
    if psql is None:
        return []
    server = bench.db.server
    sql = bench.workdir / "upgrade.sql"
    sql.write_text(
        flask(project, TOOLS[0], server.url("postgres"), "db", "upgrade", "--sql").stdout
    )
    seconds = []
    for _ in range(bench.sizes.repeat):
        url = bench.db.fresh("psql")
        command = [psql, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", str(sql)]
        command += ["-h", server.host, "-p", str(server.port), "-U", server.user]
        command += ["-d", str(sa.make_url(url).database)]
        started = time.perf_counter()
        subprocess.run(
            command,
            env={**os.environ, "PGPASSWORD": server.password},
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
        )
        seconds.append(time.perf_counter() - started)
        expect.verify(url, "psql")
        bench.db.drop(url)
    return seconds


def scenario_noop(bench: Bench) -> Timing:
    s = bench.sizes
    project, plan = bench.project(s.upgrade_tables, s.upgrade_revisions)
    expect = Expectation(plan)
    urls = {t.key: bench.upgraded(f"noop_{t.key}", project, t, expect) for t in TOOLS}

    def verify(tool: Tool, url: str, done: Done) -> None:
        expect.verify(url, tool.label)

    title = f"b no-op upgrade, {s.upgrade_revisions} rev"
    timing = measure(title, project, ["upgrade"], lambda t: urls[t.key], verify, s.repeat)
    for url in urls.values():
        bench.db.drop(url)
    return timing


def scenario_heads(bench: Bench) -> Timing:
    s = bench.sizes
    project, plan = bench.project(s.heads_revisions // 10, s.heads_revisions)
    url = bench.db.server.url("postgres")  # `heads` does not connect

    def verify(tool: Tool, url: str, done: Done) -> None:
        lines = done.stdout.strip().splitlines()
        if len(lines) != 1 or lines[0].split()[0] != plan.head:
            raise BenchmarkFailure(f"{tool.label} heads printed {lines[:3]}, not {plan.head}")

    title = f"c heads, {s.heads_revisions} rev"
    return measure(title, project, ["heads"], lambda t: url, verify, s.repeat)


def scenario_check(bench: Bench) -> Timing:
    s = bench.sizes
    project, plan = bench.project(s.check_tables, s.check_tables // 4)
    expect = Expectation(plan)
    url = bench.upgraded("check", project, TOOLS[0], expect)
    for tool in TOOLS:  # each must see a model change: a `check` that skips work cannot win
        done = flask(project, tool, url, "db", "check", check=False, extra_env={"BENCH_DRIFT": "1"})
        if done.returncode == 0 or "drift" not in done.stdout + done.stderr:
            raise BenchmarkFailure(f"{tool.label} check missed a model change:\n{done.stdout}")

    def verify(tool: Tool, url: str, done: Done) -> None:
        expect.verify(url, tool.label)  # `check` changes nothing

    title = f"d check, {s.check_tables} tables"
    timing = measure(title, project, ["check"], lambda t: url, verify, s.repeat)
    bench.db.drop(url)
    return timing


@dataclass(frozen=True)
class Trial:
    alone: float  # one `upgrade`, wall time with app load
    together: float  # `count` upgrades started at once, until the last one exits
    load: float  # one `flask --help`: the app load of one process
    floor: float  # `count` x `flask --help` started at once: the start-up contention
    failed: int
    right: bool  # the database holds the right schema and version afterwards
    errors: tuple[str, ...]


@dataclass
class Concurrency:
    title: str
    count: int
    trials: dict[str, list[Trial]] = field(default_factory=dict)


def _at_once(
    project: Path, tool: Tool, url: str, count: int, *args: str
) -> tuple[float, list[str]]:
    """Start ``count`` ``flask ARGS`` together; the wall time until the last one exits,
    and the error line of each that failed."""
    with contextlib.ExitStack() as stack:
        outputs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in range(count)]
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                _command(*args),
                cwd=project,
                env=_env(tool, url),
                stdout=subprocess.DEVNULL,
                stderr=out,
                text=True,
            )
            for out in outputs
        ]
        codes = [proc.wait(TIMEOUT) for proc in procs]
        seconds = time.perf_counter() - started
        errors = []
        for code, out in zip(codes, outputs, strict=True):
            if code != 0:
                out.seek(0)
                errors.append(_error_line(out.read()) or f"exit status {code}")
    return seconds, errors


def scenario_concurrent(bench: Bench, server: Server) -> Concurrency:
    s = bench.sizes
    project, plan = bench.project(s.upgrade_tables, s.upgrade_revisions)
    db = Databases(server) if server is not bench.db.server else bench.db
    dialect = "PostgreSQL" if server.dialect == "postgresql" else "MariaDB"
    result = Concurrency(
        f"e {s.concurrency} upgrades at once vs 1 alone, {dialect}, {s.upgrade_revisions} rev,"
        f" {s.upgrade_tables} tables; wall time, app load included; {s.trials} trials",
        s.concurrency,
    )
    for trial in range(s.trials + 1):  # trial 0 warms up
        for tool in TOOLS:
            expect = Expectation(plan)
            url = db.fresh(f"one_{tool.key}")
            alone = flask(project, tool, url, "db", "upgrade").seconds
            expect.verify(url, f"{tool.label} (alone)")
            db.drop(url)
            load = flask(project, tool, url, "--help").seconds
            floor, _ = _at_once(project, tool, url, s.concurrency, "--help")
            url = db.fresh(f"many_{tool.key}")
            together, errors = _at_once(project, tool, url, s.concurrency, "db", "upgrade")
            problems = expect.problems(url, f"{tool.label} ({s.concurrency} at once)")
            db.drop(url)
            if tool is TOOLS[0] and (errors or problems):  # flask_schemaops must get it right
                raise BenchmarkFailure(
                    f"{tool.label}, {s.concurrency} upgraders at once on {dialect}:"
                    f" {len(errors)} failed ({'; '.join(sorted(set(errors)))});"
                    f" database: {'; '.join(problems) or 'right'}"
                )
            if trial:
                found = Trial(
                    alone, together, load, floor, len(errors), not problems, tuple(errors)
                )
                result.trials.setdefault(tool.label, []).append(found)
        print(f"  e on {dialect}: trial {trial or 'warm-up'} done", file=sys.stderr, flush=True)
    return result


# --- Report --------------------------------------------------------------------------------


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}"


def _ratio(a: list[float], b: list[float]) -> str:
    x, y = statistics.median(a), statistics.median(b)
    if x <= 0 < y:  # the command ends before `flask --help` does
        return "below app load"
    return f"{x / y:.2f}x" if x > 0 and y > 0 else "n/a"


def print_timing(timing: Timing) -> None:
    a, b = (t.label for t in TOOLS)
    print(timing.title)
    for label in (a, b):
        print(
            f"  {label:<16} {_stats(timing.over[label])}"
            f" {statistics.median(timing.load[label]):8.3f}"
            f" {statistics.median(timing.total[label]):8.3f}"
            f" {statistics.median(timing.cpu[label]):8.3f}"
        )
    print(
        f"  ratio {a} / {b} of the medians over app load: {_ratio(timing.over[a], timing.over[b])}"
        f" (cpu: {_ratio(timing.cpu[a], timing.cpu[b])});"
        f" of the totals: {_ratio(timing.total[a], timing.total[b])}"
    )
    if timing.database:
        print(
            f"  the database alone (the same SQL piped to psql): {_stats(timing.database)};"
            f" over app load / database alone: {a} {_ratio(timing.over[a], timing.database)},"
            f" {b} {_ratio(timing.over[b], timing.database)}"
        )


def print_concurrency(result: Concurrency) -> None:
    print(result.title)
    n = result.count
    for label, trials in result.trials.items():
        alone = statistics.median(t.alone for t in trials)
        together = statistics.median(t.together for t in trials)
        floor = statistics.median(t.floor for t in trials)
        load = statistics.median(t.load for t in trials)
        verdict = ""
        if label == TOOLS[0].label:
            verdict = f" (goal <= 1.3x: {'met' if together / alone <= 1.3 else 'NOT met'})"
        print(
            f"  {label:<16} alone {alone:.3f} s, {n} at once {together:.3f} s:"
            f" ratio {together / alone:.2f}x{verdict}"
        )
        over = _ratio([t.together - t.floor for t in trials], [t.alone - t.load for t in trials])
        print(
            f"  {'':<16} over start-up: {n} at once minus {n} x `flask --help` at once"
            f" ({floor:.3f} s), 1 alone minus 1 `flask --help` ({load:.3f} s): ratio {over}"
        )
        failed = ", ".join(str(t.failed) for t in trials)
        right = sum(t.right for t in trials)
        print(
            f"  {'':<16} failed: {failed} of {n} per trial;"
            f" database right afterwards in {right} of {len(trials)} trials"
        )
        for error in sorted({e for t in trials for e in t.errors})[:3]:
            print(f"  {'':<16} e.g. {error[:160]}")


def print_header(server: Server) -> None:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("flask-schemaops", "Flask-Migrate", "alembic", "SQLAlchemy", "Flask")
    )
    engine = sa.create_engine(server.url("postgres"), poolclass=NullPool)
    with engine.connect() as connection:
        pg = connection.execute(sa.text("SHOW server_version")).scalar()
    engine.dispose()
    git = ["git", "-C", str(HERE), "describe", "--always", "--dirty"]
    commit = subprocess.run(git, capture_output=True, text=True).stdout.strip() or "unknown"
    print(f"flask-schemaops at {commit}; Python {sys.version.split()[0]}, {versions}")
    print(f"PostgreSQL {pg}, {os.cpu_count()} CPUs")


def print_columns() -> None:
    print("seconds over app load: `flask db CMD` minus `flask --help`, same app and tool;")
    print("load and total: medians of `flask --help` and of `flask db CMD` alone;")
    print("cpu: median user+system seconds over app load, of the flask process only")
    columns = ("median", "min", "max", "load", "total", "cpu")
    print(f"  {'tool':<16}" + "".join(f" {c:>8}" for c in columns))


SCENARIOS = ("upgrade", "noop", "heads", "check", "concurrent")


def main() -> int:
    parser = argparse.ArgumentParser(description="flask_schemaops vs Flask-Migrate benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes, repeat 3")
    parser.add_argument("--repeat", type=int, help="timed runs per tool (default 5, quick 3)")
    parser.add_argument("--trials", type=int, help="trials of scenario e (default 3, quick 2)")
    parser.add_argument("--only", action="append", help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--mariadb", action="store_true", help="scenario e on MariaDB too")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    sizes = replace(sizes, repeat=args.repeat or sizes.repeat, trials=args.trials or sizes.trials)
    only = [n.strip() for o in args.only or [",".join(SCENARIOS)] for n in o.split(",")]
    if unknown := set(only) - set(SCENARIOS):
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")

    # Both tools run from bytecode, as when installed from a wheel (pip compiles it);
    # an editable flask_schemaops would otherwise be compiled from source on every run
    # where PYTHONDONTWRITEBYTECODE is set.
    import flask_schemaops

    compileall.compile_dir(Path(flask_schemaops.__file__).parent, quiet=1)
    workdir = Path(tempfile.mkdtemp(prefix="schemaops-bench-"))
    servers: list[tuple[Server, Path]] = []
    try:
        server = _start(start_postgresql, "postgresql", servers)
        bench = Bench(sizes, workdir, Databases(server))
        print_header(server)
        plain = {
            "upgrade": scenario_upgrade,
            "noop": scenario_noop,
            "heads": scenario_heads,
            "check": scenario_check,
        }
        for index, name in enumerate(n for n in SCENARIOS if n in only and n in plain):
            if index == 0:
                print_columns()
            print_timing(plain[name](bench))
            sys.stdout.flush()
        if "concurrent" in only:
            print_concurrency(scenario_concurrent(bench, server))
            if args.mariadb:
                mariadb = _start(start_mariadb, "mariadb", servers)
                print_concurrency(scenario_concurrent(bench, mariadb))
    except (BenchmarkFailure, ServerUnavailable) as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        for started, base in servers:
            started.stop()
            shutil.rmtree(base, ignore_errors=True)
        if args.keep:
            print(f"projects kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _start(
    start: Callable[[Path], Server], name: str, started: list[tuple[Server, Path]]
) -> Server:
    # Not in the work directory: the server may run as another user (postgres, as root).
    base = Path(tempfile.mkdtemp(prefix=f"schemaops-bench-{name}-"))
    base.chmod(0o755)
    try:
        server = start(base)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    started.append((server, base))
    return server


if __name__ == "__main__":
    sys.exit(main())
