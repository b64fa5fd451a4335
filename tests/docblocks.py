"""Run the code blocks of a docs page that are marked for testing.

A block is tested when it has ``:class: tested``:

- a ``shell`` block runs line by line in bash. Each line must exit 0, or the
  status its comment names (``flask db status  # exits 1: ...``). Exported
  variables carry over to the next block.
- a ``python`` block with a ``:caption:`` is written to that file.

Blocks are read with a regular expression, not docutils, because the pages use
Sphinx directives that docutils alone does not know.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

QUICKSTART = Path(__file__).resolve().parent.parent / "docs" / "quickstart.rst"

_DIRECTIVE = re.compile(r"^\.\. code-block:: (\w+)\n((?:    :[\w-]+:.*\n)*)\n", re.MULTILINE)
_EXITS = re.compile(r"#\s*exits (\d+)")


@dataclass(frozen=True)
class Block:
    language: str
    options: dict[str, str]
    code: str

    @property
    def name(self) -> str:
        return self.options.get("name", "")

    @property
    def tested(self) -> bool:
        return "tested" in self.options.get("class", "").split()

    def commands(self) -> list[tuple[str, int]]:
        """The shell lines with the exit status each must end with."""
        found = []
        for line in self.code.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                expected = _EXITS.search(line)
                found.append((line, int(expected.group(1)) if expected else 0))
        return found


def blocks(page: Path) -> list[Block]:
    """Every ``code-block`` of ``page``, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _DIRECTIVE.finditer(text):
        options = dict(
            re.match(r"\s*:([\w-]+):\s*(.*)", line).groups()  # type: ignore[union-attr]
            for line in match.group(2).splitlines()
        )
        body = []
        for line in text[match.end() :].splitlines():
            if line and not line.startswith("    "):
                break
            body.append(line[4:])
        found.append(Block(match.group(1), options, "\n".join(body).strip("\n") + "\n"))
    return found


@dataclass
class Outcome:
    block: Block
    output: str  # stdout and stderr of the block's commands


@dataclass
class Runner:
    """Runs tested blocks in ``cwd`` with ``env``, keeping exported variables."""

    cwd: Path
    env: dict[str, str]
    state: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state = self.cwd / ".docs-shell-state"

    def run(self, page: Path) -> Iterator[Outcome]:
        """Run the tested blocks of ``page`` in order, yielding after each one."""
        tested = [b for b in blocks(page) if b.tested]
        assert tested, f"{page} has no block marked `:class: tested`"
        for block in tested:
            if block.language == "python":
                caption = block.options.get("caption")
                assert caption, f"tested python block {block.name!r} needs a :caption: file name"
                (self.cwd / caption).write_text(block.code, encoding="utf-8")
                yield Outcome(block, "")
            elif block.language == "shell":
                yield Outcome(block, self._shell(block))
            else:
                raise AssertionError(f"cannot test a {block.language!r} block ({block.name})")

    def _shell(self, block: Block) -> str:
        state = shlex.quote(str(self.state))
        lines = ["exec 2>&1", f"[ -f {state} ] && . {state}"]
        for command, expected in block.commands():
            lines += [
                f"printf '$ %s\\n' {shlex.quote(command)}",
                command,
                "status=$?",
                f'if [ "$status" -ne {expected} ]; then'
                f' echo "^ exited $status, not {expected}"; exit 99; fi',
            ]
        lines.append(f"export -p > {state}")
        result = subprocess.run(
            ["bash", "-c", "\n".join(lines)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        output = result.stdout
        assert result.returncode == 0, f"block {block.name!r} failed:\n{output}"
        assert "Traceback" not in output, output
        return output


# --- docs/quickstart.rst ---------------------------------------------------------


def shell_environ(bin_directory: Path, **extra: str) -> dict[str, str]:
    """This environment without anything that steers Flask, with ``bin_directory``
    first on PATH (where ``flask`` is found)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "SCHEMAOPS_")) and key != "DATABASE_URL"
    }
    env["PATH"] = os.pathsep.join([str(bin_directory), env.get("PATH", "")])
    env.update(extra)
    return env


def _schema(url: str) -> dict[str, set[str]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def run_quickstart(project: Path, env: dict[str, str], url: str) -> list[str]:
    """Run docs/quickstart.rst's tested blocks in ``project``, checking what each one
    should have done to the files and to the database at ``url``; return the names
    of the blocks that ran."""
    versions = project / "migrations" / "versions"
    revisions: dict[str, str] = {}

    def new_revision(slug: str) -> tuple[str, str]:
        [path] = versions.glob(f"*_{slug}.py")
        text = path.read_text(encoding="utf-8")
        found = re.search(r"^Revision ID: (\w+)$", text, re.MULTILINE)
        assert found, text
        return found.group(1), text

    def init(outcome: Outcome) -> None:
        for name in ("env.py", "alembic.ini", "script.py.mako", "README", "versions"):
            assert (project / "migrations" / name).exists(), name

    def baseline(outcome: Outcome) -> None:
        revisions["baseline"], text = new_revision("initial_baseline")
        assert "op.create_table('product'" in text, text

    def upgrade(outcome: Outcome) -> None:
        assert "1 revision applied" in outcome.output, outcome.output
        assert "Up to date." in outcome.output, outcome.output
        assert _schema(url) == {"alembic_version": {"version_num"}, "product": {"id", "name"}}

    def revision(outcome: Outcome) -> None:
        revisions["stock"], text = new_revision("add_stock_to_products")
        assert re.search(r"add_column\(.*sa\.Column\('stock'.*server_default='0'", text), text
        assert re.search(r"drop_column\(.*'stock'\)", text), text

    def review(outcome: Outcome) -> None:
        assert f"Rev: {revisions['stock']} (head)" in outcome.output, outcome.output
        sql = outcome.output.split("--sql")[1]
        assert re.search(r"ALTER TABLE product ADD (COLUMN )?stock INTEGER", sql), sql
        assert "stock" not in _schema(url)["product"]  # --sql touches nothing

    def apply(outcome: Outcome) -> None:
        assert "stock" in _schema(url)["product"]
        assert f"{revisions['stock']} (head)" in outcome.output, outcome.output
        assert f"{revisions['baseline']} -> {revisions['stock']} (head)" in outcome.output
        assert "No changes: the revisions cover the models." in outcome.output

    def downgrade(outcome: Outcome) -> None:
        assert "stock" not in _schema(url)["product"]
        assert "Pending:  1 revision(s)" in outcome.output, outcome.output
        history = outcome.output.split("history -r")[1]
        assert f"{revisions['baseline']} -> {revisions['stock']} (head)" in history, history

    def back_to_head(outcome: Outcome) -> None:
        assert "stock" in _schema(url)["product"]

    checks: dict[str, Callable[[Outcome], None]] = {
        "quickstart-init": init,
        "quickstart-baseline": baseline,
        "quickstart-upgrade": upgrade,
        "quickstart-revision": revision,
        "quickstart-review": review,
        "quickstart-apply": apply,
        "quickstart-downgrade": downgrade,
        "quickstart-back-to-head": back_to_head,
    }
    ran = []
    for outcome in Runner(project, env).run(QUICKSTART):
        ran.append(outcome.block.name)
        if outcome.block.name in checks:
            checks[outcome.block.name](outcome)
    missing = set(checks) - set(ran)
    assert not missing, f"blocks renamed or gone from {QUICKSTART.name}: {sorted(missing)}"
    return ran
