"""index customers.name

Revision ID: 785f3ec7eb32
Revises: 6f4b6612125f
Create Date: 2024-01-23 10:00:00.000000
"""

from alembic import op

revision = '785f3ec7eb32'
down_revision = '6f4b6612125f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_customers_name', 'customers', ['name'], unique=False)


def downgrade():
    op.drop_index('ix_customers_name', table_name='customers')
