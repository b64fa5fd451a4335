"""create shipments table

Revision ID: 624b60c58c9d
Revises: 35135aaa6cc2
Create Date: 2024-02-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '624b60c58c9d'
down_revision = '35135aaa6cc2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shipments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('orders.id'), nullable=False),
        sa.Column('carrier', sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('shipments')
