"""create reviews table

Revision ID: 86e501496586
Revises: c6f3ac57944a
Create Date: 2024-02-07 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '86e501496586'
down_revision = 'c6f3ac57944a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id'), nullable=False),
        sa.Column('rating', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('reviews')
