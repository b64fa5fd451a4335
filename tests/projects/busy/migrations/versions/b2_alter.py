"""a batch copy of the big table, which holds the database's write lock

Revision ID: b2
Revises: b1
"""

import os
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "b2"
down_revision = "b1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("big") as batch:
        batch.alter_column("pad", existing_type=sa.String(300), type_=sa.Text())
    hold = os.environ.get("HOLD")
    if hold:
        written = Path(hold) / "holding.tmp"
        written.write_text(str(os.getpid()))
        written.rename(Path(hold) / "holding")  # whole, once it appears
        deadline = time.monotonic() + 120
        while not (Path(hold) / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def downgrade():
    with op.batch_alter_table("big") as batch:
        batch.alter_column("pad", existing_type=sa.Text(), type_=sa.String(300))
