"""add audit_events.actor

Revision ID: 2c3a4249d770
Revises: f55ff16f66f4
Create Date: 2024-01-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '2c3a4249d770'
down_revision = 'f55ff16f66f4'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('actor', sa.String(length=100), nullable=True))


def downgrade():
    op.drop_column('audit_events', 'actor')
