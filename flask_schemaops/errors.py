"""The errors flask_schemaops raises.

Every message says what happened, where, and what to do next. This module
imports nothing heavy: the ``flask`` command line loads our commands in every
project, so importing them must stay cheap. (Under plain ``alembic``,
``environment`` turns these errors into Alembic's ``CommandError``, which it
prints as one ``FAILED:`` line.)
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.script import Script, ScriptDirectory


class SchemaOpsError(Exception):
    """Base class of every error flask_schemaops raises on purpose.

    A command on several databases that fails on one sets ``completed``, the results
    of those it did before (or, when it reads them, despite) the failure, and
    ``failed``, the name and error of each database it failed on."""

    completed: tuple[Any, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    def reworded(self, message: str) -> SchemaOpsError:
        """This error with another message (and the same results)."""
        error = type(self)(message)
        error.completed, error.failed = self.completed, self.failed
        return error


class ConfigurationError(SchemaOpsError):
    """A setting, constructor argument or app registration is wrong."""


class NotRegisteredError(ConfigurationError):
    """The Flask app has no ``SchemaOps`` extension."""


class AppNotFoundError(ConfigurationError):
    """Plain ``alembic`` could not find or build the Flask app."""


class DirectoryError(SchemaOpsError):
    """The migrations directory is missing, or exists where it must not."""


class RevisionError(SchemaOpsError):
    """A revision argument or the revision graph is not usable as asked."""


class UnknownRevisionError(RevisionError):
    """No revision script has the given id, label or relative position."""


class MultipleHeadsError(RevisionError):
    """The scripts have several heads where one was needed."""


class ScriptError(SchemaOpsError):
    """A revision script could not be loaded or failed while running."""


class DatabaseError(SchemaOpsError):
    """The database could not be reached, or is in an unexpected state."""


class DatabaseUnavailableError(DatabaseError):
    """The database server could not be reached or refused the login."""


class DatabaseBusyError(DatabaseError):
    """A SQLite database stayed locked by another connection, writing to it (a
    migration, say), for longer than SQLite's busy timeout."""


class NotUpToDateError(DatabaseError):
    """Autogenerate needs the database at head first."""


class ForeignKeyCheckError(DatabaseError):
    """SQLite's foreign key check failed a revision that ran: it left rows that refer
    to missing rows. ``revision`` is its id; ``cause``, what the check found and what
    to do (the message adds which revision and what was rolled back)."""

    def __init__(self, message: str, revision: str = "", cause: str = ""):
        super().__init__(message)
        self.revision = revision
        self.cause = cause or message


class UnexpectedError(SchemaOpsError):
    """An error flask_schemaops did not foresee; ``--traceback`` shows its origin."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Return ``text`` with each secret masked as ``***``.

    A secret inside a URL (``:secret@``) is always masked; a bare occurrence is
    masked when the secret is long enough not to be an ordinary word in the text.
    """
    for secret in secrets:
        if secret:
            text = text.replace(f":{secret}@", ":***@")
            if len(secret) >= 4:
                text = text.replace(secret, "***")
    return text


def inside(filename: str | None, directory: Path) -> bool:
    """Whether ``filename`` lies in ``directory``."""
    if not filename or filename.startswith("<"):  # code without a file, such as "<string>"
        return False
    try:
        Path(filename).resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def relative_path(filename: str | None, directory: Path) -> str:
    """``filename`` relative to the parent of ``directory`` (``migrations/versions/x.py``)."""
    path = Path(filename or "?")
    try:
        return str(path.resolve().relative_to(directory.resolve().parent))
    except ValueError:
        return str(path)


def script_frame(exc: BaseException, directory: Path) -> traceback.FrameSummary | None:
    """The innermost traceback frame in a file of the migrations ``directory``: a
    revision script, or ``env.py`` when the error did not come from a script."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if inside(f.filename, directory)]
    return frames[-1] if frames else None


def in_revision(frame: traceback.FrameSummary | None) -> bool:
    """Whether ``frame`` runs a revision's code (not ``env.py``, not the script's import)."""
    return frame is not None and frame.name != "<module>" and Path(frame.filename).name != "env.py"


def failed_revision(
    exc: BaseException, scripts: ScriptDirectory
) -> tuple[Script | None, traceback.FrameSummary | None]:
    """The revision whose run raised ``exc``, and the frame of its code that did:
    (revision, None) for the foreign key check after it, (None, frame) for code in
    the migrations directory that no revision has, (None, None) when no revision's
    code failed (Alembic, env.py, a script's import, the database)."""
    if isinstance(exc, ForeignKeyCheckError):
        return scripts.get_revision(exc.revision), None
    frame = script_frame(exc, Path(scripts.dir))
    if not in_revision(frame) or isinstance(exc, SchemaOpsError):
        return None, None
    assert frame is not None
    path = Path(frame.filename).resolve()
    found = (x for x in scripts.walk_revisions() if Path(x.path).resolve() == path)
    return next(found, None), frame


class CreateAllError(SchemaOpsError):
    """``db.create_all()`` was called on a database the migrations manage
    (``SCHEMAOPS_CREATE_ALL = "forbid"``)."""
