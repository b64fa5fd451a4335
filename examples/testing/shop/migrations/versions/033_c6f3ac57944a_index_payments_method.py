"""index payments.method

Revision ID: c6f3ac57944a
Revises: e29c9c180c62
Create Date: 2024-02-06 10:00:00.000000
"""

from alembic import op

revision = 'c6f3ac57944a'
down_revision = 'e29c9c180c62'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_payments_method', 'payments', ['method'], unique=False)


def downgrade():
    op.drop_index('ix_payments_method', table_name='payments')
