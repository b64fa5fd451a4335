"""The data the API returns. Plain frozen dataclasses, easy to print or serialise."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Revision:
    """One revision script."""

    revision: str
    down_revisions: tuple[str, ...]
    message: str
    path: str
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    create_date: str | None = None
    is_head: bool = False
    is_branch_point: bool = False
    is_merge_point: bool = False
    is_current: bool = False
    doc: str = ""
    target: str = "default"  # the database whose history holds it


@dataclass(frozen=True)
class Step:
    """One revision applied (or un-applied, or stamped) during a run."""

    kind: str  # "upgrade", "downgrade" or "stamp"
    revision: str
    from_revisions: tuple[str, ...]
    to_revisions: tuple[str, ...]
    message: str
    seconds: float
    target: str = "default"


@dataclass(frozen=True)
class Run:
    """The outcome of ``upgrade``, ``downgrade`` or ``stamp`` on one database."""

    target: str
    database: str
    steps: tuple[Step, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    seconds: float = 0.0
    sql: str | None = None  # the script, in --sql mode


@dataclass(frozen=True)
class Status:
    """Where one database stands against its revision scripts."""

    target: str
    database: str
    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[Revision, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pending"] = [{"revision": r.revision, "message": r.message} for r in self.pending]
        data["up_to_date"] = self.up_to_date
        return data


@dataclass(frozen=True)
class Written:
    """The outcome of ``revision``, ``migrate`` and ``merge``."""

    scripts: tuple[Revision, ...] = ()
    sql: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def no_changes(self) -> bool:
        return not self.scripts and self.sql is None


@dataclass(frozen=True)
class Template:
    name: str
    description: str


@dataclass(frozen=True)
class Check:
    """The outcome of ``check`` on one database: the model changes no revision covers yet."""

    target: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvConversion:
    """The outcome of ``convert_env``: the change from a migrations directory's env.py
    (e.g. Flask-Migrate's) to flask_schemaops's."""

    env: Path  # the env.py
    backup: Path  # where the old env.py is kept when written
    diff: str  # unified diff from the current env.py to ours; empty when it is ours already
    written: bool = False

    @property
    def needed(self) -> bool:
        """False when env.py already runs through flask_schemaops."""
        return bool(self.diff)


@dataclass(frozen=True)
class Health:
    """Whether every database is at head, for a health endpoint."""

    databases: tuple[Status, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.up_to_date for s in self.databases)

    def as_dict(self) -> dict[str, Any]:
        state = "ok" if self.ok else "error" if self.error else "pending"
        data: dict[str, Any] = {"status": state, "databases": [s.as_dict() for s in self.databases]}
        if self.error:
            data["error"] = self.error
        return data
