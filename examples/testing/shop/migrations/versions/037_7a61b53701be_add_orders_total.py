"""add orders.total

Revision ID: 7a61b53701be
Revises: 76a50887d8f1
Create Date: 2024-02-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '7a61b53701be'
down_revision = '76a50887d8f1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'orders',
        sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=True),
    )


def downgrade():
    op.drop_column('orders', 'total')
