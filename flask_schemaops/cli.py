"""The ``flask db`` command group: options, printing and exit codes only.

Heavy modules (Alembic, SQLAlchemy, the API) are imported inside the commands,
so ``flask --help`` and unrelated commands stay fast.
"""

from __future__ import annotations

import atexit
import functools
import gc
import json
import re
import shlex
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup, ScriptInfo

if TYPE_CHECKING:
    from .results import Baseline, Branch, Revision, Run, Status, Step

OPTIONS_KEY = "schemaops.options"


@dataclass(frozen=True)
class Options:
    """The group's options, merged with a command's own ``-d`` and ``-x``."""

    directory: str | None
    x_args: tuple[str, ...]
    verbosity: int
    traceback: bool
    binds: tuple[str, ...] = ()

    @property
    def where(self) -> dict[str, Any]:
        """The API arguments that say which migrations and databases to work on."""
        return {"directory": self.directory, "binds": self.binds or None}

    def say(self, message: str = "", **style: Any) -> None:
        if self.verbosity >= 0:
            _echo(message, **style)


def _with_group(text: str, group: str) -> str:
    """``text`` with the `flask db` of its hints naming the command group ``group``
    (``Migrate(command=...)``, SCHEMAOPS_COMMAND)."""
    return text if group == "db" else re.sub(r"\bflask db\b", f"flask {group}", text)


def _echo(message: str = "", **style: Any) -> None:
    """Print text for people (a report, a hint, an error) with `flask db` as typed."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.command is not db:
        ctx = ctx.parent
    group = ctx.info_name if ctx is not None and ctx.info_name else "db"
    click.secho(_with_group(message, group), **style)


class RevisionCommand(click.Command):
    """A command whose revision argument may be relative, as in ``downgrade -1``.

    click would read ``-1`` as an unknown option; here a token of the form ``-N``
    that is not the value of an option is moved behind ``--``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag and not param.count
            for name in param.opts
        }
        kept: list[str] = []
        relative: list[str] = []
        for token in args:
            if re.fullmatch(r"-\d+", token) and not (kept and kept[-1] in takes_value):
                relative.append(token)
            else:
                kept.append(token)
        if relative:
            kept = [*kept, "--", *relative] if "--" not in kept else [*kept, *relative]
        return super().parse_args(ctx, kept)


@click.group(cls=AppGroup)
@click.option("-d", "--directory", help="The migrations directory (default: SCHEMAOPS_DIRECTORY).")
@click.option(
    "-x",
    "--x-arg",
    "x_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="An argument for env.py; repeatable.",
)
@click.option("-q", "--quiet", count=True, help="Print only results and errors.")
@click.option("-v", "--verbose", count=True, help="Also show Alembic's log; -vv for debug.")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def db(
    ctx: click.Context,
    directory: str | None,
    x_args: tuple[str, ...],
    quiet: int,
    verbose: int,
    traceback: bool,
) -> None:
    """Database migrations with Alembic (flask-schemaops)."""
    # The app and its models are loaded and stay for the whole command: spare every
    # garbage collection during the command a scan of them (a full one costs about
    # 50 ms for an app of 200 models). They become collectable again afterwards,
    # for callers that go on in the same process. At interpreter exit they are
    # frozen again, so the final collection, some 200 ms for such an app, skips
    # them: the process ends as soon as the command is done.
    gc.freeze()
    ctx.call_on_close(gc.unfreeze)
    atexit.unregister(gc.freeze)  # once per process, however many commands run
    atexit.register(gc.freeze)
    ctx.meta[OPTIONS_KEY] = Options(directory, x_args, verbose - quiet, traceback)
    ctx.call_on_close(_api().configure_logging(verbose - quiet))
    if verbose - quiet < 1:  # a Python warning (e.g. Alembic's) as one line, without its source
        formatted = warnings.formatwarning
        warnings.formatwarning = _format_warning
        ctx.call_on_close(lambda: setattr(warnings, "formatwarning", formatted))


def _format_warning(message: Warning | str, *_: Any, **__: Any) -> str:
    return f"Warning: {message}\n"


