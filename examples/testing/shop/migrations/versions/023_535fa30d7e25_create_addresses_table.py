"""create addresses table

Revision ID: 535fa30d7e25
Revises: 785f3ec7eb32
Create Date: 2024-01-24 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '535fa30d7e25'
down_revision = '785f3ec7eb32'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'addresses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('street', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('addresses')
