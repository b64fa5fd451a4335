"""index customers.email

Revision ID: ef2d127de37b
Revises: 4b227777d4dd
Create Date: 2024-01-06 10:00:00.000000
"""

from alembic import op

revision = 'ef2d127de37b'
down_revision = '4b227777d4dd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_customers_email', 'customers', ['email'], unique=True)


def downgrade():
    op.drop_index('ix_customers_email', table_name='customers')
