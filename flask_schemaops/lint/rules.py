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


# The databases a rule or a wording applies to.
POSTGRESQL = frozenset({"postgresql"})
MYSQL = frozenset({"mysql", "mariadb"})


@dataclass(frozen=True)
class Variant:
    """What a rule says instead on some databases, where they behave otherwise."""

    dialects: frozenset[str]
    message: str
    fix: str | None = None  # None: the rule's own


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
    dialects: frozenset[str] | None = None  # the only databases it applies to; None: all
    variants: tuple[Variant, ...] = ()  # its wording on the databases that differ

    @property
    def url(self) -> str:
        return f"{DOCS_URL}rules.html#{self.id.lower()}"

    def applies(self, dialect: str | None) -> bool:
        """Whether the rule applies to a ``dialect`` database (None: not known)."""
        return self.dialects is None or dialect in self.dialects

    def render(self, values: Mapping[str, str], dialect: str | None = None) -> tuple[str, str]:
        """The message, ending with the link to the rule, and the fix, filled in, as
        they read for a ``dialect`` database."""
        known = _Values(values)
        wording = next((v for v in self.variants if dialect in v.dialects), self)
        message = wording.message.format_map(known)
        return f"{message} See {self.url}", (wording.fix or self.fix).format_map(known)


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
        variants=(
            Variant(
                MYSQL,
                "{what} is added NOT NULL without a server default: MariaDB and MySQL fill"
                " every existing row with the type's empty value ('' or 0), which no one"
                " chose, or refuse a DATE or DATETIME column under NO_ZERO_DATE.",
            ),
        ),
    ),
    Rule(
        "SO102",
        "volatile-default",
        "warning",
        "{what} is added with {default}, which the database computes for every"
        " existing row: the table is rewritten under a lock (or, for now(), every old row"
        " gets the migration's time).",
        "Add it as a plain column without a default (or with a constant one), backfill"
        " the old rows in batches, then give new rows their value with"
        " alter_column(server_default=...) (for an identity or serial column, a"
        " sequence's nextval()).",
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
        variants=(
            Variant(
                MYSQL,
                "{what} is made NOT NULL: the ALTER fails if a row still holds NULL"
                " (MariaDB and MySQL check the rows while they rebuild the table in place,"
                " without blocking writes).",
                "Backfill the NULLs first, in batches (UPDATE ... WHERE"
                " {column|the column} IS NULL), then set NOT NULL.",
            ),
        ),
    ),
    Rule(
        "SO109",
        "index-not-concurrent",
        "warning",
        "{what} is created without CONCURRENTLY: writes to {table|the table} are blocked"
        " while it builds.",
        "Build it with postgresql_concurrently=True inside"
        " `with op.get_context().autocommit_block():`.",
        dialects=POSTGRESQL,
    ),
    Rule(
        "SO110",
        "concurrently-in-transaction",
        "error",
        "{what} uses CONCURRENTLY inside the migration's transaction: PostgreSQL refuses"
        " it (CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block).",
        "Wrap it in `with op.get_context().autocommit_block():`.",
        dialects=POSTGRESQL,
    ),
    Rule(
        "SO111",
        "drop-index-not-concurrent",
        "warning",
        "{what} is dropped without CONCURRENTLY: reads and writes of {table|the table}"
        " wait for the lock.",
        "Drop it with postgresql_concurrently=True inside"
        " `with op.get_context().autocommit_block():`.",
        dialects=POSTGRESQL,
    ),
    Rule(
        "SO112",
        "foreign-key-not-valid",
        "warning",
        "{what} is added without NOT VALID: every row of {table|the table} is checked"
        " while writes to both tables are blocked.",
        "Add it with postgresql_not_valid=True, then in a later step"
        ' op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}").',
        dialects=POSTGRESQL | MYSQL,
        variants=(
            Variant(
                MYSQL,
                "{what} is added while foreign_key_checks is on: MariaDB and MySQL then copy"
                " {table|the table} to check every row, blocking writes to it meanwhile.",
                "Make sure no row lacks its parent, then add it with foreign_key_checks off,"
                " which builds it in place without copying the table or checking the old"
                ' rows: op.execute("SET SESSION foreign_key_checks = 0") before it and'
                ' op.execute("SET SESSION foreign_key_checks = 1") after.',
            ),
        ),
    ),
    Rule(
        "SO113",
        "check-not-valid",
        "warning",
        "{what} is added without NOT VALID: every row is checked under an exclusive"
        " lock, and the ALTER fails if one violates it.",
        "On PostgreSQL add it with postgresql_not_valid=True, then"
        ' op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}").',
        variants=(
            Variant(
                MYSQL,
                "{what} is added: MariaDB and MySQL copy the table to check every row,"
                " blocking writes meanwhile, and the ALTER fails if one violates it.",
                "They have no online way to add one: add it while the table is small or in"
                " a maintenance window, marked `# schemaops: ignore[SO113] <why>`, or"
                " check the condition in the app.",
            ),
        ),
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
        variants=(
            Variant(
                POSTGRESQL,
                "{what} is added: it fails if duplicates exist, and builds its index under an"
                " exclusive lock that blocks reads and writes of {table|the table}.",
                "Remove duplicates first, build a unique index CONCURRENTLY (in an"
                " autocommit block), then"
                ' op.execute("ALTER TABLE {table} ADD CONSTRAINT {constraint} UNIQUE USING'
                ' INDEX <index>").',
            ),
            Variant(
                MYSQL,
                "{what} is added: it fails if duplicates exist (MariaDB and MySQL build its"
                " index in place, without blocking writes).",
                "Remove the duplicates first, and make sure the running release writes no"
                " new ones.",
            ),
        ),
    ),
    Rule(
        "SO115",
        "enum-not-dropped",
        "warning",
        "Enum type {enum} is created in upgrade() but not dropped in downgrade(): after a"
        " downgrade the next upgrade fails with 'type already exists'.",
        "Drop it at the end of downgrade():"
        " postgresql.ENUM(name='{enum}').drop(op.get_bind(), checkfirst=True).",
        dialects=POSTGRESQL,
    ),
    Rule(
        "SO116",
        "enum-value-in-transaction",
        "warning",
        "ALTER TYPE {enum} ADD VALUE runs inside the migration's transaction: the new value"
        " cannot be used until it commits, and PostgreSQL before 12 refuses it.",
        "Run it inside `with op.get_context().autocommit_block():`.",
        dialects=POSTGRESQL,
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
    Rule(
        "SO124",
        "recreate-table",
        "warning",
        '{what} is rebuilt by batch mode (recreate="always"): every row is copied into a'
        " new table that replaces it, and it fails if another table's foreign key"
        " references it. With a primary key the table is locked against reads and writes"
        " until the copy is done; without one, what is written meanwhile is lost.",
        'Leave recreate at "auto" (the default), which alters the table in place here and'
        " copies it on SQLite only.",
        dialects=POSTGRESQL | MYSQL,
        variants=(
            Variant(
                MYSQL,
                '{what} is rebuilt by batch mode (recreate="always"): every row is copied'
                " into a new table that replaces it, and it fails if another table's foreign"
                " key references it. Updates to the rows wait until the copy is done.",
            ),
        ),
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
_BY_NAME = {rule.name: rule for rule in _CATALOGUE}


def find(reference: str) -> Rule | None:
    """The rule with this id (``SO101``, any case) or name (``drop-column``)."""
    return RULES.get(reference.strip().upper()) or _BY_NAME.get(reference.strip().lower())
