"""add orders.created_at

Revision ID: e629fa6598d7
Revises: 8527a891e224
Create Date: 2024-01-16 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e629fa6598d7'
down_revision = '8527a891e224'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'orders',
        sa.Column('created_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_column('orders', 'created_at')
