"""create product_tags table

Revision ID: 9400f1b21cb5
Revises: 4ec9599fc203
Create Date: 2024-01-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '9400f1b21cb5'
down_revision = '4ec9599fc203'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'product_tags',
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id'), nullable=False),
        sa.Column('tag_id', sa.Integer(), sa.ForeignKey('tags.id'), nullable=False),
        sa.PrimaryKeyConstraint('product_id', 'tag_id'),
    )


def downgrade():
    op.drop_table('product_tags')
