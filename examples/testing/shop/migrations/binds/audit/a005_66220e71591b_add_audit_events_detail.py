"""add audit_events.detail

Revision ID: 66220e71591b
Revises: 4539e4b48890
Create Date: 2024-01-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '66220e71591b'
down_revision = '4539e4b48890'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('detail', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('audit_events', 'detail')
