"""The vendor's legal profile (R22)

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vendor_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('vat_id', sa.String(length=20), nullable=True),
    sa.Column('company_id', sa.String(length=30), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('oss', sa.Boolean(), nullable=False),
    sa.Column('invoice_prefix', sa.String(length=10), nullable=False),
    sa.Column('updated_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_vendor_profile_one_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_profile'))
    )


def downgrade() -> None:
    op.drop_table('vendor_profile')
