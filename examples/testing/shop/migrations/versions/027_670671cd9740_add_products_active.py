"""add products.active

Revision ID: 670671cd9740
Revises: 5f9c4ab08cac
Create Date: 2024-01-28 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '670671cd9740'
down_revision = '5f9c4ab08cac'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'products',
        sa.Column('active', sa.Boolean(), nullable=True),
    )


def downgrade():
    op.drop_column('products', 'active')
