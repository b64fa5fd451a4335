"""add order_lines.unit_price

Revision ID: b17ef6d19c7a
Revises: e629fa6598d7
Create Date: 2024-01-17 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'b17ef6d19c7a'
down_revision = 'e629fa6598d7'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'order_lines',
        sa.Column('unit_price', sa.Numeric(precision=10, scale=2), nullable=True),
    )


def downgrade():
    op.drop_column('order_lines', 'unit_price')
