"""Sphinx configuration of the flask-schemaops docs.

Build them with ``sphinx-build -W -b html docs docs/_build/html`` (``pip install
.[docs]`` first). The version, the command reference and the configuration
reference all come from the package itself.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]

import flask_schemaops  # noqa: E402  (after the path set-up above)

project = "flask-schemaops"
author = "The flask-schemaops developers"
copyright = f"2026, {author}"
release = flask_schemaops.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx_click",
    "schemaops_settings",
]

exclude_patterns = ["_build"]
default_role = "literal"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"flask-schemaops {release}"

# Guides written alongside this site: index.rst lists them where they belong, and
# an entry is dropped while its page does not exist, so the build never refers to
# a missing page.
OPTIONAL_PAGES = ("rules", "adopting", "troubleshooting", "testing")


def _drop_missing_pages(app: Any, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    for page in OPTIONAL_PAGES:
        if not (DOCS / f"{page}.rst").is_file():
            source[0] = source[0].replace(f"\n   {page}\n", "\n")


def _reread_index(*args: Any) -> list[str]:
    return ["index"]  # an optional page may have appeared since the last build


def _quiet_root_logger(app: Any) -> None:
    # furo's accessible-pygments sets the root logger to INFO on import, which
    # would print Alembic's log lines while autodoc imports the package.
    logging.getLogger().setLevel(logging.WARNING)


def setup(app: Any) -> None:
    app.connect("builder-inited", _quiet_root_logger)
    app.connect("source-read", _drop_missing_pages)
    app.connect("env-get-outdated", _reread_index)
