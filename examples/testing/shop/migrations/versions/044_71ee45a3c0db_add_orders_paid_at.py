"""add orders.paid_at

Revision ID: 71ee45a3c0db
Revises: 44cb730c4204
Create Date: 2024-02-17 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '71ee45a3c0db'
down_revision = '44cb730c4204'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'orders',
        sa.Column('paid_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_column('orders', 'paid_at')
