"""add order_lines.discount

Revision ID: aea92132c4cb
Revises: 7a61b53701be
Create Date: 2024-02-11 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'aea92132c4cb'
down_revision = '7a61b53701be'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'order_lines',
        sa.Column('discount', sa.Numeric(precision=5, scale=2), nullable=True),
    )


def downgrade():
    op.drop_column('order_lines', 'discount')
