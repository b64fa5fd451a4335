"""index audit_events.action

Revision ID: 4539e4b48890
Revises: f46dd28a5499
Create Date: 2024-01-05 10:00:00.000000
"""

from alembic import op

revision = '4539e4b48890'
down_revision = 'f46dd28a5499'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_action', 'audit_events', ['action'], unique=False)


def downgrade():
    op.drop_index('ix_audit_events_action', table_name='audit_events')
