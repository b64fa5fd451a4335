"""Write the shop's revision history: 45 revisions for the default database and 5
for the ``audit`` bind, as a team would have written them over time.

    python generate_history.py     # from this directory; rewrites shop/migrations/

The scripts are committed; this file shows how they were made.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
Step = tuple[str, list[str], list[str]]
MIGRATIONS = HERE / "shop" / "migrations"


def pk() -> str:
    return "sa.Column('id', sa.Integer(), nullable=False)"


def fk(column: str, table: str) -> str:
    return f"sa.Column({column!r}, sa.Integer(), sa.ForeignKey('{table}.id'), nullable=False)"


CREATES = {
    "customers": [pk(), "sa.Column('email', sa.String(length=200), nullable=False)"],
    "products": [
        pk(),
        "sa.Column('sku', sa.String(length=40), nullable=False)",
        "sa.Column('name', sa.String(length=200), nullable=False)",
    ],
    "orders": [pk(), fk("customer_id", "customers")],
    "order_lines": [
        pk(),
        fk("order_id", "orders"),
        fk("product_id", "products"),
        "sa.Column('quantity', sa.Integer(), nullable=False)",
    ],
    "tags": [pk(), "sa.Column('name', sa.String(length=50), nullable=False)"],
    "addresses": [
        pk(),
        fk("customer_id", "customers"),
        "sa.Column('street', sa.String(length=200), nullable=True)",
    ],
    "payments": [
        pk(),
        fk("order_id", "orders"),
        "sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False)",
    ],
    "shipments": [
        pk(),
        fk("order_id", "orders"),
        "sa.Column('carrier', sa.String(length=50), nullable=True)",
    ],
    "reviews": [
        pk(),
        fk("product_id", "products"),
        "sa.Column('rating', sa.Integer(), nullable=False)",
        "sa.Column('body', sa.Text(), nullable=True)",
    ],
}
COLUMNS = [  # (table, column, type), in the order they were added
    ("customers", "name", "sa.String(length=200)"),
    ("products", "description", "sa.Text()"),
    ("products", "price", "sa.Numeric(precision=10, scale=2)"),
    ("orders", "status", "sa.String(length=20)"),
    ("customers", "phone", "sa.String(length=40)"),
    ("products", "stock", "sa.Integer()"),
    ("orders", "created_at", "sa.DateTime()"),
    ("order_lines", "unit_price", "sa.Numeric(precision=10, scale=2)"),
    ("tags", "color", "sa.String(length=7)"),
    ("addresses", "city", "sa.String(length=100)"),
    ("addresses", "postcode", "sa.String(length=20)"),
    ("customers", "birthday", "sa.Date()"),
    ("products", "active", "sa.Boolean()"),
    ("orders", "note", "sa.Text()"),
    ("payments", "method", "sa.String(length=20)"),
    ("shipments", "tracking", "sa.String(length=100)"),
    ("reviews", "created_at", "sa.DateTime()"),
    ("customers", "newsletter", "sa.Boolean()"),
    ("orders", "total", "sa.Numeric(precision=10, scale=2)"),
    ("order_lines", "discount", "sa.Numeric(precision=5, scale=2)"),
    ("addresses", "country", "sa.String(length=2)"),
    ("payments", "received_at", "sa.DateTime()"),
    ("shipments", "shipped_at", "sa.DateTime()"),
    ("products", "weight", "sa.Numeric(precision=8, scale=3)"),
    ("reviews", "title", "sa.String(length=200)"),
    ("orders", "paid_at", "sa.DateTime()"),
    ("customers", "note", "sa.Text()"),
]
INDEXES = [  # (table, column, unique)
    ("customers", "email", True),
    ("products", "sku", True),
    ("orders", "customer_id", False),
    ("orders", "status", False),
    ("products", "active", False),
    ("payments", "method", False),
    ("customers", "name", False),
]


def mariadb_key_index(table: str, column: str) -> str:
    """Downgrade lines for an index on a foreign key column: MariaDB (and MySQL)
    enforce the key with the index, and dropped the one they made for the key when
    it was created, so they refuse to drop it until the key has that one back."""
    return (
        f"# MariaDB enforces the foreign key on {column} with this index, and dropped\n"
        "    # the index it made for the key when this one came: make that one again.\n"
        "    if op.get_bind().dialect.name in ('mysql', 'mariadb'):\n"
        f"        op.create_index({column!r}, {table!r}, [{column!r}], unique=False)"
    )


def default_history() -> list[Step]:
    """(message, upgrade lines, downgrade lines) for each revision, oldest first:
    each new table is followed by columns added to the tables so far, and by an
    index once its column exists."""
    steps: list[Step] = []
    columns, indexes = list(COLUMNS), list(INDEXES)
    present: dict[str, set[str]] = {}

    def add_columns(count: int) -> None:
        for t, c, kind in [x for x in columns if x[0] in present][:count]:
            columns.remove((t, c, kind))
            present[t].add(c)
            column = f"sa.Column({c!r}, {kind}, nullable=True)"
            add = f"op.add_column(\n        {t!r},\n        {column},\n    )"
            steps.append((f"add {t}.{c}", [add], [f"op.drop_column({t!r}, {c!r})"]))
            if (t, c) == ("customers", "name"):  # a data migration
                present[t].add("display_name")
                steps.append(
                    (
                        "add customers.display_name, filled from name",
                        [
                            "op.add_column(\n        'customers',\n"
                            "        sa.Column('display_name', sa.String(length=200),"
                            " nullable=True),\n    )",
                            "op.execute('UPDATE customers SET display_name = name')",
                        ],
                        ["op.drop_column('customers', 'display_name')"],
                    )
                )

    def add_index() -> None:
        for t, c, unique in indexes:
            if c in present.get(t, ()):
                indexes.remove((t, c, unique))
                ix = f"ix_{t}_{c}"
                create = f"op.create_index({ix!r}, {t!r}, [{c!r}], unique={unique})"
                downgrade = [f"op.drop_index({ix!r}, table_name={t!r})"]
                if any(
                    d.startswith(f"sa.Column({c!r}, sa.Integer(), sa.ForeignKey(")
                    for d in CREATES[t]
                ):
                    downgrade.append(mariadb_key_index(t, c))
                steps.append((f"index {t}.{c}", [create], downgrade))
                return

    for name, definition in CREATES.items():
        body = ",\n        ".join([*definition, "sa.PrimaryKeyConstraint('id')"])
        steps.append(
            (
                f"create {name} table",
                [f"op.create_table(\n        {name!r},\n        {body},\n    )"],
                [f"op.drop_table({name!r})"],
            )
        )
        present[name] = set(re.findall(r"sa\.Column\('(\w+)'", body))
        if name == "tags":  # the association table comes with the tags
            steps.append(
                (
                    "create product_tags table",
                    [
                        "op.create_table(\n        'product_tags',\n"
                        "        sa.Column('product_id', sa.Integer(),"
                        " sa.ForeignKey('products.id'), nullable=False),\n"
                        "        sa.Column('tag_id', sa.Integer(), sa.ForeignKey('tags.id'),"
                        " nullable=False),\n"
                        "        sa.PrimaryKeyConstraint('product_id', 'tag_id'),\n    )"
                    ],
                    ["op.drop_table('product_tags')"],
                )
            )
        add_columns(2)
        add_index()
    while columns or indexes:
        add_columns(2)
        add_index()
    return steps


AUDIT = [
    (
        "create audit_events table",
        [
            "op.create_table(\n        'audit_events',\n        " + pk() + ",\n"
            "        sa.Column('action', sa.String(length=50), nullable=False),\n"
            "        sa.PrimaryKeyConstraint('id'),\n    )"
        ],
        ["op.drop_table('audit_events')"],
    ),
    (
        "add audit_events.actor",
        ["op.add_column('audit_events', sa.Column('actor', sa.String(length=100), nullable=True))"],
        ["op.drop_column('audit_events', 'actor')"],
    ),
    (
        "add audit_events.created_at",
        ["op.add_column('audit_events', sa.Column('created_at', sa.DateTime(), nullable=True))"],
        ["op.drop_column('audit_events', 'created_at')"],
    ),
    (
        "index audit_events.action",
        ["op.create_index('ix_audit_events_action', 'audit_events', ['action'], unique=False)"],
        ["op.drop_index('ix_audit_events_action', table_name='audit_events')"],
    ),
    (
        "add audit_events.detail",
        ["op.add_column('audit_events', sa.Column('detail', sa.Text(), nullable=True))"],
        ["op.drop_column('audit_events', 'detail')"],
    ),
]

SCRIPT = '''"""{message}

