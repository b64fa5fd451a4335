"""Settings → an in-memory Alembic ``Config``.

``alembic.ini`` in the migrations directory is honoured when present (its
``file_template``, ``version_locations``, ``timezone``, hooks, ...), and so is a
``[tool.alembic]`` table in a ``pyproject.toml`` next to the directory. The
script location is always the directory itself.
"""

from __future__ import annotations

import io
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path

from alembic.config import Config
from flask import Flask

from .errors import DirectoryError

APP_ATTRIBUTE = "flask_app"


def build_config(
    app: Flask,
    directory: Path,
    *,
    x_args: Sequence[str] = (),
    autogenerate: bool = False,
    output: io.StringIO | None = None,
) -> Config:
    """An Alembic ``Config`` for ``directory``, carrying ``app`` for env.py."""
    if not (directory / "env.py").is_file():
        if directory.is_dir():
            raise DirectoryError(
                f"{directory} has no env.py, so it is not a migrations directory. Point"
                " -d/--directory or SCHEMAOPS_DIRECTORY at the right one, or run"
                " `flask db init` on an empty directory."
            )
        raise DirectoryError(
            f"No migrations directory at {directory}. Run `flask db init` to create it,"
            " or point -d/--directory or SCHEMAOPS_DIRECTORY at the existing one."
        )
    ini = directory / "alembic.ini"
    pyproject = directory.parent / "pyproject.toml"
    config = Config(
        file_=ini if ini.is_file() else None,
        toml_file=pyproject if _has_alembic_table(pyproject) else None,
        output_buffer=output,
        # quiet: Alembic's own status lines stay out of the API; the CLI prints.
        cmd_opts=Namespace(x=list(x_args), autogenerate=autogenerate, quiet=True),
        attributes={APP_ATTRIBUTE: app},
    )
    config.set_main_option("script_location", str(directory).replace("%", "%%"))
    return config


def _has_alembic_table(pyproject: Path) -> bool:
    try:
        return "[tool.alembic" in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
