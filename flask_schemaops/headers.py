"""Revision headers read without importing the scripts.

Importing every revision script (what Alembic does to build its revision map)
costs time on each start of a large project. The few header fields we need to
answer "is the database at head?" are plain literals at the top of each script,
so we read them with ``ast`` and cache them by file size and modification time,
in memory and in the folder's ``__pycache__`` (beside Python's bytecode, which
version control already ignores), so the next process reads one small file
instead of every script. A script whose header is not plain literals makes the
reader give up (None), and the caller falls back to Alembic.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RevisionError

if TYPE_CHECKING:
    from alembic.script.revision import RevisionMap

FIELDS = ("revision", "down_revision", "branch_labels", "depends_on")


@dataclass(frozen=True)
class Header:
    revision: str
    down_revisions: tuple[str, ...]
    message: str
    path: str
    doc: str = ""
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def labelled(self) -> bool:
        """Whether it declares branch labels or dependencies."""
        return bool(self.branch_labels or self.depends_on)


Entry = tuple[int, int, Header | None]  # mtime_ns, size, header (None: not plain literals)
Cache = dict[str, dict[str, Entry]]  # folder -> file name -> entry
CACHE_FILE = Path("__pycache__", "schemaops-headers.json")
CACHE_FORMAT = 2


def read_headers(folder: Path, cache: Cache) -> dict[str, Header] | None:
    """The headers of the scripts in ``folder`` by revision id, or None when one
    cannot be read statically."""
    try:
        scripts = [
            e
            for e in os.scandir(folder)
            if e.name.endswith(".py") and not e.name.startswith((".#", "__init__"))
        ]
    except FileNotFoundError:
        return {}
    known = cache.get(str(folder))
    if known is None:
        known = _load(folder)
    entries: dict[str, Entry] = {}
    for script in scripts:
        stat = script.stat()
        entry = known.get(script.name)
        if entry is None or entry[:2] != (stat.st_mtime_ns, stat.st_size):
            entry = (stat.st_mtime_ns, stat.st_size, _parse(script.path))
        entries[script.name] = entry
    cache[str(folder)] = entries
    if entries != known:
        _save(folder, entries)
    found: dict[str, Header] = {}
    for _, _, header in entries.values():
        if header is None:
            return None
        if header.revision in found:
            first, second = sorted([Path(found[header.revision].path).name, Path(header.path).name])
            raise RevisionError(
                f"Two scripts in {folder} have revision id {header.revision!r}: {first} and"
                f" {second}. Give one of them a new id (and update the down_revision of the"
                " scripts built on it), then run the command again."
            )
        found[header.revision] = header
    names = set(found) | {label for h in found.values() for label in h.branch_labels}
    if any(d not in names for h in found.values() for d in h.depends_on):
        return None  # let Alembic report the dependency no script has
    for header in found.values():
        for parent in header.down_revisions:
            if parent not in found or parent == header.revision:
                problem = "itself" if parent == header.revision else "a revision no script has"
                raise RevisionError(
                    f"{Path(header.path).name} (revision {header.revision!r}) has down_revision"
                    f" {parent!r}, {problem}. Set it to the revision the script builds on"
                    " (see `flask db history`), then run the command again."
                )
    return found


def _load(folder: Path) -> dict[str, Entry]:
    """The entries the last process saved; none when the file is missing or unreadable."""
    prefix = os.path.join(folder, "")  # joined by hand: pathlib is slow for thousands
    try:
        saved = json.loads((folder / CACHE_FILE).read_bytes())
        if saved["format"] != CACHE_FORMAT:
            return {}
        return {
            name: (
                mtime,
                size,
                None
                if saved_fields is None
                else Header(
                    saved_fields[0],
                    tuple(saved_fields[1]),
                    saved_fields[2],
                    prefix + name,
                    saved_fields[3],
                    tuple(saved_fields[4]),
                    tuple(saved_fields[5]),
                ),
            )
            for name, (mtime, size, saved_fields) in saved["scripts"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def _save(folder: Path, entries: dict[str, Entry]) -> None:
    """Best effort: a read-only folder only means the next process parses again."""
    scripts = {
        name: [
            mtime,
            size,
            None
            if h is None
            else [
                h.revision,
                list(h.down_revisions),
                h.message,
                h.doc,
                list(h.branch_labels),
                list(h.depends_on),
            ],
        ]
        for name, (mtime, size, h) in entries.items()
    }
    target = folder / CACHE_FILE
    temporary = target.with_name(f"{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(exist_ok=True)
        temporary.write_text(json.dumps({"format": CACHE_FORMAT, "scripts": scripts}))
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)


def heads(headers: dict[str, Header]) -> set[str]:
    """The revisions no other revision builds on."""
    parents = {p for h in headers.values() for p in h.down_revisions}
    return set(headers) - parents


def pending(headers: dict[str, Header], current: set[str]) -> list[Header]:
    """The revisions from ``current`` (exclusive) up to the heads, oldest first. What
    a revision depends on (``depends_on``) comes before it, as a parent does."""
    needs = _needs(headers)
    seen = _below(headers, current) | (current & headers.keys())
    order: list[Header] = []
    for head in sorted(heads(headers)):
        stack = [(head, False)]
        while stack:  # depth first, parents before children, without recursion
            revision, expanded = stack.pop()
            if expanded:
                order.append(headers[revision])
            elif revision not in seen and revision in headers:
                seen.add(revision)
                stack.append((revision, True))
                stack.extend((parent, False) for parent in reversed(needs(revision)))
    return order


def nothing_to_apply(headers: dict[str, Header], current: set[str]) -> bool:
    """Whether ``upgrade heads`` (or ``head``, when there is one) leaves a database at
    ``current`` as it is, as Alembic decides: every revision is one of ``current`` or
    below one of them (through ``down_revision`` or ``depends_on``). A version table
    that names a revision no script has, or one below another of its revisions, is
    no such database: Alembic refuses it."""
    if not current <= headers.keys():
        return False
    under = _below(headers, current)
    return not under & current and len(under | current) == len(headers)


def _below(headers: dict[str, Header], current: set[str]) -> set[str]:
    """The revisions that those of ``current`` build on or depend on, directly or not."""
    needs = _needs(headers)
    found: set[str] = set()
    stack = [parent for revision in current if revision in headers for parent in needs(revision)]
    while stack:
        revision = stack.pop()
        if revision not in found and revision in headers:
            found.add(revision)
            stack.extend(needs(revision))
    return found


def _needs(headers: dict[str, Header]) -> Callable[[str], tuple[str, ...]]:
    """What a revision needs applied before it: its parents and, by id, what it
    depends on (a branch label stands for the revision that declares it)."""
    labels = {label: h.revision for h in headers.values() for label in h.branch_labels}

    def needs(revision: str) -> tuple[str, ...]:
        header = headers[revision]
        return header.down_revisions + tuple(labels.get(d, d) for d in header.depends_on)

    return needs


def _parse(path: str) -> Header | None:
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None  # let Alembic load it and report the problem
    values = {name: value for name, (value, _) in fields(tree).items()}
    if ... in values.values():
        return None
    revision = values.get("revision")
    parents, labels, dependencies = (
        ids(values.get(name)) for name in ("down_revision", "branch_labels", "depends_on")
    )
    if not isinstance(revision, str) or parents is None or labels is None or dependencies is None:
        return None
    doc = (ast.get_docstring(tree) or "").strip()
    message = doc.split("\n\n")[0].strip()
    return Header(revision, parents, message, path, doc, labels, dependencies)


def assignments(body: Iterable[ast.stmt]) -> Iterator[tuple[str, ast.expr, ast.stmt]]:
    """Each name that a statement of ``body`` assigns, with the value and the statement:
    ``name = value``, ``a = b = value`` and the annotated ``name: str = value`` that
    Alembic's newer templates write (an annotation without a value assigns nothing)."""
    for node in body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                yield target.id, value, node