def command(
    name: str | None = None,
    *,
    x_args: bool = False,
    relative: bool = False,
    binds: bool = True,
    error_code: int = 1,
) -> Callable[[Callable[..., Any]], click.Command]:
    """Register a subcommand of ``db`` with ``-d``, ``--bind`` (and ``-x``), and error
    reporting."""

    def decorate(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def run(
            directory: str | None,
            extra: tuple[str, ...] = (),
            bind: tuple[str, ...] = (),
            **kwargs: Any,
        ) -> Any:
            group = click.get_current_context().meta[OPTIONS_KEY]
            options = Options(
                directory or group.directory,
                group.x_args + extra,
                group.verbosity,
                group.traceback,
                bind,
            )
            with _reporting(options, error_code):
                return function(options, **kwargs)

        if x_args:
            run = click.option(
                "-x",
                "--x-arg",
                "extra",
                multiple=True,
                metavar="KEY=VALUE",
                help="An argument for env.py.",
            )(run)
        if binds:
            run = click.option(
                "--bind",
                multiple=True,
                metavar="NAME",
                help="Only this database: `default` or a SQLALCHEMY_BINDS key; repeatable.",
            )(run)
        run = click.option("-d", "--directory", help="The migrations directory.")(run)
        cls = RevisionCommand if relative else click.Command
        return db.command(name, cls=cls)(run)

    return decorate


@contextmanager
def _reporting(options: Options, error_code: int) -> Iterator[None]:
    from .errors import SchemaOpsError

    try:
        yield
    except SchemaOpsError as exc:
        if options.traceback:  # the same exit status: scripts read it
            click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
        else:
            _echo(f"Error: {exc}", fg="red", err=True)
        sys.exit(error_code)


def _api() -> Any:
    from . import api

    return api


# --- Formatting ----------------------------------------------------------------------
# Revisions print as Alembic prints them, marker for marker: scripts parse this output
# (`flask db current | grep -q '(head)'`).


def _short(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "<base>"


def _marks(*marks: tuple[str, bool]) -> str:
    return "".join(f" ({mark})" for mark, on in marks if on)


def _line(
    revision: Revision,
    *,
    labels: bool = True,
    tree: bool = True,
    parents: bool = False,
    doc: bool = False,
) -> str:
    """One revision on one line: with its branch ``labels``, the ``tree`` markers
    (branchpoint, mergepoint), the revisions it follows (``parents``) and its message
    (``doc``), each where the Alembic command prints them."""
    text = revision.revision
    if parents:
        also = f" ({', '.join(revision.depends_on)})" if revision.depends_on else ""
        text = f"{_short(revision.down_revisions)}{also} -> {text}"
    if labels and revision.branch_labels:
        text += f" ({', '.join(revision.branch_labels)})"
    text += _marks(
        ("head", revision.is_head and not revision.is_effective_head),
        ("effective head", revision.is_effective_head),
        ("current", revision.is_current),
    )
    if tree:
        text += _marks(
            ("branchpoint", revision.is_branch_point), ("mergepoint", revision.is_merge_point)
        )
    return f"{text}, {revision.message}" if doc else text


def _history_line(revision: Revision) -> str:
    return _line(revision, parents=True, doc=True)


def _heads_line(revision: Revision) -> str:
    return _line(revision, tree=False)


def _current_line(revision: Revision) -> str:
    return _line(revision, labels=False)


def _block(revision: Revision) -> str:
    """A revision in full, as ``show`` and the ``-v`` options print it (``(head)``
    here for an effective head too, as Alembic prints it)."""
    lines = [
        f"Rev: {revision.revision}"
        + _marks(
            ("head", revision.is_head),
            ("branchpoint", revision.is_branch_point),
            ("mergepoint", revision.is_merge_point),
            ("current", revision.is_current),
        ),
        f"{'Merges' if revision.is_merge_point else 'Parent'}: {_short(revision.down_revisions)}",
    ]
    if revision.depends_on:
        lines.append(f"Also depends on: {', '.join(revision.depends_on)}")
    if revision.is_branch_point:
        lines.append(f"Branches into: {', '.join(revision.next_revisions)}")
    if revision.branch_labels:
        lines.append(f"Branch names: {', '.join(revision.branch_labels)}")
    lines += [f"Path: {revision.path}", ""]
    lines += [f"    {line}" for line in revision.doc.splitlines()]
    return "\n".join(lines) + "\n"


def _print_revisions(
    revisions: list[Revision],
    verbose: bool,
    line: Callable[[Revision], str] = _history_line,
) -> None:
    several = len({r.target for r in revisions}) > 1
    for revision in revisions:
        text = _block(revision) if verbose else line(revision)
        click.echo(_label(revision.target, several) + text)


def _print_branches(branches: list[Branch], verbose: bool) -> None:
    """Each branch point, then a line for each revision that follows it."""
    several = len({b.point.target for b in branches}) > 1
    for branch in branches:
        point = branch.point
        label = _label(point.target, several)
        indent = " " * len(label + point.revision)
        text = _block(point) if verbose else _line(point)
        lines = [f"{indent} -> {_line(child, doc=verbose)}" for child in branch.into]
        click.echo(f"{label}{text}\n" + "\n".join(lines) + "\n")


def _print_current(
    found: list[Revision], verbose: bool, where: dict[str, Any], x_args: Sequence[str] = ()
) -> None:
    """``current``: with ``verbose``, under a heading naming each database (its
    password masked)."""
    if not verbose:
        _print_revisions(found, False, _current_line)
        return
    databases, failure = _partial(lambda: _api().status(x_args=x_args, **where))
    several = len(databases) + (len(failure.failed) if failure is not None else 0) > 1
    for database in databases:
        label = _label(database.target, several)
        click.echo(f"{label}Current revision(s) for {database.database}:")
        for revision in found:
            if revision.target == database.target:
                click.echo(label + _block(revision))


def _label(target: str, several: bool) -> str:
    return f"[{target}] " if several else ""


def _progress(options: Options, several: bool) -> Callable[[Step], None]:
    def show(step: Step) -> None:
        arrow = f"{_short(step.from_revisions)} -> {_short(step.to_revisions)}"
        where = _label(step.target, several)
        options.say(
            f"  {where}{step.kind:<9} {arrow:<30} {step.message}  ({step.seconds * 1000:.0f} ms)"
        )

    return show


def _report_runs(options: Options, runs: list[Run], verb: str, several: bool) -> None:
    for run in runs:
        where = _label(run.target, several)
        for warning in run.warnings:
            _echo(f"{where}Warning: {warning}", fg="yellow", err=True)
        if run.no_revisions:
            options.say(f"{where}Nothing to do: there is no revision for this database yet.")
        elif run.sql is not None:
            click.echo(run.sql, nl=False)
        elif run.steps:
            count = len(run.steps)
            waited = f" after waiting {run.waited:.1f} s for the lock" if run.waited else ""
            options.say(
                f"{where}{count} revision{'s' if count != 1 else ''} {verb} in"
                f" {run.seconds:.2f} s{waited}; the database is now at {_short(run.after)}.",
                fg="green",
            )
        elif run.before != run.after:  # an env.py that does not report its steps
            options.say(
                f"{where}The database moved from {_short(run.before)} to {_short(run.after)}.",
                fg="green",
            )
        else:
            options.say(f"{where}Nothing to do: the database is already at {_short(run.after)}.")


# --- Commands ---------------------------------------------------------------------------


MULTIDB_NOTE = (
    "Each database has a history of its own here: versions/ for the default one,"
    " binds/<name>/ for each bind. Flask-Migrate's --multidb layout, one history for"
    ' all databases, is not made; see "Moving from Flask-Migrate" in the docs.'
)


@command("list-templates", binds=False)
def list_templates(options: Options) -> None:
    """List the templates `init` can use."""
    for found in _api().list_templates():
        click.echo(f"{found.name:<14} {found.description}")


@command(binds=False)
@click.option("-t", "--template", default="flask", show_default=True, help="The template to use.")
@click.option("--package", is_flag=True, help="Write __init__.py files into the directory.")
@click.option(
    "--multidb",
    is_flag=True,
    help="Flask-Migrate's option, for several databases: the flask template serves them"
    " already, with a history each.",
)
def init(options: Options, template: str, package: bool, multidb: bool) -> None:
    """Create a new migrations directory (with a history for each database)."""
    info = click.get_current_context().find_object(ScriptInfo)
    path = _api().init(
        options.directory,
        template=template,
        package=package,
        app_import_path=info.app_import_path if info else None,
    )
    options.say(f"Created {path}.")
    if multidb or template == _api().MULTIDB_TEMPLATE:
        options.say(MULTIDB_NOTE)
    options.say(
        'Next: `flask db revision --autogenerate -m "Initial baseline"`, review the file'
        " in versions/, then `flask db upgrade`."
    )


def _revision_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option("-m", "--message", help="What the revision does."),
            click.option(
                "--sql",
                is_flag=True,
                help="Run env.py offline while writing the script; only with"
                " revision_environment = true in alembic.ini.",
            ),
            click.option(
                "--head", default="head", show_default=True, help="The revision to build on."
            ),
            click.option("--splice", is_flag=True, help="Allow --head to be a non-head revision."),
            click.option("--branch-label", help="A label for the new branch."),
            click.option(
                "--version-path",
                help="The folder to write into: one of version_locations (alembic.ini).",
            ),
            click.option("--rev-id", help="The id of the new revision (default: random)."),
            click.option("--depends-on", multiple=True, help="A revision this one depends on."),
        ]
    ):
        function = decorator(function)
    return function


