"""add shipments.tracking

Revision ID: e29c9c180c62
Revises: eb1e33e8a81b
Create Date: 2024-02-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e29c9c180c62'
down_revision = 'eb1e33e8a81b'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'shipments',
        sa.Column('tracking', sa.String(length=100), nullable=True),
    )


def downgrade():
    op.drop_column('shipments', 'tracking')
