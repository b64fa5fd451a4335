"""add payments.method

Revision ID: eb1e33e8a81b
Revises: 624b60c58c9d
Create Date: 2024-02-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'eb1e33e8a81b'
down_revision = '624b60c58c9d'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'payments',
        sa.Column('method', sa.String(length=20), nullable=True),
    )


def downgrade():
    op.drop_column('payments', 'method')