def _write_revision(options: Options, **kwargs: Any) -> None:
    depends_on = kwargs.pop("depends_on") or None
    written = _api().revision(
        **options.where, x_args=options.x_args, depends_on=depends_on, **kwargs
    )
    if written.sql is not None:
        click.echo(written.sql, nl=False)
    elif written.no_changes:
        options.say("No changes detected between the models and the database; no revision written.")
    for script in written.scripts:
        options.say(f"Wrote {script.path}", fg="green")
    for warning in written.warnings:
        _echo(f"Warning: {warning}", fg="yellow", err=True)
    _print_findings(written.findings)
    if kwargs.get("autogenerate") and written.scripts:
        options.say(
            "Review it before you apply it: autogenerate can miss or misjudge server defaults,"
            " enum types, constraints and NOT NULL columns on tables that hold rows."
        )


@command(x_args=True)
@_revision_options
@click.option("--autogenerate", is_flag=True, help="Fill the script from the model changes.")
def revision(options: Options, **kwargs: Any) -> None:
    """Create a new revision script."""
    _write_revision(options, **kwargs)


@command(x_args=True)
@_revision_options
def migrate(options: Options, **kwargs: Any) -> None:
    """Autogenerate a revision script (`revision --autogenerate`)."""
    _write_revision(options, autogenerate=True, **kwargs)


