"""step 1: sleep, then record that this revision ran

Revision ID: r1
Revises:
"""

import os
import time

import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.String(20), nullable=False),
    )
    time.sleep(float(os.environ.get("MIGRATION_SLEEP", "0.2")))
    op.execute("INSERT INTO runs (revision) VALUES ('r1')")


def downgrade():
    op.drop_table("runs")
