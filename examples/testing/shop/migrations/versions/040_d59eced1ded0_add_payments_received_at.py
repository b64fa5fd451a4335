"""add payments.received_at

Revision ID: d59eced1ded0
Revises: 0b918943df09
Create Date: 2024-02-13 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'd59eced1ded0'
down_revision = '0b918943df09'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'payments',
        sa.Column('received_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_column('payments', 'received_at')
