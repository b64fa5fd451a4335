"""The workflow teams document, end to end, in-process, on every database."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from apps import columns, invoke, tables
from flask import Flask

App = Callable[..., Flask]


def _revision_id(output: str) -> str:
    match = re.search(r"versions/(\w+?)_", output)
    assert match, output
    return match.group(1)


def test_init_autogenerate_upgrade_downgrade(make_app: App, tmp_path: Path) -> None:
    app = make_app()

    result = invoke(app, "init")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "migrations"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README",
        "alembic.ini",
        "env.py",
        "script.py.mako",
        "versions",
    ]

    result = invoke(app, "revision", "--autogenerate", "-m", "Initial baseline")
    assert result.exit_code == 0, result.output
    first = _revision_id(result.output)
    result = invoke(app, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"<base> -> {first}" in result.output
    assert "Initial baseline" in result.output
    assert "1 revision applied" in result.output
    assert tables(app) == {"alembic_version", "spans"}

    # The model gains a column; autogenerate writes the revision for it.
    app = make_app(columns={"arn": sa.Column(sa.String(200))})
    result = invoke(app, "revision", "--autogenerate", "-m", "Add arn column to spans table")
    assert result.exit_code == 0, result.output
    second = _revision_id(result.output)
    [script] = (folder / "versions").glob(f"{second}_*.py")
    text = script.read_text()
    assert text.startswith('"""Add arn column to spans table\n')
    assert f"Revision ID: {second}\n" in text
    assert f"Revises: {first}\n" in text
    assert re.search(r"^Create Date: \d{4}-\d\d-\d\d ", text, re.MULTILINE)
    assert f"revision = '{second}'" in text
    assert f"down_revision = '{first}'" in text
    assert "branch_labels = None" in text and "depends_on = None" in text
    upgrade, downgrade = text.split("def downgrade():")
    assert re.search(
        r"add_column\((?:'spans', )?sa\.Column\('arn', sa\.String\(length=200\)", upgrade
    )
    assert re.search(r"drop_column\((?:'spans', )?'arn'\)", downgrade)

    result = invoke(app, "upgrade")
    assert result.exit_code == 0, result.output
    assert "arn" in columns(app, "spans")

    result = invoke(app, "current")
    assert result.output.strip() == f"{second} (head)"
    result = invoke(app, "history")
    assert result.output.splitlines() == [
        f"{first} -> {second} (head), Add arn column to spans table",
        f"<base> -> {first}, Initial baseline",
    ]

    result = invoke(app, "downgrade", "-1")
    assert result.exit_code == 0, result.output
    assert "1 revision reverted" in result.output
    assert "arn" not in columns(app, "spans")
    result = invoke(app, "status")
    assert result.exit_code == 1
    assert f"Current:  {first}" in result.output
    assert f"  {second}  Add arn column to spans table" in result.output
    report = json.loads(invoke(app, "status", "--json").output)
    assert report["up_to_date"] is False
    [status] = report["databases"]
    assert status["target"] == "default"
    assert status["current"] == [first]
    assert status["pending"] == [{"revision": second, "message": "Add arn column to spans table"}]
    assert status["up_to_date"] is False

    result = invoke(app, "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert tables(app) == {"alembic_version"}
    assert invoke(app, "current", "--bare").output == ""

    result = invoke(app, "upgrade", "head")
    assert result.exit_code == 0, result.output
    assert "2 revisions applied" in result.output
    assert "arn" in columns(app, "spans")
    assert invoke(app, "status").exit_code == 0


def test_autogenerate_without_changes_writes_nothing(make_app: App, tmp_path: Path) -> None:
    app = make_app()
    invoke(app, "init")
    invoke(app, "revision", "--autogenerate", "-m", "Initial baseline")
    invoke(app, "upgrade")
    versions = tmp_path / "migrations" / "versions"
    before = sorted(versions.iterdir())
    for _ in range(2):  # the same process, twice
        result = invoke(app, "revision", "--autogenerate", "-m", "nothing")
        assert result.exit_code == 0, result.output
        assert "No changes detected" in result.output
        assert sorted(versions.iterdir()) == before
    # A plain revision is still written even though it is empty.
    result = invoke(app, "revision", "-m", "hand written")
    assert result.exit_code == 0, result.output
    assert len(list(versions.glob("*_hand_written.py"))) == 1


def test_relative_revisions_as_typed(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    ids = []
    for n in range(3):
        result = invoke(app, "revision", "-m", f"step {n}")
        ids.append(_revision_id(result.output))

    assert invoke(app, "upgrade", "+2").exit_code == 0
    assert invoke(app, "current", "--bare").output.split() == [ids[1]]
    assert invoke(app, "downgrade", "-1").exit_code == 0
    assert invoke(app, "current", "--bare").output.split() == [ids[0]]
    assert invoke(app, "upgrade", "--sql", f"{ids[0]}:{ids[2]}").exit_code == 0
    assert invoke(app, "downgrade", "-1", "-x", "k=v").exit_code == 0
    assert invoke(app, "current", "--bare").output == ""

    # `history -r "$(flask db current --bare):head"` works at base and at a revision.
    result = invoke(app, "history", "-r", ":head")
    assert len(result.output.splitlines()) == 3
    invoke(app, "upgrade", ids[1])
    current = invoke(app, "current", "--bare").output.strip()
    result = invoke(app, "history", "-r", f"{current}:head")
    assert [line.split(",")[0] for line in result.output.splitlines()] == [
        f"{ids[1]} -> {ids[2]} (head)",
        f"{ids[0]} -> {ids[1]}",
    ]
    result = invoke(app, "history", "-r", "current:head", "-i")
    assert f"{ids[0]} -> {ids[1]} (current)" in result.output


def test_x_arguments_and_tag_reach_env_py_when_the_database_is_at_head(
    make_app: App, another_database: Callable[[str], str]
) -> None:
    """An env.py that picks its database from ``-x`` or ``--tag`` (one schema or
    database per tenant) must run even when the app's own database is at head."""
    app = make_app()
    invoke(app, "init")
    head = _revision_id(invoke(app, "revision", "-m", "one").output)
    env = Path(app.root_path, "migrations", "env.py")
    text = env.read_text(encoding="utf-8")
    text = text.replace(
        "targets = environment.targets(app)\n",
        "targets = environment.targets(app)\n"
        "import dataclasses, sqlalchemy\n"
        "from alembic import context\n"
        "_url = context.get_x_argument(as_dictionary=True).get('url')\n"
        "_url = _url or context.get_tag_argument()\n"
        "if _url:\n"
        "    targets = [dataclasses.replace(targets[0], engine=sqlalchemy.create_engine(_url))]\n",
    )
    env.write_text(text, encoding="utf-8")
    assert invoke(app, "upgrade").exit_code == 0
    for how in ("x", "tag"):
        url = another_database(f"tenant_{how}")
        given = ["-x", f"url={url}"] if how == "x" else ["--tag", url]
        result = invoke(app, "upgrade", *given)
        assert result.exit_code == 0, result.output
        assert f"the database is now at {head}." in result.output  # the one env.py moved
        engine = sa.create_engine(url)
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        engine.dispose()
    result = invoke(app, "stamp", "--purge", "base")
    assert f" {head} -> <base> " in result.output, result.output
    assert "1 revision stamped in " in result.output and "now at <base>." in result.output
    # The report is about the database env.py moved, not the app's (left at base).
    result = invoke(app, "upgrade", "-x", f"url={another_database('tenant_3')}")
    assert "1 revision applied in" in result.output and f"now at {head}." in result.output


def test_current_and_status_report_the_database_env_py_picks_from_x(
    make_app: App, another_database: Callable[[str], str]
) -> None:
    """A multi-tenant env.py picks the tenant's database from ``-x tenant=NAME``:
    ``current -x`` and ``status -x`` report that database, not the app's."""
    tenants = {name: another_database(f"tenant_{name}") for name in ("a", "b")}
    app = make_app(config={"TENANTS": tenants}, audit_table="schemaops_audit")
    invoke(app, "init")
    first = _revision_id(invoke(app, "revision", "-m", "one").output)
    second = _revision_id(invoke(app, "revision", "-m", "two").output)
    _pick_tenant_from_x(app)
    assert invoke(app, "upgrade").exit_code == 0  # the app's own database: at head
    result = invoke(app, "upgrade", first, "-x", "tenant=a")
    assert result.exit_code == 0, result.output
    assert f"the database is now at {first}." in result.output

    assert invoke(app, "current").output == f"{second} (head)\n"
    assert invoke(app, "current", "-x", "tenant=a").output == f"{first}\n"
    group_option = app.test_cli_runner().invoke(args=["db", "-x", "tenant=a", "current", "--bare"])
    assert group_option.output == f"{first}\n"
    assert invoke(app, "current", "-x", "tenant=b").output == ""
    shown = sa.make_url(tenants["a"]).render_as_string(hide_password=True)
    result = invoke(app, "current", "-v", "-x", "tenant=a")
    assert result.output.startswith(f"Current revision(s) for {shown}:\nRev: {first}\n")

    for tenant, now, pending in (("a", first, [second]), ("b", "<base>", [first, second])):
        result = invoke(app, "status", "-x", f"tenant={tenant}")
        assert result.exit_code == 1, result.output
        shown = sa.make_url(tenants[tenant]).render_as_string(hide_password=True)
        assert result.output == (
            f"Database: {shown}\nCurrent:  {now}\nHeads:    {second}\n"
            f"Pending:  {len(pending)} revision(s)\n"
            + "".join(f"  {r}  {'one' if r == first else 'two'}\n" for r in pending)
        )
    report = json.loads(invoke(app, "status", "--json", "-x", "tenant=a").output)
    assert report["databases"][0]["current"] == [first]
    assert invoke(app, "status").exit_code == 0  # the app's own database, at head
    # Reading a tenant's revision creates nothing there: no version or audit table.
    engine = sa.create_engine(tenants["b"])
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_a_run_given_x_runs_env_py_once_and_reports_the_tenant(
    make_app: App, another_database: Callable[[str], str]
) -> None:
    """``upgrade``, ``stamp`` and ``downgrade`` given ``-x`` run env.py once: the run
    itself says where the tenant's database stood and stands, not the app's."""
    tenants = {"a": another_database("tenant_a")}
    app = make_app(config={"TENANTS": tenants})
    invoke(app, "init")
    first = _revision_id(invoke(app, "revision", "-m", "one").output)
    second = _revision_id(invoke(app, "revision", "-m", "two").output)
    _pick_tenant_from_x(app)
    env = Path(app.root_path, "migrations", "env.py")
    runs = Path(app.root_path, "env-runs")
    env.write_text(f"open({str(runs)!r}, 'a').write('run\\n')\n{env.read_text()}")
    assert invoke(app, "upgrade", first).exit_code == 0  # the app's own database

    def run(*args: str) -> tuple[str, int]:
        runs.unlink(missing_ok=True)
        result = invoke(app, *args, "-x", "tenant=a")
        assert result.exit_code == 0, result.output
        return result.output, len(runs.read_text().splitlines())

    # The app's own database stays at the first revision: the reports are the tenant's.
    output, count = run("stamp", first)
    assert count == 1 and f" <base> -> {first} " in output and f"now at {first}." in output
    output, count = run("upgrade")
    assert count == 1 and f" {first} -> {second} " in output and f"now at {second}." in output
    output, count = run("upgrade")
    assert (output, count) == (f"Nothing to do: the database is already at {second}.\n", 1)
    output, count = run("downgrade", first)  # its data-loss preview reads the tenant first
    assert count == 2 and f" {second} -> {first} " in output and f"now at {first}." in output
    assert invoke(app, "current", "--bare").output == f"{first}\n"


def _pick_tenant_from_x(app: Flask) -> None:
    """Make the app's env.py work on ``app.config["TENANTS"][NAME]`` given ``-x
    tenant=NAME``, as a multi-tenant project's does."""
    env = Path(app.root_path, "migrations", "env.py")
    env.write_text(
        env.read_text(encoding="utf-8").replace(
            "targets = environment.targets(app)\n",
            "targets = environment.targets(app)\n"
            "import dataclasses, sqlalchemy\n"
            "from alembic import context\n"
            "_tenant = context.get_x_argument(as_dictionary=True).get('tenant')\n"
            "if _tenant:\n"
            "    _url = app.config['TENANTS'][_tenant]\n"
            "    _engine = sqlalchemy.create_engine(_url, poolclass=sqlalchemy.pool.NullPool)\n"
            "    targets = [dataclasses.replace(targets[0], engine=_engine)]\n",
        ),
        encoding="utf-8",
    )


def test_downgrade_with_x_asks_before_dropping_what_it_cannot_count(
    make_app: App, another_database: Callable[[str], str]
) -> None:
    """The data-loss preview cannot count rows in the database env.py picks from -x:
    it asks, where it used to count the app's own (empty) table and go ahead."""
    tenants = {"a": another_database("tenant_a")}
    app = make_app(config={"TENANTS": tenants})
    invoke(app, "init")
    revision = _revision_id(invoke(app, "revision", "-m", "items").output)
    script = next(Path(app.root_path, "migrations", "versions").glob(f"{revision}_*.py"))
    script.write_text(
        script.read_text(encoding="utf-8")
        .replace(
            "def upgrade():\n",
            "def upgrade():\n"
            "    op.create_table('items', sa.Column('id', sa.Integer, primary_key=True))\n",
        )
        .replace(
            "def downgrade():\n",
            "def downgrade():\n    op.drop_table('items')\n",
        ),
        encoding="utf-8",
    )
    _pick_tenant_from_x(app)
    assert invoke(app, "upgrade").exit_code == 0  # the app's own items: empty
    assert invoke(app, "upgrade", "-x", "tenant=a").exit_code == 0
    tenant = sa.create_engine(tenants["a"])
    with tenant.begin() as connection:
        connection.execute(sa.text("INSERT INTO items (id) VALUES (1), (2)"))

    result = invoke(app, "downgrade", "base", "-x", "tenant=a")
    assert result.exit_code != 0
    assert (
        "This downgrade drops data:\n  table items: in the database env.py picks from -x or"
        f" --tag, so its data could not be counted (revision {revision}, "
    ) in result.output
    with tenant.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM items")).scalar() == 2

    result = invoke(app, "downgrade", "base", "-x", "tenant=a", "--yes")
    assert result.exit_code == 0, result.output
    assert "items" not in sa.inspect(tenant).get_table_names()
    tenant.dispose()
    assert invoke(app, "current").output == f"{revision} (head)\n"  # the app's, untouched


def test_inspection_commands(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    base = _revision_id(invoke(app, "revision", "-m", "base").output)
    left = _revision_id(invoke(app, "revision", "-m", "left", "--branch-label", "left").output)
    right = _revision_id(invoke(app, "revision", "-m", "right", "--head", base, "--splice").output)

    assert sorted(invoke(app, "heads").output.split("\n")[:2]) == sorted(
        [f"{left} (left) (head)", f"{right} (head)"]
    )
    # As Alembic prints them: the branch point, then each revision that follows it.
    first, *after, blank = invoke(app, "branches").output.split("\n")[:-1]
    assert first == f"{base} (branchpoint)" and blank == ""
    indent = " " * len(base)
    assert sorted(after) == sorted(
        [f"{indent} -> {left} (left) (head)", f"{indent} -> {right} (head)"]
    )
    shown = invoke(app, "show", left).output
    assert shown.startswith(f"Rev: {left} (head)\nParent: {base}\nBranch names: left\n")
    shown = invoke(app, "show", base).output
    branches = ", ".join(sorted([left, right]))
    assert shown.startswith(
        f"Rev: {base} (branchpoint)\nParent: <base>\nBranches into: {branches}\n"
    )

    result = invoke(app, "merge", "-m", "join")
    assert result.exit_code == 0, result.output
    merged = _revision_id(result.output)
    assert invoke(app, "heads").output == f"{merged} (left) (head)\n"
    history = invoke(app, "history").output
    assert f" -> {merged} (left) (head) (mergepoint), join\n" in history
    assert invoke(app, "upgrade").exit_code == 0

    # A head that another revision depends on is an "effective head", as Alembic says.
    other = ("revision", "-m", "other", "--head", "base", "--depends-on", merged)
    result = invoke(app, *other, "--branch-label", "other")
    assert result.exit_code == 0, result.output
    depends = _revision_id(result.output)
    assert sorted(invoke(app, "heads").output.splitlines()) == sorted(
        [f"{merged} (left) (effective head)", f"{depends} (other) (head)"]
    )
    history = invoke(app, "history").output
    assert f" -> {merged} (left) (effective head) (mergepoint), join\n" in history
    assert f"<base> ({merged}) -> {depends} (other) (head), other\n" in history
    assert invoke(app, "current").output == f"{merged} (effective head) (mergepoint)\n"
    assert invoke(app, "show", merged).output.startswith(f"Rev: {merged} (head) (mergepoint)\n")
    assert invoke(app, "upgrade", "heads").exit_code == 0
    assert sorted(invoke(app, "current").output.splitlines()) == sorted(
        [f"{merged} (effective head) (mergepoint)", f"{depends} (head)"]
    )

    assert invoke(app, "check").exit_code == 1  # the model has no revision yet
    assert invoke(app, "stamp", "base").exit_code == 0
    assert invoke(app, "current", "--bare").output == ""
    result = invoke(app, "stamp", right)
    assert "the database is now at " + right in result.output
    assert invoke(app, "ensure-version").exit_code == 0
    assert invoke(app, "list-templates").output.startswith("flask ")


def test_history_marks_the_current_revision_only_when_asked(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    for rev in ("r0", "r1", "r2"):
        assert invoke(app, "revision", "-m", f"step {rev}", "--rev-id", rev).exit_code == 0
    assert invoke(app, "upgrade", "r1").exit_code == 0
    # As Alembic prints it: "(current)" only with -i, whatever the range.
    expected = "r1 -> r2 (head), step r2\nr0 -> r1, step r1\n"
    assert invoke(app, "history", "-r", "current:").output == expected
    assert invoke(app, "history", "-r", "current:", "-i").output == expected.replace(
        "r1, step", "r1 (current), step"
    )
    assert "(current)" not in invoke(app, "history", "-r", ":current").output
    assert "(current)" not in invoke(app, "history").output


def test_check_passes_when_revisions_cover_the_models(make_app: App) -> None:
    app = make_app()
    invoke(app, "init")
    invoke(app, "revision", "--autogenerate", "-m", "Initial baseline")
    invoke(app, "upgrade")
    result = invoke(app, "check")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output

    app = make_app(columns={"arn": sa.Column(sa.String(200))})
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert "add_column spans.arn" in result.output


def test_edit_opens_the_revision_in_the_editor(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    invoke(app, "init")
    first = _revision_id(invoke(app, "revision", "-m", "one").output)
    second = _revision_id(invoke(app, "revision", "-m", "two").output)
    invoke(app, "upgrade", first)
    appender = "import sys; open(sys.argv[1], 'a').write('# edited\\n')"
    monkeypatch.setenv("EDITOR", f'{sys.executable} -c "{appender}"')
    monkeypatch.delenv("VISUAL", raising=False)

    assert invoke(app, "edit").exit_code == 0
    assert invoke(app, "edit", "current").exit_code == 0
    versions = tmp_path / "migrations" / "versions"
    [one] = versions.glob(f"{first}_*.py")
    [two] = versions.glob(f"{second}_*.py")
    assert one.read_text().endswith("# edited\n")
    assert two.read_text().endswith("# edited\n")
