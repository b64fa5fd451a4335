"""add customers.newsletter

Revision ID: 76a50887d8f1
Revises: 9f14025af006
Create Date: 2024-02-09 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '76a50887d8f1'
down_revision = '9f14025af006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('newsletter', sa.Boolean(), nullable=True),
    )


def downgrade():
    op.drop_column('customers', 'newsletter')
