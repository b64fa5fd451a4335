"""add customers.name

Revision ID: d4735e3a265e
Revises: 6b86b273ff34
Create Date: 2024-01-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'd4735e3a265e'
down_revision = '6b86b273ff34'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('name', sa.String(length=200), nullable=True),
    )


def downgrade():
    op.drop_column('customers', 'name')
