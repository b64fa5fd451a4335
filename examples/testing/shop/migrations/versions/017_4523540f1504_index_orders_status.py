"""index orders.status

Revision ID: 4523540f1504
Revises: b17ef6d19c7a
Create Date: 2024-01-18 10:00:00.000000
"""

from alembic import op

revision = '4523540f1504'
down_revision = 'b17ef6d19c7a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_status', 'orders', ['status'], unique=False)


def downgrade():
    op.drop_index('ix_orders_status', table_name='orders')
