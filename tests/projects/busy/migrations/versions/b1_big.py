"""a table of 20,000 rows, about 5 MB

Revision ID: b1
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "b1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "big",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pad", sa.String(300)),
    )
    op.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000)"
        " INSERT INTO big (id, pad) SELECT x, printf('%.250c', 'x') FROM n"
    )


def downgrade():
    op.drop_table("big")
