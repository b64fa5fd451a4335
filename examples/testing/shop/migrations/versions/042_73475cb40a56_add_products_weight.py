"""add products.weight

Revision ID: 73475cb40a56
Revises: 3d914f9348c9
Create Date: 2024-02-15 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '73475cb40a56'
down_revision = '3d914f9348c9'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'products',
        sa.Column('weight', sa.Numeric(precision=8, scale=3), nullable=True),
    )


def downgrade():
    op.drop_column('products', 'weight')
