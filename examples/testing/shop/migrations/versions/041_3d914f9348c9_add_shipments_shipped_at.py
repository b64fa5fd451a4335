"""add shipments.shipped_at

Revision ID: 3d914f9348c9
Revises: d59eced1ded0
Create Date: 2024-02-14 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '3d914f9348c9'
down_revision = 'd59eced1ded0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'shipments',
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_column('shipments', 'shipped_at')
