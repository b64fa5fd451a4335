"""add customers.note

Revision ID: 811786ad1ae7
Revises: 71ee45a3c0db
Create Date: 2024-02-18 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '811786ad1ae7'
down_revision = '71ee45a3c0db'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'customers',
        sa.Column('note', sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_column('customers', 'note')
