"""step 4: an index built concurrently on PostgreSQL, outside any transaction

Revision ID: r4
Revises: r3
"""

import os
import time

from alembic import op

revision = "r4"
down_revision = "r3"
branch_labels = None
depends_on = None


def upgrade():
    time.sleep(float(os.environ.get("MIGRATION_SLEEP", "0.2")))
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index("ix_runs_revision", "runs", ["revision"], postgresql_concurrently=True)
    else:
        op.create_index("ix_runs_revision", "runs", ["revision"])
    op.execute("INSERT INTO runs (revision) VALUES ('r4')")


def downgrade():
    op.execute("DELETE FROM runs WHERE revision = 'r4'")
    op.drop_index("ix_runs_revision", table_name="runs")
