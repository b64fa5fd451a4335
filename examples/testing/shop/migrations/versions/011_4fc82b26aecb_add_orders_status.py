"""add orders.status

Revision ID: 4fc82b26aecb
Revises: 4a44dc153642
Create Date: 2024-01-12 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '4fc82b26aecb'
down_revision = '4a44dc153642'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'orders',
        sa.Column('status', sa.String(length=20), nullable=True),
    )


def downgrade():
    op.drop_column('orders', 'status')
