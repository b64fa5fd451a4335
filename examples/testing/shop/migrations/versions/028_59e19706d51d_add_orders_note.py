"""add orders.note

Revision ID: 59e19706d51d
Revises: 670671cd9740
Create Date: 2024-02-01 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '59e19706d51d'
down_revision = '670671cd9740'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'orders',
        sa.Column('note', sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_column('orders', 'note')
