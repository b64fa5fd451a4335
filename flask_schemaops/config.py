"""Settings → an in-memory Alembic ``Config``.

``alembic.ini`` in the migrations directory is honoured when present (its
``file_template``, ``version_locations``, ``timezone``, hooks, ...), and so is a
``[tool.alembic]`` table in a ``pyproject.toml`` next to the directory. The
script location is always the directory itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DirectoryError

if TYPE_CHECKING:
    from alembic.config import Config

    from .extension import State

APP_ATTRIBUTE = "flask_app"
TARGET_ATTRIBUTE = "schemaops.target"
WARNINGS_ATTRIBUTE = "schemaops.warnings"  # env.py appends what the user should read
LOCK_ATTRIBUTE = "schemaops.lock"  # a locking.LockRequest, or None: no lock
COMMAND_ATTRIBUTE = "schemaops.command"  # "upgrade", "downgrade" or "stamp"
STEP_CALLBACK = "schemaops.on_step"  # called with each Step of a run
# A list: env.py appends where each database it ran on stands once the run is done
REACHED_ATTRIBUTE = "schemaops.reached"
LOCK_WAIT_ATTRIBUTE = "schemaops.lock_wait"  # env.py sets the seconds it waited for the lock
# env.py sets it when each revision's transaction covers its DDL too (SQLite, foreign keys on)
TRANSACTIONAL_ATTRIBUTE = "schemaops.transactional_ddl"
BINDS_FOLDER = "binds"


def versions_directory(directory: Path, bind: str | None) -> Path:
    """Where the revisions of one database live: ``versions/`` for the default
    database, ``binds/<name>/`` for a Flask-SQLAlchemy bind."""
    return directory / "versions" if bind is None else directory / BINDS_FOLDER / bind


def uses_our_environment(directory: Path) -> bool:
    """Whether env.py runs through flask_schemaops (not, say, Flask-Migrate's)."""
    try:
        return "flask_schemaops" in (directory / "env.py").read_text(encoding="utf-8")
    except OSError:
        return True


def version_table_in_env(directory: Path) -> str | None:
    """The version-table option (``version_table``, ``version_table_schema``) that
    env.py passes to a call itself, if any."""
    import ast

    try:
        tree = ast.parse((directory / "env.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("version_table", "version_table_schema"):
            return node.arg
    return None


def is_multidb_directory(directory: Path) -> bool:
    """Whether ``directory`` was made by Flask-Migrate's ``init --multidb``: one history
    whose env.py runs every revision on every database, through the scripts'
    ``upgrade_<bind>()`` / ``downgrade_<bind>()`` functions."""
    text = ""
    for name in ("env.py", "script.py.mako"):
        with suppress(OSError):
            text += (directory / name).read_text(encoding="utf-8")
    return "engine_name" in text


def require_environment(directory: Path) -> None:
    """Raise a :class:`DirectoryError` saying what to do unless ``directory`` holds an env.py."""
    try:
        found = (directory / "env.py").is_file()
    except OSError as exc:  # a name too long, a folder that may not be read...
        raise DirectoryError(
            f"No migrations directory at {directory}: {exc.strerror or exc}. Point"
            " -d/--directory or SCHEMAOPS_DIRECTORY at the migrations directory."
        ) from exc
    if not found:
        if directory.is_dir():
            raise DirectoryError(
                f"{directory} has no env.py, so it is not a migrations directory. Point"
                " -d/--directory or SCHEMAOPS_DIRECTORY at the right one, or run"
                " `flask db init` on an empty directory."
            )
        blocker = file_in_the_way(directory)
        if blocker is not None:
            what = (
                f"{directory} is a file, not a migrations directory."
                if blocker == directory
                else f"No migrations directory at {directory}: {blocker} is a file."
            )
            raise DirectoryError(
                f"{what} Point -d/--directory or SCHEMAOPS_DIRECTORY at the migrations directory."
            )
        raise DirectoryError(
            f"No migrations directory at {directory}. Run `flask db init` to create it,"
            " or point -d/--directory or SCHEMAOPS_DIRECTORY at the existing one."
        )


def file_in_the_way(directory: Path) -> Path | None:
    """``directory`` or the first of its parents that exists as something other than a
    directory (a file), where no directory can be; else None."""
    for path in (directory, *directory.parents):
        try:
            if path.is_dir():
                return None
            if path.exists():
                return path
        except OSError:  # not readable: not known to be in the way
            return None
    return None


def build_config(
    state: State,
    directory: Path,
    *,
    bind: str | None = None,
    x_args: Sequence[str] = (),
    autogenerate: bool = False,
) -> Config:
    """An Alembic ``Config`` for the database ``bind`` (None: the default one) of
    ``directory``, carrying the app for env.py."""
    require_environment(directory)
    from argparse import Namespace

    from alembic.config import Config

    ini = directory / "alembic.ini"
    pyproject = directory.parent / "pyproject.toml"
    config = Config(
        file_=ini if ini.is_file() else None,
        toml_file=pyproject if _has_alembic_table(pyproject) else None,
        # quiet: Alembic's own status lines stay out of the API; the CLI prints.
        cmd_opts=Namespace(x=list(x_args), autogenerate=autogenerate, quiet=True),
        attributes={
            APP_ATTRIBUTE: state.app,
            TARGET_ATTRIBUTE: bind,
            LOCK_ATTRIBUTE: None,
            WARNINGS_ATTRIBUTE: [],
        },
    )
    config.set_main_option("script_location", _escape(directory))
    if bind is not None:
        config.set_main_option("version_locations", _escape(versions_directory(directory, bind)))
        if config.get_main_option("path_separator") is None:
            config.set_main_option("path_separator", "os")
    for callback in state.extension.config_callbacks:
        config = callback(config)
    return config


def _escape(path: Path) -> str:
    return str(path).replace("%", "%%")


def _has_alembic_table(pyproject: Path) -> bool:
    try:
        return "[tool.alembic" in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def moves_versions(directory: Path) -> bool:
    """Whether alembic.ini or pyproject.toml may put the scripts elsewhere than in
    :func:`versions_directory` (``version_locations``, ``recursive_version_locations``).
    Read as text, without Alembic: a mention is enough to say yes."""
    for path in (directory / "alembic.ini", directory.parent / "pyproject.toml"):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if any(
            line.lstrip().startswith(("version_locations", "recursive_version_locations"))
            for line in text.splitlines()
        ):
            return True
    return False