@command()
@click.argument("revision", default="head")
def edit(options: Options, revision: str) -> None:
    """Open a revision script in $EDITOR."""
    for path in _api().edit(revision, **options.where):
        click.edit(filename=str(path))


@command()
@click.option("-m", "--message", help="What the merge is for.")
@click.option("--branch-label", help="A label for the new branch.")
@click.option("--rev-id", help="The id of the new revision (default: random).")
@click.argument("revisions", nargs=-1)
def merge(
    options: Options,
    message: str | None,
    branch_label: str | None,
    rev_id: str | None,
    revisions: tuple[str, ...],
) -> None:
    """Merge two or more revisions (default: all heads) into one."""
    written = _api().merge(
        revisions,
        message=message,
        branch_label=branch_label,
        rev_id=rev_id,
        **options.where,
    )
    for script in written.scripts:
        options.say(f"Wrote {script.path}", fg="green")


def _run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in (
        click.option("--sql", is_flag=True, help="Print the SQL instead of running it."),
        click.option("--tag", help="A tag for custom env.py code."),
        click.option(
            "--lock/--no-lock",
            default=None,
            help="Take the migration lock (default: SCHEMAOPS_LOCK, on).",
        ),
        click.option(
            "--lock-timeout",
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="How long to wait for the lock (default: SCHEMAOPS_LOCK_TIMEOUT).",
        ),
    ):
        function = decorator(function)
    return function


def _waiting(options: Options) -> Callable[[Any], None]:
    def show(holder: Any) -> None:
        by = f", held by {holder.description}" if holder else ""
        options.say(f"Waiting for the migration lock{by}...", fg="yellow")

    return show


def _migrate(options: Options, name: str, verb: str, **kwargs: Any) -> None:
    _run_and_report(
        options,
        name,
        verb,
        x_args=options.x_args,
        on_wait=_waiting(options),
        **options.where,
        **kwargs,
    )


def _run_and_report(
    options: Options, name: str, verb: str, directory: str | None, **kwargs: Any
) -> None:
    """Run the API's ``name`` (upgrade, downgrade or stamp): print each step as it
    completes, then the outcome on each database. Every line names its database
    when the directory migrates several (the default one too), none when just one."""
    api = _api()
    several = len(api.databases(directory=directory)) > 1
    runs = getattr(api, name)(directory=directory, on_step=_progress(options, several), **kwargs)
    _report_runs(options, runs, verb, several)


@command(x_args=True, relative=True)
@_run_options
@click.argument("revision", default="head")
def upgrade(options: Options, **kwargs: Any) -> None:
    """Upgrade to a later revision (default: head; also an id or +N)."""
    _migrate(options, "upgrade", "applied", **kwargs)


@command(x_args=True, relative=True)
@_run_options
@click.option("-y", "--yes", is_flag=True, help="Go ahead even when rows would be lost.")
@click.argument("revision", default="-1")
def downgrade(options: Options, yes: bool, **kwargs: Any) -> None:
    """Revert to an earlier revision (default: -1; also an id or base).

    When the reverted revisions drop tables or columns that hold rows, it lists
    them and asks first; without a terminal it needs --yes.
    """
    if not kwargs["sql"]:
        _confirm_data_loss(options, kwargs["revision"], kwargs["tag"], yes)
    _migrate(options, "downgrade", "reverted", **kwargs)


@command(x_args=True)
@_run_options
@click.option("--purge", is_flag=True, help="Empty the version table first.")
@click.argument("revisions", nargs=-1)
def stamp(options: Options, revisions: tuple[str, ...], **kwargs: Any) -> None:
    """Record revisions as applied without running them (default: head)."""
    _migrate(options, "stamp", "stamped", revisions=revisions or ("head",), **kwargs)


@command()
@click.argument("revisions", nargs=-1)
def show(options: Options, revisions: tuple[str, ...]) -> None:
    """Show revisions (default: head)."""
    _print_revisions(_api().show(revisions or ("head",), **options.where), True)


@command(relative=True)
@click.option("-r", "--rev-range", help="START:END, either side optional; `current` works.")
@click.option("-v", "--verbose", is_flag=True, help="Show each revision in full.")
@click.option("-i", "--indicate-current", is_flag=True, help="Mark the current revision.")
def history(options: Options, rev_range: str | None, verbose: bool, indicate_current: bool) -> None:
    """List revisions, newest first."""
    found = _api().history(rev_range, indicate_current=indicate_current, **options.where)
    _print_revisions(found, verbose)


