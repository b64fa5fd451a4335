"""create tags table

Revision ID: 4ec9599fc203
Revises: 4523540f1504
Create Date: 2024-01-19 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '4ec9599fc203'
down_revision = '4523540f1504'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('tags')
