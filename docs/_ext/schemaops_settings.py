"""``.. schemaops-settings::``: the configuration reference, generated from the
fields of :class:`flask_schemaops.settings.Settings`, so it cannot drift.

Each field becomes a ``confval`` entry with its config key, constructor argument,
type, default and the field's ``doc`` metadata. A field without ``doc`` is a
warning, which ``sphinx-build -W`` turns into a failed build.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

from flask_schemaops import settings
from flask_schemaops.settings import Settings

log = logging.getLogger(__name__)

# Type aliases of settings.py, spelled out for readers.
TYPES = {"BatchMode": 'bool | "auto"'}


def default_of(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def literal(value: Any) -> str:
    """A default as a reader would write it in Python."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return repr(dict(value))
    return repr(value)


def entries() -> list[str]:
    lines: list[str] = []
    for key, field in Settings.keys().items():
        doc = field.metadata.get("doc")
        if not doc:
            log.warning("Setting %s has no doc metadata in flask_schemaops/settings.py.", key)
            doc = "(undocumented)"
        kind = TYPES.get(str(field.type), str(field.type))
        lines += [
            f".. confval:: {key}",
            f"   :type: ``{kind}``",
            f"   :default: ``{literal(default_of(field))}``",
            "",
            f"   {doc}",
            "",
        ]
        choices = field.metadata.get("choices")
        if choices:
            allowed = ", ".join(f"``{literal(c)}``" for c in choices)
            lines += [f"   One of {allowed}, or ``None``.", ""]
        lines += [f"   Constructor argument: ``SchemaOps({field.name}=...)``.", ""]
    return lines


class SettingsDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(settings.__file__)
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(entries(), "<settings>"), container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("schemaops-settings", SettingsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
