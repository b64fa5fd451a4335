"""create payments table

Revision ID: 5f9c4ab08cac
Revises: b7a56873cd77
Create Date: 2024-01-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '5f9c4ab08cac'
down_revision = 'b7a56873cd77'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('orders.id'), nullable=False),
        sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('payments')
