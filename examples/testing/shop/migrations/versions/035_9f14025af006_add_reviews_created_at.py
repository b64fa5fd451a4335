"""add reviews.created_at

Revision ID: 9f14025af006
Revises: 86e501496586
Create Date: 2024-02-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '9f14025af006'
down_revision = '86e501496586'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'reviews',
        sa.Column('created_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_column('reviews', 'created_at')
