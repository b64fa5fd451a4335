"""add customers.birthday

Revision ID: 6f4b6612125f
Revises: f5ca38f748a1
Create Date: 2024-01-22 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '6f4b6612125f'
down_revision = 'f5ca38f748a1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('birthday', sa.Date(), nullable=True),
    )


def downgrade():
    op.drop_column('customers', 'birthday')
