"""create products table

Revision ID: e7f6c011776e
Revises: ef2d127de37b
Create Date: 2024-01-07 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e7f6c011776e'
down_revision = 'ef2d127de37b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'products',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('products')
