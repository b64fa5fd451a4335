"""add addresses.country

Revision ID: 0b918943df09
Revises: aea92132c4cb
Create Date: 2024-02-12 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0b918943df09'
down_revision = 'aea92132c4cb'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'addresses',
        sa.Column('country', sa.String(length=2), nullable=True),
    )


def downgrade():
    op.drop_column('addresses', 'country')
