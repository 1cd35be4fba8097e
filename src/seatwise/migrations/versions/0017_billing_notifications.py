"""Billing notification addresses (R27): up to 5 extra addresses per organisation that billing e-mail goes to

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_notification_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_billing_notification_addresses_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_notification_addresses')),
    sa.UniqueConstraint('org_id', 'email', name=op.f('uq_billing_notification_addresses_org_id_email'))
    )
    op.create_index(op.f('ix_billing_notification_addresses_org_id'), 'billing_notification_addresses', ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_billing_notification_addresses_org_id'), table_name='billing_notification_addresses')
    op.drop_table('billing_notification_addresses')
