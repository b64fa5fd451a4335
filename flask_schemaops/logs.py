"""Logging for Alembic's and our loggers, without touching the app's configuration."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

LOGGERS = ("alembic", "flask_schemaops")


def configure_logging(verbosity: int) -> Callable[[], None]:
    """Show Alembic's and our log lines at ``verbosity`` (-1 quiet, 0 default, 1 info,
    2 debug); return a function that restores the loggers as they were.

    A handler is added only to a logger that has none to reach (Alembic's own
    ``NullHandler`` does not count), so an app's logging setup is respected. At
    verbosity 0 nothing is changed.
    """
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.handlers)))
        if verbosity == 0:
            continue
        if verbosity < 0:
            logger.setLevel(logging.ERROR)
        else:
            logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
        if not _reaches_handler(logger):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)-5.5s [%(name)s] %(message)s"))
            logger.addHandler(handler)

    def restore() -> None:
        for logger, level, handlers in saved:
            logger.setLevel(level)
            logger.handlers[:] = handlers

    return restore


def _reaches_handler(logger: logging.Logger) -> bool:
    current: logging.Logger | None = logger
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False
