"""Settings: defaults, then constructor arguments, then ``app.config["SCHEMAOPS_*"]``.

Each field of :class:`Settings` is one setting. Its config key is the field
name upper-cased behind ``SCHEMAOPS_`` (``directory`` → ``SCHEMAOPS_DIRECTORY``).
The ``doc`` metadata of each field is the documentation of the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigurationError

PREFIX = "SCHEMAOPS_"

BatchMode = Literal["auto"] | bool
SEVERITIES = ("error", "warning", "info")  # the linter's, from the highest


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one app."""

    directory: str = field(
        default="migrations",
        metadata=_doc(
            "The migrations directory. A relative path is resolved against the app's"
            " ``root_path``, not the shell's working directory (with"
            " ``flask_schemaops.compat.Migrate``, against the working directory when"
            " ``init_app`` runs, as Flask-Migrate does)."
        ),
    )
    command: str = field(
        default="db",
        metadata=_doc("The name of the command group under ``flask``."),
    )
    compare_type: bool = field(
        default=True,
        metadata=_doc("Autogenerate compares column types."),
    )
    compare_server_default: bool = field(
        default=False,
        metadata=_doc("Autogenerate compares server defaults (off: it is noisy on some backends)."),
    )
    render_as_batch: BatchMode = field(
        default="auto",
        metadata=_doc(
            "Render and run ``ALTER`` operations in batch mode (copy and move), which"
            ' SQLite needs. ``"auto"`` turns it on for SQLite only.'
        ),
    )
    version_table: str = field(
        default="alembic_version",
        metadata=_doc("The table that records the applied revision."),
    )
    version_table_schema: str | None = field(
        default=None,
        metadata=_doc("The schema of the version table; ``None`` is the default schema."),
    )
    transaction_per_migration: bool = field(
        default=True,
        metadata=_doc(
            "Run each revision in its own transaction, so a failure in revision N keeps"
            " the revisions before it applied and recorded (on backends with"
            " transactional DDL). False: one transaction for the whole run."
        ),
    )
    lock: bool = field(
        default=True,
        metadata=_doc(
            "Take the migration lock for online ``upgrade``, ``downgrade`` and ``stamp``,"
            " so concurrent processes migrate one at a time. Turn it off only where"
            " exactly one process migrates."
        ),
    )
    lock_timeout: float | None = field(
        default=600.0,
        metadata=_doc(
            "Seconds to wait for the migration lock before giving up; ``None`` waits as"
            " long as the holder lives."
        ),
    )
    on_start: str | None = field(
        default=None,
        metadata={
            **_doc(
                "What app creation does when a database is not at head: ``None`` nothing;"
                ' ``"check"`` raise an error listing the pending revisions; ``"warn"``'
                ' log them; ``"wait"`` wait for another process (a migration job) to'
                ' bring it to head; ``"upgrade"`` upgrade it, under the migration lock.'
                ' An unreachable database stops the app, except with ``"warn"`` (it logs'
                ' why and starts) and ``"wait"`` (it keeps trying until the timeout). A'
                " SQLite database that a migration in another process keeps locked is"
                ' waited for, up to ``lock_timeout`` (with ``"wait"``, its own timeout),'
                ' except with ``"warn"``.'
                " Under the ``flask`` command line it runs at each request instead, until"
                " it passes, and never while ``flask db`` or ``alembic`` migrates."
            ),
            "choices": ("check", "warn", "wait", "upgrade"),
        },
    )
    on_start_timeout: float | None = field(
        default=300.0,
        metadata=_doc(
            'Seconds ``on_start = "wait"`` waits (for head, or for an unreachable'
            " database) before it raises; ``None`` waits without a limit."
        ),
    )
    audit_table: str | None = field(
        default=None,
        metadata=_doc(
            "A table (in each database, next to the version table) that records every"
            " revision applied, reverted or stamped: direction, start time, duration,"
            " success, error and host. ``None``: no audit history."
        ),
    )
    ignore_tables: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Tables autogenerate and ``check`` leave alone: names or globs (``fnmatch``),"
            ' optionally schema-qualified, e.g. ``("spatial_ref_sys", "celery_*")``.'
        ),
    )
    include_schemas: bool = field(
        default=False,
        metadata=_doc(
            "Autogenerate looks at every schema, not only the default one (on MySQL and"
            " MariaDB: every database the user sees, but the server's own ``mysql``,"
            " ``performance_schema`` and ``sys``)."
        ),
    )
    configure_args: Mapping[str, Any] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata=_doc(
            "Extra keyword arguments for Alembic's ``context.configure()``; they win over"
            " the values derived from the other settings."
        ),
    )
    create_all: str | None = field(
        default=None,
        metadata={
            **_doc(
                "What ``db.create_all()`` does on a database the migrations manage:"
                ' ``"allow"`` it; ``"warn"`` log a warning pointing to ``flask db'
                ' upgrade``; ``"forbid"`` raise an error. ``None``: ``"allow"`` when the'
                ' app is testing (``TESTING``), else ``"warn"`` once ``flask db init``'
                " has created the migrations directory. Alembic's own operations are"
                " never affected."
            ),
            "choices": ("allow", "warn", "forbid"),
        },
    )
    lint_disable: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Rules ``flask db lint`` (and the check of a new revision) skip: ids or"
            ' names, e.g. ``("SO119", "drop-column")``.'
        ),
    )
    lint_severity: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata={
            **_doc(
                'Rules re-graded: rule id or name → ``"error"``, ``"warning"`` or'
                ' ``"info"``, e.g. ``{"SO103": "error"}``.'
            ),
            "values": SEVERITIES,
        },
    )
    lint_fail_on: str | None = field(
        default="error",
        metadata={
            **_doc(
                "The lowest severity that makes ``flask db lint`` exit 1; ``None``:"
                " findings never fail it. ``--fail-on`` overrides it."
            ),
            "choices": SEVERITIES,
        },
    )
    downgrade_confirm: bool = field(
        default=True,
        metadata=_doc(
            "``flask db downgrade`` asks for a confirmation when the revisions it"
            " reverts drop tables or columns that hold rows (and, with no terminal,"
            " refuses without ``--yes``). False: it shows what is lost and goes on."
        ),
    )

    @classmethod
    def keys(cls) -> dict[str, dataclasses.Field[Any]]:
        """The settings by config key (``SCHEMAOPS_...``)."""
        return {PREFIX + f.name.upper(): f for f in dataclasses.fields(cls)}

    @classmethod
    def unknown_keys(cls, config: Mapping[str, Any]) -> dict[str, str | None]:
        """The ``SCHEMAOPS_*`` keys of ``config`` that name no setting, each with the
        key it most resembles (None when none is close): most likely typos."""
        known = cls.keys()
        names = [key.removeprefix(PREFIX).lower() for key in known]
        unknown: dict[str, str | None] = {}
        for key in sorted(k for k in config if isinstance(k, str) and k.startswith(PREFIX)):
            if key not in known:
                close = difflib.get_close_matches(key.removeprefix(PREFIX).lower(), names, n=1)
                unknown[key] = PREFIX + close[0].upper() if close else None
        return unknown

    @classmethod
    def resolve(cls, options: Mapping[str, Any], config: Mapping[str, Any]) -> Settings:
        """Build the settings from constructor ``options`` and an app's ``config``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ConfigurationError(
                f"Unknown SchemaOps option(s): {', '.join(unknown)}. "
                f"Valid options: {', '.join(sorted(names))}."
            )
        values: dict[str, Any] = {}
        for key, f in cls.keys().items():
            if key in config:
                values[f.name] = _check(key, f, config[key])
            elif f.name in options:
                values[f.name] = _check(f.name, f, options[f.name])
        if "configure_args" in values:
            values["configure_args"] = types.MappingProxyType(dict(values["configure_args"]))
        return cls(**values)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"", "none", "null"}


def _check(key: str, f: dataclasses.Field[Any], value: Any) -> Any:
    """Validate one value, accepting the strings environment-sourced config yields."""
    kind = str(f.type)
    if "None" in kind and (value is None or str(value).strip().lower() in _NONE):
        return None
    if kind == "bool" or kind == "BatchMode":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if kind == "BatchMode" and text == "auto":
            return "auto"
        allowed = 'true, false or "auto"' if kind == "BatchMode" else "true or false"
        raise ConfigurationError(f"{key} must be {allowed}, not {value!r}.")
    if kind.startswith("float"):
        try:
            number = -1.0 if isinstance(value, bool) else float(value)  # True is no duration
        except (TypeError, ValueError):
            number = -1.0
        if not 0 <= number < math.inf:  # negative, NaN or infinite
            hint = " (None waits without a limit)" if number == math.inf and "None" in kind else ""
            raise ConfigurationError(f"{key} must be a number of seconds{hint}, not {value!r}.")
        return number
    if kind.startswith("tuple"):
        items = (
            [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        )
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise ConfigurationError(f"{key} must be a list of strings, not {value!r}.")
        return tuple(items)
    if kind.startswith("Mapping"):
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{key} must be a mapping, not {type(value).__name__}.")
        allowed_values: tuple[str, ...] = f.metadata.get("values", ())
        for name, item in value.items() if allowed_values else ():
            if item not in allowed_values:
                allowed = ", ".join(repr(v) for v in allowed_values)
                raise ConfigurationError(f"{key}[{name!r}] must be one of {allowed}, not {item!r}.")
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{key} must be a non-empty string, not {value!r}.")
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigurationError(f"{key} must be None or one of {allowed}, not {value!r}.")
    return value
