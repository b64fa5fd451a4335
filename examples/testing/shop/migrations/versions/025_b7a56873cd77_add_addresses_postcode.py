"""add addresses.postcode

Revision ID: b7a56873cd77
Revises: c2356069e9d1
Create Date: 2024-01-26 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'b7a56873cd77'
down_revision = 'c2356069e9d1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'addresses',
        sa.Column('postcode', sa.String(length=20), nullable=True),
    )


def downgrade():
    op.drop_column('addresses', 'postcode')
