"""add customers.phone

Revision ID: 4b227777d4dd
Revises: 4e07408562be
Create Date: 2024-01-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '4b227777d4dd'
down_revision = '4e07408562be'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('phone', sa.String(length=40), nullable=True),
    )


def downgrade():
    op.drop_column('customers', 'phone')
