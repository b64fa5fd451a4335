"""step 3: sleep, then record that this revision ran

Revision ID: r3
Revises: r2
"""

import os
import time

from alembic import op

revision = "r3"
down_revision = "r2"
branch_labels = None
depends_on = None


def upgrade():

    time.sleep(float(os.environ.get("MIGRATION_SLEEP", "0.2")))
    op.execute("INSERT INTO runs (revision) VALUES ('r3')")


def downgrade():
    op.execute("DELETE FROM runs WHERE revision = 'r3'")
