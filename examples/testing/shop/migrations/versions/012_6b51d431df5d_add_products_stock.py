"""add products.stock

Revision ID: 6b51d431df5d
Revises: 4fc82b26aecb
Create Date: 2024-01-13 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '6b51d431df5d'
down_revision = '4fc82b26aecb'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'products',
        sa.Column('stock', sa.Integer(), nullable=True),
    )


def downgrade():
    op.drop_column('products', 'stock')
