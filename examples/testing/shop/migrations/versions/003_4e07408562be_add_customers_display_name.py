"""add customers.display_name, filled from name

Revision ID: 4e07408562be
Revises: d4735e3a265e
Create Date: 2024-01-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '4e07408562be'
down_revision = 'd4735e3a265e'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('display_name', sa.String(length=200), nullable=True),
    )
    op.execute('UPDATE customers SET display_name = name')


def downgrade():
    op.drop_column('customers', 'display_name')
