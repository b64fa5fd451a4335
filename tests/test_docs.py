"""The docs do not lie: the quickstart's commands run as written, and the site
builds without a warning, listing every command, option and setting."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from apps import execute
from docblocks import run_quickstart, shell_environ
from flask import Flask

from flask_schemaops.cli import db as command_group
from flask_schemaops.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)
def test_quickstart_commands_run_as_written(
    dialect: str, database_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    bin_directory = Path(sys.executable).parent
    if dialect == "sqlite":
        # As the page says: no DATABASE_URL, a SQLite file in the instance folder.
        env = shell_environ(bin_directory)
        url = f"sqlite:///{project / 'instance' / 'shop.db'}"
    else:
        env = shell_environ(bin_directory, DATABASE_URL=database_url)
        url = database_url
    ran = run_quickstart(project, env, url)
    assert ran[0] == "quickstart-app" and ran[-1] == "quickstart-back-to-head"


# --- The site ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML site, built as CI builds it: warnings are errors."""
    pytest.importorskip("sphinx_click")
    pytest.importorskip("furo")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", DOCS, out],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return out


def test_command_reference_lists_every_command_and_option(site: Path) -> None:
    page = (site / "commands.html").read_text(encoding="utf-8")
    programs = [("flask db", command_group)] + [
        (f"flask db {name}", c) for name, c in command_group.commands.items() if not c.hidden
    ]
    assert len(programs) > 15
    for program, command in programs:
        anchor = program.replace(" ", "-")
        assert f'id="{anchor}"' in page, f"{program} has no section"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts + param.secondary_opts:
                    assert f'id="cmdoption-{anchor}-{opt.lstrip("-")}"' in page, (
                        f"{program} {opt} is not listed"
                    )


def test_configuration_reference_lists_every_setting(site: Path) -> None:
    page = (site / "configuration.html").read_text(encoding="utf-8")
    for key, field in Settings.keys().items():
        assert f'id="confval-{key}"' in page, key
        assert f"SchemaOps({field.name}=...)" in page, field.name


def test_version_is_the_package_version(site: Path) -> None:
    import flask_schemaops

    index = (site / "index.html").read_text(encoding="utf-8")
    assert f"flask-schemaops {flask_schemaops.__version__}" in index


# --- Error messages the pages quote ------------------------------------------------------


def _quoted(page: str, start: str) -> list[str]:
    """Each literal block of ``docs/page`` whose text starts with ``start``, its lines
    joined by single spaces."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.startswith(f"    {start}"):
            block = [line]
            for after in lines[index + 1 :]:
                if not after.startswith("    "):
                    break
                block.append(after)
            found.append(" ".join(" ".join(block).split()))
    return found


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_quoted_autogenerate_errors_are_the_ones_printed(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Path
) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "init"]).exit_code == 0
    assert runner.invoke(args=["db", "revision", "--autogenerate", "-m", "a"]).exit_code == 0
    result = runner.invoke(args=["db", "revision", "--autogenerate", "-m", "b"])
    assert result.exit_code == 1
    printed = " ".join(result.stderr.split())
    for page in ("autogenerate.rst", "troubleshooting.rst"):
        assert _quoted(page, "Error: The database is not at the head revision") == [printed]

    # The models of the app, in a module nobody imports; the table is the pages' product.
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    execute(app, "ALTER TABLE spans RENAME TO product")
    bare = make_app(url=None, config={"SQLALCHEMY_DATABASE_URI": database_url})
    result = bare.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 1
    printed = " ".join(result.stderr.split())
    for page in ("autogenerate.rst", "troubleshooting.rst"):
        assert _quoted(page, "Error: The models declare no table") == [printed]