def fields(tree: ast.Module) -> dict[str, tuple[object, int]]:
    """The header fields (:data:`FIELDS`) a script assigns at module level: each one's
    value and line, the last assignment winning; ``...`` for a value that is not a
    plain literal."""
    found: dict[str, tuple[object, int]] = {}
    for name, value, node in assignments(tree.body):
        if name in FIELDS:
            try:
                found[name] = (ast.literal_eval(value), node.lineno)
            except (ValueError, TypeError):
                found[name] = (..., node.lineno)
    return found


def ids(value: object) -> tuple[str, ...] | None:
    """A header literal (``down_revision``, ``branch_labels``, ``depends_on``: None, a
    string, or a list or tuple of them) as a tuple; None when it is not one."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


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


def revision_map(headers: dict[str, Header]) -> RevisionMap:
    """Alembic's revision map of the scripts whose ``headers`` were read (no script
    imported), to resolve revision arguments (``head``, a label...) as Alembic does."""
    from alembic.script.revision import Revision, RevisionMap

    return RevisionMap(
        lambda: [
            Revision(h.revision, h.down_revisions, h.depends_on or None, h.branch_labels or None)
            for h in headers.values()
        ]
    )


SQUASHED = "squashed"  # squash keeps the files it replaced in <migrations>/squashed/<last>/


def squashed(directory: Path, revision: str) -> tuple[Path, str] | None:
    """Where ``squash`` kept the script of ``revision`` when it replaced it, and the
    revision that does the work of that range since (the last of it); None when
    ``revision`` is no squashed one."""
    for folder in sorted((directory / SQUASHED).glob("*/")):
        found = [h for h in map(_parse, sorted(map(str, folder.glob("*.py")))) if h is not None]
        mine = [h for h in found if h.revision == revision]
        parents = {p for h in found for p in h.down_revisions}
        last = [h.revision for h in found if h.revision not in parents]
        if mine and len(last) == 1 and last[0] != revision:
            return Path(mine[0].path), last[0]
    return None
