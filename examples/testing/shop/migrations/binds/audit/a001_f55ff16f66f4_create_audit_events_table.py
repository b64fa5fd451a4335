"""create audit_events table

Revision ID: f55ff16f66f4
Revises:
Create Date: 2024-01-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'f55ff16f66f4'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('audit_events')
