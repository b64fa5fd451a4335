"""Revision headers read without importing the scripts.

Importing every revision script (what Alembic does to build its revision map)
costs time on each start of a large project. The few header fields we need to
answer "is the database at head?" are plain literals at the top of each script,
so we read them with ``ast`` and cache them by file size and modification time.
A script whose header is not plain literals makes the reader give up (None),
and the caller falls back to Alembic.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("revision", "down_revision", "branch_labels", "depends_on")


@dataclass(frozen=True)
class Header:
    revision: str
    down_revisions: tuple[str, ...]
    message: str
    path: str
    doc: str = ""
    labelled: bool = False  # declares branch labels or dependencies


Cache = dict[str, tuple[int, int, Header | None]]


def read_headers(folder: Path, cache: Cache) -> dict[str, Header] | None:
    """The headers of the scripts in ``folder`` by revision id, or None when one
    cannot be read statically."""
    found: dict[str, Header] = {}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return found
    for name in names:
        if not name.endswith(".py") or name.startswith((".#", "__init__")):
            continue
        path = str(folder / name)
        stat = os.stat(path)
        cached = cache.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            header = cached[2]
        else:
            header = _parse(path)
            cache[path] = (stat.st_mtime_ns, stat.st_size, header)
        if header is None:
            return None
        found[header.revision] = header
    return found


def heads(headers: dict[str, Header]) -> set[str]:
    """The revisions no other revision builds on."""
    parents = {p for h in headers.values() for p in h.down_revisions}
    return set(headers) - parents


def pending(headers: dict[str, Header], current: set[str]) -> list[Header]:
    """The revisions from ``current`` (exclusive) up to the heads, oldest first."""
    applied: set[str] = set()
    stack = list(current)
    while stack:
        revision = stack.pop()
        if revision not in applied and revision in headers:
            applied.add(revision)
            stack.extend(headers[revision].down_revisions)
    order: list[Header] = []
    seen = set(applied)

    def visit(revision: str) -> None:
        if revision in seen or revision not in headers:
            return
        seen.add(revision)
        for parent in headers[revision].down_revisions:
            visit(parent)
        order.append(headers[revision])

    for head in sorted(heads(headers)):
        visit(head)
    return order


def _parse(path: str) -> Header | None:
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None  # let Alembic load it and report the problem
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in FIELDS:
                    try:
                        values[target.id] = ast.literal_eval(node.value) if node.value else None
                    except ValueError:
                        return None
    revision = values.get("revision")
    if not isinstance(revision, str):
        return None
    down = values.get("down_revision")
    if down is None:
        parents: tuple[str, ...] = ()
    elif isinstance(down, str):
        parents = (down,)
    elif isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
        parents = tuple(down)
    else:
        return None
    doc = (ast.get_docstring(tree) or "").strip()
    labelled = bool(values.get("branch_labels") or values.get("depends_on"))
    message = doc.split("\n\n")[0].strip()
    return Header(revision, parents, message, path, doc, labelled)


def line(headers: dict[str, Header]) -> list[Header] | None:
    """The history newest first, when it is one line without branch labels or
    dependencies (what most projects have); else None."""
    children: dict[str, str] = {}
    for header in headers.values():
        if header.labelled or len(header.down_revisions) > 1:
            return None
        for parent in header.down_revisions:
            if parent in children or parent not in headers:
                return None
            children[parent] = header.revision
    tops = heads(headers)
    if len(tops) > 1:
        return None
    order: list[Header] = []
    revision = next(iter(tops), None)
    while revision is not None:
        order.append(headers[revision])
        parents = headers[revision].down_revisions
        revision = parents[0] if parents else None
    return order if len(order) == len(headers) else None