Revision ID: {revision}
Revises:{down_text}
Create Date: 2024-{month:02d}-{day:02d} 10:00:00.000000
"""

{imports}from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''


def write(folder: Path, prefix: str, steps: list[Step]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    down = None
    for n, (message, upgrade, downgrade) in enumerate(steps, start=1):
        revision = hashlib.sha256(f"{prefix}{n}".encode()).hexdigest()[:12]
        slug = message.split(",")[0].replace(" ", "_").replace(".", "_")
        (folder / f"{prefix}{n:03d}_{revision}_{slug}.py").write_text(
            SCRIPT.format(
                message=message,
                revision=revision,
                down=down,
                down_text=f" {down}" if down else "",
                imports="import sqlalchemy as sa\n" if "sa." in "".join(upgrade) else "",
                month=1 + n // 28,
                day=1 + n % 28,
                upgrade="\n    ".join(upgrade),
                downgrade="\n    ".join(reversed(downgrade)),
            )
        )
        down = revision


def main() -> None:
    from shop import create_app

    from flask_schemaops import api

    shutil.rmtree(MIGRATIONS, ignore_errors=True)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SQLALCHEMY_BINDS": {"audit": "sqlite://"}}
    )
    with app.app_context():
        api.init()
    history = default_history()
    write(MIGRATIONS / "versions", "", history)
    write(MIGRATIONS / "binds" / "audit", "a", AUDIT)
    print(f"{len(history)} + {len(AUDIT)} revisions in {MIGRATIONS}")


if __name__ == "__main__":
    main()
