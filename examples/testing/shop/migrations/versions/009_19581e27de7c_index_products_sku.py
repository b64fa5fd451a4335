"""index products.sku

Revision ID: 19581e27de7c
Revises: 2c624232cdd2
Create Date: 2024-01-10 10:00:00.000000
"""

from alembic import op

revision = '19581e27de7c'
down_revision = '2c624232cdd2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_products_sku', 'products', ['sku'], unique=True)


def downgrade():
    op.drop_index('ix_products_sku', table_name='products')