@command()
@click.option("-v", "--verbose", is_flag=True, help="Show each revision in full.")
@click.option("--resolve-dependencies", is_flag=True, help="Count dependencies as parents.")
def heads(options: Options, verbose: bool, resolve_dependencies: bool) -> None:
    """Show the head revisions."""
    found = _api().heads(resolve_dependencies=resolve_dependencies, **options.where)
    _print_revisions(found, verbose, _heads_line)


@command()
@click.option("-v", "--verbose", is_flag=True, help="Show each revision in full.")
def branches(options: Options, verbose: bool) -> None:
    """Show the branch points."""
    _print_branches(_api().branches(**options.where), verbose)


@command(x_args=True)
@click.option("-v", "--verbose", is_flag=True, help="Show each revision in full.")
@click.option("--bare", is_flag=True, help="Print only the revision ids, for scripts.")
def current(options: Options, verbose: bool, bare: bool) -> None:
    """Show the revision the database is at."""
    found, failure = _partial(lambda: _api().current(x_args=options.x_args, **options.where))
    if bare:
        for revision in found:
            click.echo(revision.revision)
    else:
        _print_current(found, verbose, options.where, options.x_args)
    if failure is not None:
        raise failure


@command(x_args=True)
def check(options: Options) -> None:
    """Exit 1 if the models have changes no revision covers yet."""
    results = _api().check(x_args=options.x_args, **options.where)
    changes = [_label(r.target, len(results) > 1) + change for r in results for change in r.changes]
    if not changes:
        options.say("No changes: the revisions cover the models.")
        return
    click.echo(f"The models have {len(changes)} change(s) that no revision covers:")
    for change in changes:
        click.echo(f"  {change}")
    for step in dict.fromkeys(r.next_step for r in results if r.changes):
        _echo(step)
    sys.exit(1)


@command("ensure-version")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
def ensure_version(options: Options, sql: bool) -> None:
    """Create the version table if it is missing."""
    output = _api().ensure_version(sql=sql, **options.where)
    if output is not None:
        click.echo(output, nl=False)
    else:
        options.say("The version table is in place.")


@command(x_args=True, error_code=2)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(options: Options, as_json: bool) -> None:
    """Show the current revision and pending ones. Exit 0 up to date, 1 pending, 2 error,
    3 ahead (the database records a revision no script here has).

    A database that cannot be reached does not hide the others: their status comes
    first, then the error (with --json, also under "errors"). Pending revisions
    (1) outrank a database ahead of this code (3)."""
    results, failure = _partial(lambda: _api().status(x_args=options.x_args, **options.where))
    failed = failure.failed if failure is not None else ()
    up_to_date = all(r.up_to_date for r in results) and not failed
    if as_json:
        data: dict[str, Any] = {
            "up_to_date": up_to_date,
            "databases": [r.as_dict() for r in results],
        }
        if failed:
            data["errors"] = [{"target": name, "error": error} for name, error in failed]
        click.echo(json.dumps(data, indent=2))
    several = len(results) + len(failed) > 1
    for result in [] if as_json else results:
        if several:
            click.secho(f"[{result.target}]", bold=True)
        click.echo(f"Database: {result.database}")
        click.echo(f"Current:  {_short(result.current)}")
        click.echo(f"Heads:    {_short(result.heads)}")
        if result.up_to_date:
            click.secho("Up to date.", fg="green")
        elif result.unknown:
            click.secho(_ahead(result), fg="yellow")
        else:
            click.secho(f"Pending:  {len(result.pending)} revision(s)", fg="yellow")
            for revision in result.pending:
                click.echo(f"  {revision.revision}  {revision.message}")
    if failure is not None:
        raise failure
    if any(r.pending for r in results):
        sys.exit(1)
    if not up_to_date:
        sys.exit(3)


def _ahead(result: Status) -> str:
    """The lines of ``status`` for a database at a revision no script here has."""
    ids = ", ".join(result.unknown)
    if result.ahead:
        return (
            f"Ahead:    {ids} has no script here; the audit history shows it was applied"
            " after this code's head. The database is newer than this code: migrate it"
            " from the newer code."
        )
    return (
        f"Unknown:  {ids} has no script here. The database is probably newer than this"
        " code (newer code migrated it first), or was migrated from another branch;"
        " `flask db doctor` tells more."
    )


def _partial(call: Callable[[], list[Any]]) -> tuple[list[Any], Any]:
    """``call()`` of a command that reads every database, and None; or, when some could
    not be read, the results of the others and the error to report after them."""
    from .errors import SchemaOpsError

    try:
        return call(), None
    except SchemaOpsError as exc:
        if not exc.failed:
            raise
        return list(exc.completed), exc


def _interactive() -> bool:
    return sys.stdin.isatty()


