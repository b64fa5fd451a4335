"""Throwaway PostgreSQL and MariaDB servers, and a PgBouncer in front of PostgreSQL, on
loopback TCP ports for the test suite."""

from __future__ import annotations

import atexit
import ctypes
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
HOST = "127.0.0.1"
# Shared by mariadbd and mariadb-install-db (which passes them on to its bootstrap server).
MARIADB_TUNING = [
    "--innodb-buffer-pool-size=64M",
    "--innodb-flush-log-at-trx-commit=0",
    "--skip-innodb-doublewrite",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
]


class ServerUnavailable(Exception):
    """A server could not be started; the message says why (with the log tail when there is one)."""


@dataclass
class Server:
    dialect: str  # "postgresql" or "mysql"
    host: str
    port: int
    user: str
    password: str
    admin_database: str | None = None
    log: Path | None = None
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, database: str, *, password: str | None = None) -> str:
        return self._url(database, password).render_as_string(hide_password=False)

    def _url(self, database: str | None, password: str | None = None) -> sa.URL:
        pw = self.password if password is None else password
        if self.dialect == "postgresql":
            return sa.URL.create(
                "postgresql+psycopg", self.user, pw, self.host, self.port, database
            )
        query = {"charset": "utf8mb4"}
        return sa.URL.create("mysql+pymysql", self.user, pw, self.host, self.port, database, query)

    @contextmanager
    def _admin(self) -> Iterator[sa.Connection]:
        url = self._url(self.admin_database)
        engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _quote(self, name: str) -> str:
        q = '"' if self.dialect == "postgresql" else "`"
        return q + name.replace(q, q + q) + q

    def create_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {self._quote(name)}")

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self._quote(name)} WITH (FORCE)")
                return
            # Like WITH (FORCE): a transaction a test left open would make DROP wait forever.
            rows = conn.exec_driver_sql(
                "SELECT id FROM information_schema.processlist"
                " WHERE db = %s AND id <> CONNECTION_ID()",
                (name,),
            )
            for (pid,) in rows.all():
                conn.exec_driver_sql(f"KILL {int(pid)}")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self._quote(name)}")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log} ---\n" + "\n".join(text)


_libc = ctypes.CDLL(None) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # atexit does not run when pytest is killed (e.g. SIGTERM from a CI timeout);
    # the kernel then kills the server instead.
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _run(cmd: list[str], log: Path, **kwargs: Any) -> None:
    with log.open("ab") as out:
        rc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kwargs
        ).returncode
    if rc != 0:
        raise ServerUnavailable(f"{Path(cmd[0]).name} exited with status {rc}{_tail(log)}")


def _launch(server: Server, cmd: list[str], **kwargs: Any) -> Server:
    assert server.log is not None
    started = time.monotonic()
    with server.log.open("ab") as out:
        server.process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Own session: a Ctrl-C in the terminal must not stop the server under a running test.
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **kwargs,
        )
    atexit.register(server.stop)
    engine = sa.create_engine(server._url(server.admin_database), poolclass=NullPool)
    try:
        while True:
            try:
                with engine.connect():
                    return server
            except sa.exc.DBAPIError as exc:
                rc = server.process.poll()
                if rc is not None:
                    reason = f"{server.dialect} server exited with status {rc}"
                    raise ServerUnavailable(reason + _tail(server.log)) from exc
                if time.monotonic() - started > START_TIMEOUT:
                    reason = (
                        f"{server.dialect} server not ready after {START_TIMEOUT:.0f}s: {exc.orig}"
                    )
                    raise ServerUnavailable(reason + _tail(server.log)) from exc
                time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
    finally:
        engine.dispose()


def _find(names: list[str], dirs: list[str]) -> str:
    path = os.pathsep.join([*dirs, os.environ.get("PATH", "")])
    for name in names:
        if found := shutil.which(name, path=path):
            return found
    raise ServerUnavailable(f"none of {', '.join(names)} found in {path}")


def _not_as_root(base: Path, program: str) -> dict[str, Any]:
    """Popen arguments that run ``program`` as the postgres user when we are root
    (PostgreSQL and PgBouncer refuse to run as root), and hand ``base`` to that user."""
    if os.geteuid() != 0:
        return {}
    try:
        pg = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable(
            f"running as root and no 'postgres' user to run {program} as"
        ) from None
    os.chown(base, pg.pw_uid, pg.pw_gid)
    # TMPDIR may be private to root; the postgres user needs to traverse every ancestor.
    for parent in base.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
    return {"user": pg.pw_uid, "group": pg.pw_gid, "extra_groups": []}


