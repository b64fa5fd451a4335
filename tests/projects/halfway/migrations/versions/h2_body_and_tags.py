"""body and tags

Revision ID: h2
Revises: h1
"""

import os
import time

import sqlalchemy as sa
from alembic import op

revision = "h2"
down_revision = "h1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notes", sa.Column("body", sa.Text))
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
    )
    time.sleep(float(os.environ.get("HALFWAY_SLEEP", "0")))
    op.create_index("ix_tags_name", "tags", ["name"])


def downgrade():
    op.drop_index("ix_tags_name", table_name="tags")
    op.drop_table("tags")
    op.drop_column("notes", "body")
