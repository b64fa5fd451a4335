"""add audit_events.created_at

Revision ID: f46dd28a5499
Revises: 2c3a4249d770
Create Date: 2024-01-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'f46dd28a5499'
down_revision = '2c3a4249d770'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('created_at', sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column('audit_events', 'created_at')
