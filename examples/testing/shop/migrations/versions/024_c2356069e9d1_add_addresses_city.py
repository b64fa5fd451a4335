"""add addresses.city

Revision ID: c2356069e9d1
Revises: 535fa30d7e25
Create Date: 2024-01-25 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'c2356069e9d1'
down_revision = '535fa30d7e25'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'addresses',
        sa.Column('city', sa.String(length=100), nullable=True),
    )


def downgrade():
    op.drop_column('addresses', 'city')
