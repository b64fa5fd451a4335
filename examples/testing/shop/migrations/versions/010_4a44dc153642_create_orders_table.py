"""create orders table

Revision ID: 4a44dc153642
Revises: 19581e27de7c
Create Date: 2024-01-11 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '4a44dc153642'
down_revision = '19581e27de7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('orders')
