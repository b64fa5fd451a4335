"""step 2: sleep, then record that this revision ran

Revision ID: r2
Revises: r1
"""

import os
import time

from alembic import op

revision = "r2"
down_revision = "r1"
branch_labels = None
depends_on = None


def upgrade():

    time.sleep(float(os.environ.get("MIGRATION_SLEEP", "0.2")))
    op.execute("INSERT INTO runs (revision) VALUES ('r2')")


def downgrade():
    op.execute("DELETE FROM runs WHERE revision = 'r2'")