@command("convert-env", binds=False)
@click.option("-y", "--yes", is_flag=True, help="Write without asking.")
def convert_env(options: Options, yes: bool) -> None:
    """Replace env.py with flask_schemaops's, keeping a backup.

    For a directory Flask-Migrate made: it shows the change, and writes it once
    confirmed (the prompt, or --yes).
    """
    api = _api()
    conversion = api.convert_env(options.directory)
    if not conversion.needed:
        options.say(f"{conversion.env} already runs through flask_schemaops; nothing to do.")
        return
    click.echo(conversion.diff, nl=False)
    if conversion.backup.exists():
        api.convert_env(options.directory, write=True)  # fails: never replace a backup
    if not yes and not (_interactive() and click.confirm("Write the new env.py?")):
        options.say("env.py was not changed. Run `flask db convert-env --yes` to write it.")
        return
    info = click.get_current_context().find_object(ScriptInfo)
    conversion = api.convert_env(
        options.directory, write=True, app_import_path=info.app_import_path if info else None
    )
    options.say(
        f"Wrote {conversion.env}; the old one is kept as {conversion.backup.name}.", fg="green"
    )
    options.say(
        "Carry any changes you made to the old env.py (include_object,"
        " process_revision_directives, ...) over to the hooks section of the new one."
        " alembic.ini, script.py.mako and the revisions were left as they are: new"
        " revisions keep the layout of your script.py.mako (flask_schemaops's own is"
        " in flask_schemaops/templates/flask/)."
    )
    if conversion.ini_lines:
        options.say("For plain `alembic`, add to the [alembic] section of alembic.ini:")
        for line in conversion.ini_lines:
            options.say(f"    {line}")


# --- Reviewing migrations ------------------------------------------------------------------


def _display_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _print_findings(findings: tuple[Any, ...]) -> None:
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for finding in findings:
        where = f"{_display_path(finding.file)}:{finding.line}"
        label = f"{where}: {finding.rule} {finding.severity}: "
        click.secho(label, fg=colours[finding.severity], nl=False)
        _echo(finding.message)
        _echo(f"    Fix: {finding.fix}")


