"""create customers table

Revision ID: 6b86b273ff34
Revises:
Create Date: 2024-01-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '6b86b273ff34'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'customers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('customers')
