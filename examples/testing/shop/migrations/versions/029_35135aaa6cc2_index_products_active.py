"""index products.active

Revision ID: 35135aaa6cc2
Revises: 59e19706d51d
Create Date: 2024-02-02 10:00:00.000000
"""

from alembic import op

revision = '35135aaa6cc2'
down_revision = '59e19706d51d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_products_active', 'products', ['active'], unique=False)


def downgrade():
    op.drop_index('ix_products_active', table_name='products')
