"""add tags.color

Revision ID: f5ca38f748a1
Revises: 9400f1b21cb5
Create Date: 2024-01-21 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'f5ca38f748a1'
down_revision = '9400f1b21cb5'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'tags',
        sa.Column('color', sa.String(length=7), nullable=True),
    )


def downgrade():
    op.drop_column('tags', 'color')
