"""add reviews.title

Revision ID: 44cb730c4204
Revises: 73475cb40a56
Create Date: 2024-02-16 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '44cb730c4204'
down_revision = '73475cb40a56'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'reviews',
        sa.Column('title', sa.String(length=200), nullable=True),
    )


def downgrade():
    op.drop_column('reviews', 'title')
