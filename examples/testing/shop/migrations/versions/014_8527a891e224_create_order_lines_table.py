"""create order_lines table

Revision ID: 8527a891e224
Revises: 3fdba35f04dc
Create Date: 2024-01-15 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '8527a891e224'
down_revision = '3fdba35f04dc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'order_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('orders.id'), nullable=False),
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id'), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('order_lines')
