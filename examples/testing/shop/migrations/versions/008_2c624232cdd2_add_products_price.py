"""add products.price

Revision ID: 2c624232cdd2
Revises: 7902699be42c
Create Date: 2024-01-09 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '2c624232cdd2'
down_revision = '7902699be42c'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'products',
        sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=True),
    )


def downgrade():
    op.drop_column('products', 'price')