def start_postgresql(base: Path) -> Server:
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    versions.sort(key=lambda p: int(p.parent.name), reverse=True)
    dirs = [os.environ.get("SCHEMAOPS_PG_BINDIR", ""), *map(str, versions)]
    initdb, postgres = _find(["initdb"], dirs), _find(["postgres"], dirs)
    log = base / "postgresql.log"
    port = _free_port()
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to disconnect.
    server = Server(
        "postgresql", HOST, port, "postgres", "s3cret-pg", "postgres", log, signal.SIGINT
    )
    pwfile, data = base / "pwfile", base / "data"
    pwfile.write_text(server.password + "\n")
    as_user = _not_as_root(base, "PostgreSQL")
    _run(
        [
            *(initdb, "-D", str(data), "-U", server.user, "--encoding=UTF8", "--no-locale"),
            *("--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"),
        ],
        log,
        cwd=base,
        **as_user,
    )
    (data / "pg_hba.conf").write_text(
        "host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
    )
    return _launch(
        server,
        [
            *(postgres, "-D", str(data), "-h", HOST, "-p", str(port), "-k", ""),  # -k "": no socket
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
        ],
        cwd=base,
        **as_user,
    )


def start_mariadb(base: Path) -> Server:
    sbin = ["/usr/sbin", "/usr/local/sbin", "/usr/libexec"]
    mariadbd = _find(["mariadbd", "mysqld"], sbin)
    install_db = _find(["mariadb-install-db", "mysql_install_db"], sbin)
    log = base / "mariadb.log"
    server = Server("mysql", HOST, _free_port(), "schemaops", "s3cret-my", log=log)
    data, setup = base / "data", base / "setup.sql"
    # Bootstrap runs with --skip-grant-tables; FLUSH PRIVILEGES loads them so CREATE USER works.
    setup.write_text(
        "FLUSH PRIVILEGES;\n"
        + "".join(
            f"CREATE USER '{server.user}'@'{host}' IDENTIFIED BY '{server.password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{server.user}'@'{host}' WITH GRANT OPTION;\n"
            for host in ("127.0.0.1", "localhost")
        )
    )
    as_root = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses root unless told
    # --extra-file runs the setup SQL during bootstrap: no root connection over the socket needed.
    _run(
        [
            *(install_db, "--no-defaults", f"--datadir={data}", f"--extra-file={setup}"),
            *("--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"),
            *as_root,
            *MARIADB_TUNING,
        ],
        log,
    )
    return _launch(
        server,
        [
            *(mariadbd, "--no-defaults", f"--datadir={data}", *as_root),
            *(f"--port={server.port}", f"--bind-address={HOST}", "--skip-name-resolve"),
            *(f"--socket={base / 'mysql.sock'}", f"--pid-file={base / 'mariadb.pid'}"),
            "--skip-log-bin",
            *MARIADB_TUNING,
        ],
    )


def start_pgbouncer(base: Path, postgresql: Server) -> Server:
    """A PgBouncer in transaction mode in front of every database of ``postgresql``.

    Each database gets a pool of three server sessions, fewer than the clients of a
    race, all kept open and lent in turn: a client's next transaction runs in
    another session, as on a busy pooler.
    """
    pgbouncer = _find(["pgbouncer"], ["/usr/sbin", "/usr/local/sbin"])
    log = base / "pgbouncer.log"
    server = Server(
        "postgresql", HOST, _free_port(), postgresql.user, postgresql.password, "postgres", log
    )
    users, config = base / "users.txt", base / "pgbouncer.ini"
    users.write_text(f'"{server.user}" "{server.password}"\n')
    settings = {
        "listen_addr": HOST,
        "listen_port": server.port,
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": users,
        "pool_mode": "transaction",
        "default_pool_size": 3,
        "min_pool_size": 3,
        "server_round_robin": 1,
        "ignore_startup_parameters": "extra_float_digits",  # psycopg sends it
    }
    config.write_text(
        f"[databases]\n* = host={postgresql.host} port={postgresql.port}\n[pgbouncer]\n"
        + "".join(f"{key} = {value}\n" for key, value in settings.items())
    )
    as_user = _not_as_root(base, "PgBouncer")
    if as_user:
        for path in (users, config):
            os.chown(path, as_user["user"], as_user["group"])
    return _launch(server, [pgbouncer, str(config)], cwd=base, **as_user)