def _github(text: str, *, field: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if field else text


@command(error_code=2)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--pending", is_flag=True, help="Only the revisions not yet applied to the database.")
@click.option(
    "--since",
    metavar="REV",
    help="Only the revisions a database at REV would still apply (an id, a label, head,"
    " base, -1, current...).",
)
@click.option(
    "--dialect",
    metavar="NAME",
    help="Lint for this database (postgresql, mysql, sqlite...) instead of each one's own.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github: GitHub Actions annotations.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    help="Exit 1 on a finding this severe or worse (default: SCHEMAOPS_LINT_FAIL_ON, error).",
)
def lint(
    options: Options,
    paths: tuple[str, ...],
    pending: bool,
    since: str | None,
    dialect: str | None,
    output: str,
    fail_on: str | None,
) -> None:
    """Check revision scripts for operations that break production databases.

    All revisions by default, or PATHS. Exit 0 clean, 1 findings at --fail-on, 2 error.
    """
    report = _api().lint(paths, pending=pending, since=since, dialect=dialect, **options.where)
    threshold = report.fail_on if fail_on is None else None if fail_on == "never" else fail_on
    failed = report.fails(threshold)
    if output == "json":
        data = report.as_dict()
        for item in data["findings"]:
            item["file"] = _display_path(item["file"])
        data["failed"] = failed
        click.echo(json.dumps(data, indent=2))
    elif output == "github":
        levels = {"error": "error", "warning": "warning", "info": "notice"}
        for f in report.findings:
            click.echo(
                f"::{levels[f.severity]} file={_github(_display_path(f.file), field=True)},"
                f"line={f.line},title={_github(f'{f.rule} {f.name}', field=True)}::"
                f"{_github(f'{f.message} Fix: {f.fix}')}"
            )
    else:
        _print_findings(report.findings)
    if output != "json":
        counts = ", ".join(
            f"{report.count(s)} {s}{'s' if s != 'info' and report.count(s) != 1 else ''}"
            for s in ("error", "warning", "info")
        )
        files = len(report.files)
        summary = f"Checked {files} revision script{'s' if files != 1 else ''}: "
        summary += counts if report.findings else "no findings"
        if report.suppressed:
            summary += f" ({report.suppressed} suppressed)"
        options.say(summary + ".", fg="red" if failed else None, err=output == "github")
    if failed:
        sys.exit(1)


def _confirm_data_loss(options: Options, revision: str, tag: str | None, yes: bool) -> None:
    """Show what the downgrade would destroy; when rows would be lost, or may be, go
    on only once confirmed (--yes, the prompt, or SCHEMAOPS_DOWNGRADE_CONFIRM = False)."""
    preview = _api().downgrade_preview(revision, x_args=options.x_args, tag=tag, **options.where)
    if not preview.rows_lost and not preview.uncounted:
        return
    several = len({loss.target for loss in preview.losses}) > 1
    several = several or any(loss.target != "default" for loss in preview.losses)
    _echo("This downgrade drops data:", fg="yellow", bold=True)
    for loss in preview.losses:
        if loss.rows is None:
            if loss.sql is not None:
                found = "what it drops is not known before it runs"
            elif "?" in (loss.table, loss.column):
                found = "named only as the script runs"
            elif options.x_args or tag is not None:
                found = "in the database env.py picks from -x or --tag"
            else:
                found = "not found in the database"
            count = f"{found}, so its data could not be counted"
        elif loss.rows:
            unit = "row" if loss.column is None else "value"
            count = f"{loss.rows} {unit}{'s' if loss.rows != 1 else ''}"
        else:
            continue
        now = f" (now {loss.found_as})" if loss.found_as else ""
        _echo(
            f"  {_label(loss.target, several)}{loss.what}{now}: {count}"
            f" (revision {loss.revision}, {_display_path(loss.file)}:{loss.line})"
        )
    if yes or not preview.needs_confirmation:
        return
    if _interactive():
        if click.confirm("Revert these revisions and lose that data?", default=False):
            return
        _echo("Nothing was reverted.")
        sys.exit(1)
    again = _as_typed(options, "downgrade", revision, *(["--tag", tag] if tag else []))
    _echo(
        "Error: nothing was reverted: the downgrade would lose the data listed above and"
        " there is no terminal to confirm it. Back the data up if you need it, then run"
        f" `{again} --yes` (or set SCHEMAOPS_DOWNGRADE_CONFIRM = False).",
        fg="red",
        err=True,
    )
    sys.exit(1)


def _as_typed(options: Options, *words: str) -> str:
    """``flask db WORDS`` with the -d, --bind and -x of ``options``, quoted for a
    shell: a command to run again as it was typed."""
    typed = ["flask", "db", *words]
    typed += ["-d", options.directory] if options.directory else []
    for bind in options.binds:
        typed += ["--bind", bind]
    for argument in options.x_args:
        typed += ["-x", argument]
    return shlex.join(typed)


# --- Adoption and recovery -------------------------------------------------------------------


@command()
@click.option("--force", is_flag=True, help="Stamp head even when the schema differs.")
@click.option(
    "-m",
    "--message",
    default="Initial baseline",
    show_default=True,
    help="The message of the baseline revision, when one is generated.",
)
def baseline(options: Options, force: bool, message: str) -> None:
    """Adopt a database built by create_all: write the baseline revision, compare, stamp.

    Exits 1 when a database matches no revision, or several between which only work a
    schema cannot show differs (nothing is stamped then).
    """
    from .errors import SchemaOpsError

    try:
        results = _api().baseline(message=message, force=force, **options.where)
    except SchemaOpsError as exc:  # report what was done on the databases before it
        _print_baselines(options, list(exc.completed), several=True)
        raise
    _print_baselines(options, results, several=len(results) > 1)
    if any(r.outcome in ("differs", "ambiguous") for r in results):
        sys.exit(1)


def _print_baselines(options: Options, results: list[Baseline], several: bool) -> None:
    for result in results:
        where = _label(result.target, several)
        if result.written is not None:
            options.say(f"{where}Wrote {_display_path(result.written.path)}", fg="green")
        if result.outcome == "generated":
            options.say(
                f"{where}The database is empty: `flask db upgrade` builds it from the baseline."
            )
        elif result.outcome == "empty":
            options.say(f"{where}The database has no table yet: `flask db upgrade` builds it.")
        elif result.outcome == "versioned":
            options.say(
                f"{where}The database is already under migrations, at {result.revision};"
                " nothing to do."
            )
        elif result.outcome == "ambiguous":
            first, last = result.matches[0], result.matches[-1]
            _echo(
                f"{where}The database matches {result.compared_with}: those after {first}"
                " change nothing a schema comparison sees, yet do work:"
            )
            for line in result.unseen:
                _echo(f"  {line}")
            _echo(
                f"{where}Its schema cannot tell whether that work ran on this database, so"
                " nothing was stamped. Stamp the last revision whose work it has:"
                f" `flask db stamp {first}` (then `flask db upgrade` runs the work above),"
                f" or `flask db stamp {last}` (it never runs here)."
            )
        elif result.differences:
            _echo(
                f"{where}The database differs from {result.compared_with}"
                f" ({len(result.differences)} difference(s), as `upgrade` would change them):"
            )
            for difference in result.differences:
                _echo(f"  {difference}")
            if result.stamped:
                _echo(
                    f"{where}Stamped {result.revision} anyway (--force). The revisions up to"
                    f" {result.revision} already make the changes above: make them by hand"
                    " where they matter, but generate no revision for them, which would make"
                    " them twice (or fail) on every database `flask db upgrade` builds.",
                    fg="yellow",
                )
            elif result.written is not None:
                _echo(
                    f"{where}Nothing was stamped. The new baseline describes the models. Where"
                    " they are right, bring the database in line by hand; where the database"
                    f" is, change the models and delete {_display_path(result.written.path)}."
                    " Then run `flask db baseline` again."
                )
            else:
                _echo(
                    f"{where}Nothing was stamped. Bring the database in line with the"
                    " revisions by hand, then run `flask db baseline` again; or stamp it"
                    " anyway with `flask db baseline --force`."
                )
        else:
            options.say(
                f"{where}The database matches {result.compared_with}; stamped {result.revision}.",
                fg="green",
            )
        if result.pending and result.outcome in ("stamped", "forced", "versioned"):
            _echo(f"{where}{len(result.pending)} revision(s) pending on top of it:")
            for revision in result.pending:
                _echo(f"  {revision.revision}  {revision.message}")
            _echo("Apply them with `flask db upgrade`.")
        for warning in result.warnings:
            _echo(f"Warning: {warning}", fg="yellow", err=True)


@command(error_code=2)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doctor(options: Options, as_json: bool) -> None:
    """Find what is wrong with the databases and their migrations, and say how to fix it.

    Silent and exit 0 when healthy; exit 1 with findings, 2 on an error (with
    --json, the error is JSON too).
    """
    from .errors import SchemaOpsError

    try:
        results = _api().doctor(**options.where)
    except SchemaOpsError as exc:
        if not as_json or options.traceback:
            raise
        click.echo(json.dumps({"healthy": False, "error": str(exc), "databases": []}, indent=2))
        sys.exit(2)
    healthy = all(r.healthy for r in results)
    if as_json:
        data = {"healthy": healthy, "databases": [r.as_dict() for r in results]}
        click.echo(json.dumps(data, indent=2))
        sys.exit(0 if healthy else 1)
    several = len(results) > 1
    count = 0
    for result in results:
        where = _label(result.target, several)
        for problem in result.problems:
            count += 1
            colour = "red" if problem.severity == "error" else "yellow"
            _echo(f"{where}{problem.severity.upper()}: ", fg=colour, bold=True, nl=False)
            _echo(problem.summary)
            for index, line in enumerate(problem.evidence):
                _field("Evidence:" if index == 0 else "", line)
            if problem.cause:
                _field("Cause:", problem.cause)
            _field("Fix:", problem.fix)
            if problem.check == "drift" and result.noise:
                _echo(f"  {'Noise:':<10}no change; autogenerate leaves these out:")
                for line in result.noise:
                    _echo(f"  {'':<10}{line}")
        if options.verbosity > 0:
            if result.healthy and result.noise:
                options.say(f"{where}Known noise (no change; autogenerate leaves it out):")
                for line in result.noise:
                    options.say(f"  {line}")
            for line in result.skipped:
                options.say(f"{where}Not checked: {line}")
    if count:
        _echo(f"{count} problem(s) found.")
        sys.exit(1)
    if options.verbosity > 0:
        options.say("No problems found.")


def _field(label: str, text: str) -> None:
    """One field of a doctor finding, its label in a column of its own; the lines
    of a text of several lines stay under the first."""
    for index, line in enumerate(text.splitlines() or [""]):
        _echo(f"  {label if index == 0 else '':<10}{line}")


@command()
@click.option(
    "--yes",
    is_flag=True,
    help="Drop the statements of the range that run SQL or move data (op.execute, get_bind()).",
)
@click.option("-m", "--message", help="The message of the squashed revision.")
@click.argument("first", metavar="FROM")
@click.argument("last", metavar="TO")
def squash(options: Options, first: str, last: str, yes: bool, message: str | None) -> None:
    """Replace the revisions FROM..TO with one that builds the same schema.

    It keeps TO's id, so databases at TO or later see no change. Refused while a
    database of the app is inside the range or when the range branches; a database
    of another environment inside it must reach TO before the change does. The
    replaced files are kept in <migrations>/squashed/TO/, where `doctor` and the
    "Can't locate revision" error find a revision it replaced.
    """
    result = _api().squash(first, last, drop_data_migrations=yes, message=message, **options.where)
    revision = result.revision
    options.say(
        f"Wrote {_display_path(revision.path)}: {revision.revision} now does the work of"
        f" {len(result.replaced)} revisions ({result.replaced[0].revision}.."
        f"{result.replaced[-1].revision}), on top of {_short(revision.down_revisions)}.",
        fg="green",
    )
    options.say(
        "Verified on scratch databases: the squashed history builds the same schema as the"
        f" original at {', '.join(result.verified)}."
    )
    if result.dropped:
        click.secho(f"Dropped {len(result.dropped)} statement(s) (--yes):", fg="yellow")
        for statement in result.dropped:
            click.echo(f"  {statement}")
    for warning in result.warnings:
        _echo(f"Warning: {warning}", fg="yellow", err=True)
    options.say(
        f"The replaced files are kept in {_display_path(result.backup)}: review the change,"
        " commit it, then delete that folder."
    )
