"""The rule catalogue: one entry per rule, with everything a finding says.

Ids are stable: a rule may be reworded or re-graded, never renumbered. A
message names the table and column, and ends with the link to the rule's entry
in ``docs/rules.rst``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DOCS_URL = "https://flask-schemaops.readthedocs.io/en/latest/"

Severity = Literal["info", "warning", "error"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")  # in rising order


@dataclass(frozen=True)
class Rule:
    """One rule. ``message`` and ``fix`` are ``str.format`` templates over the values
    a check found. A value the script does not give (a name computed when it runs)
    reads as the words after a bar, ``{table|the table}``, or else as ``<table>``."""

    id: str
    name: str
    severity: Severity
    message: str
    fix: str  # the safe alternative
    postgresql: bool = False  # applies only when the target database is PostgreSQL

    @property
    def url(self) -> str:
        return f"{DOCS_URL}rules.html#{self.id.lower()}"

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        """The message, ending with the link to the rule, and the fix, filled in."""
        known = _Values(values)
        return f"{self.message.format_map(known)} See {self.url}", self.fix.format_map(known)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        name, bar, words = key.partition("|")
        if name in self:
            return self[name]
        return words if bar else f"<{name}>"


_CATALOGUE = (
    Rule(
        "SO101",
        "not-null-without-default",
        "error",
        "{what} is added NOT NULL without a server default: the ALTER fails on"
        " a table that has rows, though it passes on an empty development database.",
        "Give it a server default (server_default=sa.text(\"''\")), or add it nullable,"
        " backfill it, and set NOT NULL in a later revision.",
    ),
    Rule(
        "SO102",
        "volatile-default",
        "warning",
        "{what} is added with the server default {default}, computed for every"
        " existing row: the table is rewritten under a lock (or, for now(), every old row"
        " gets the migration's time).",
        "Add it without a default (or with a constant one), backfill the old rows in"
        " batches, then set the default with alter_column(server_default=...).",
    ),
    Rule(
        "SO103",
        "drop-column",
        "warning",
        "{what} is dropped: the release still running during the deploy reads it and"
        " fails, and its data is gone.",
        "First deploy code that no longer uses the column (remove it from the model),"
        " then drop it in a later revision marked `# schemaops: ignore[SO103] <why>`.",
    ),
    Rule(
        "SO104",
        "drop-table",
        "warning",
        "{what} is dropped: the release still running during the deploy reads it and"
        " fails, and its rows are gone.",
        "First deploy code that no longer uses the table, then drop it in a later revision"
        " marked `# schemaops: ignore[SO104] <why>`.",
    ),
    Rule(
        "SO105",
        "rename-column",
        "warning",
        "{what} is renamed to {new}: the release still running during the deploy uses"
        " the old name and fails.",
        "Add {new}, write both and backfill it, switch the code to {new}, then drop"
        " {column|the old column} in a later revision.",
    ),
    Rule(
        "SO106",
        "rename-table",
        "warning",
        "{what} is renamed to {new|a new name}: the release still running during the"
        " deploy uses the old name and fails.",
        "Keep the old name readable while the deploy rolls out: in the same revision,"
        ' op.execute("CREATE VIEW {table} AS SELECT * FROM {new}"), and drop the view'
        " once no code uses {table|the old name}.",
    ),
    Rule(
        "SO107",
        "change-column-type",
        "warning",
        "{what} changes type{change}: the table may be rewritten under a lock, and the"
        " running release may not handle the new type.",
        "Only widenings are cheap: VARCHAR(n) to VARCHAR(m > n) or TEXT, and on MySQL"
        " only VARCHAR within 255 bytes or from 256 bytes up. Otherwise add a column of"
        " the new type, backfill it, switch the code, then drop the old one.",
    ),
    Rule(
        "SO108",
        "set-not-null",
        "warning",
        "{what} is made NOT NULL: the ALTER fails if a row still holds NULL, and it"
        " reads the whole table under an exclusive lock.",
        "Backfill first; on PostgreSQL add CHECK ({column} IS NOT NULL) NOT VALID,"
        " VALIDATE it, and SET NOT NULL in the same revision (no scan), then drop the"
        " check.",
    ),
    Rule(
        "SO109",
        "index-not-concurrent",
        "warning",
        "{what} is created without CONCURRENTLY: writes to {table|the table} are blocked"
        " while it builds.",
        "Build it with postgresql_concurrently=True inside"
        " `with op.get_context().autocommit_block():`.",
        postgresql=True,
    ),
    Rule(
        "SO110",
        "concurrently-in-transaction",
        "error",
        "{what} uses CONCURRENTLY inside the migration's transaction: PostgreSQL refuses"
        " it (CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block).",
        "Wrap it in `with op.get_context().autocommit_block():`.",
        postgresql=True,
    ),
    Rule(
        "SO111",
        "drop-index-not-concurrent",
        "warning",
        "{what} is dropped without CONCURRENTLY: reads and writes of {table|the table}"
        " wait for the lock.",
        "Drop it with postgresql_concurrently=True inside"
        " `with op.get_context().autocommit_block():`.",
        postgresql=True,
    ),
    Rule(
        "SO112",
        "foreign-key-not-valid",
        "warning",
        "{what} is added without NOT VALID: every row of {table|the table} is checked"
        " while writes to both tables are blocked.",
        "Add it with postgresql_not_valid=True, then in a later step"
        ' op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}").',
        postgresql=True,
    ),
    Rule(
        "SO113",
        "check-not-valid",
        "warning",
        "{what} is added without NOT VALID: every row is checked under an exclusive"
        " lock, and the ALTER fails if one violates it.",
        "On PostgreSQL add it with postgresql_not_valid=True, then"
        ' op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}").',
    ),
    Rule(
        "SO114",
        "unique-constraint",
        "warning",
        "{what} is added: it fails if duplicates exist, and builds its index under a"
        " lock that blocks writes.",
        "Remove duplicates first; on PostgreSQL build a unique index"
        " CONCURRENTLY (in an autocommit block), then"
        ' op.execute("ALTER TABLE {table} ADD CONSTRAINT {constraint} UNIQUE USING INDEX'
        ' <index>").',
    ),
    Rule(
        "SO115",
        "enum-not-dropped",
        "warning",
        "Enum type {enum} is created in upgrade() but not dropped in downgrade(): after a"
        " downgrade the next upgrade fails with 'type already exists'.",
        "Drop it at the end of downgrade():"
        " postgresql.ENUM(name='{enum}').drop(op.get_bind(), checkfirst=True).",
        postgresql=True,
    ),
    Rule(
        "SO116",
        "enum-value-in-transaction",
        "warning",
        "ALTER TYPE {enum} ADD VALUE runs inside the migration's transaction: the new value"
        " cannot be used until it commits, and PostgreSQL before 12 refuses it.",
        "Run it inside `with op.get_context().autocommit_block():`.",
        postgresql=True,
    ),
    Rule(
        "SO117",
        "unnamed-constraint-drop",
        "error",
        "{what} in {function}() has no constraint name: it fails when it runs.",
        "Put the constraint's real name in (see the database, or name constraints"
        " with a naming_convention on the MetaData).",
    ),
    Rule(
        "SO118",
        "empty-downgrade",
        "warning",
        "downgrade() does nothing while upgrade() changes the schema: a downgrade"
        " records success and leaves the schema as it is.",
        "Write the reverse operations, or make the revision explicitly irreversible:"
        ' raise NotImplementedError("<why>") in downgrade().',
    ),
    Rule(
        "SO119",
        "raw-sql",
        "info",
        "Raw SQL {detail}",
        "Prefer op.* operations the linter understands; keep data changes bounded (a"
        " WHERE clause) and mark reviewed SQL with `# schemaops: ignore[SO119] <why>`.",
    ),
    Rule(
        "SO120",
        "model-import",
        "warning",
        "The revision imports the app's code ({module}): it breaks, or does the wrong"
        " thing, once the models change in a later release.",
        "Describe the tables the revision needs inside it: sa.table('spans',"
        " sa.column('id'), ...) with op.execute(), or reflect them from op.get_bind().",
    ),
    Rule(
        "SO121",
        "multiple-heads",
        "error",
        "The history in {folder} has {count} heads ({heads}): `flask db upgrade` cannot"
        " tell which one to apply.",
        'Merge them: flask db merge -m "merge heads".',
    ),
    Rule(
        "SO122",
        "unknown-rule",
        "warning",
        "The suppression comment {problem}: it suppresses nothing.",
        "Name each rule by its id (SO103) or its name (drop-column), at the end of the"
        " line of the finding, or on a line of its own above def upgrade() for the whole"
        " file; or remove the comment.",
    ),
    Rule(
        "SO123",
        "unnamed-constraint",
        "warning",
        "{what} is added without a name in {function}(): {consequence}",
        'Name it: {call}(op.f("{example}"), ...){convention}.',
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
_BY_NAME = {rule.name: rule for rule in _CATALOGUE}


def find(reference: str) -> Rule | None:
    """The rule with this id (``SO101``, any case) or name (``drop-column``)."""
    return RULES.get(reference.strip().upper()) or _BY_NAME.get(reference.strip().lower())
