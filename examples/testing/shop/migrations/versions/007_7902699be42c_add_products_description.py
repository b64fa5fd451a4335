"""add products.description

Revision ID: 7902699be42c
Revises: e7f6c011776e
Create Date: 2024-01-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '7902699be42c'
down_revision = 'e7f6c011776e'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'products',
        sa.Column('description', sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_column('products', 'description')
