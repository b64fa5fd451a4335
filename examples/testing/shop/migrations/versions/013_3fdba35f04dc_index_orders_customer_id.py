"""index orders.customer_id

Revision ID: 3fdba35f04dc
Revises: 6b51d431df5d
Create Date: 2024-01-14 10:00:00.000000
"""

from alembic import op

revision = '3fdba35f04dc'
down_revision = '6b51d431df5d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_customer_id', 'orders', ['customer_id'], unique=False)


def downgrade():
    # MariaDB enforces the foreign key on customer_id with this index, and dropped
    # the index it made for the key when this one came: make that one again.
    if op.get_bind().dialect.name in ('mysql', 'mariadb'):
        op.create_index('customer_id', 'orders', ['customer_id'], unique=False)
    op.drop_index('ix_orders_customer_id', table_name='orders')
