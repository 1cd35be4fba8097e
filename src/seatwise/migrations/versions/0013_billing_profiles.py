"""Billing profiles of organisations and versions of the vendor's profile (R23); invoices point at both

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vendor_profile_versions',
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
    sa.Column('created_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_profile_versions'))
    )
    op.create_table('billing_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('vat_id', sa.String(length=20), nullable=True),
    sa.Column('po_number', sa.String(length=100), nullable=True),
    sa.Column('exempt_reason', sa.String(length=200), nullable=True),
    sa.Column('invoice_emails', sa.JSON(), nullable=False),
    sa.Column('invoice_language', sa.String(length=2), nullable=False),
    sa.Column('created_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_billing_profiles_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_profiles'))
    )
    op.create_index(op.f('ix_billing_profiles_org_id'), 'billing_profiles', ['org_id'], unique=False)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('billing_profile_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_invoices_vendor_version_id_vendor_profile_versions'),
            'vendor_profile_versions', ['vendor_version_id'], ['id'],
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_invoices_billing_profile_id_billing_profiles'), 'billing_profiles', ['billing_profile_id'], ['id']
        )
    # The vendor's profile as it is now is its first version. Invoices issued before keep none: which profile
    # they were issued with is not known.
    op.execute(
        "INSERT INTO vendor_profile_versions (name, address_line, postcode, city, country, vat_id, company_id, iban,"
        " oss, invoice_prefix, created_at, actor)"
        " SELECT name, address_line, postcode, city, country, vat_id, company_id, iban, oss, invoice_prefix,"
        " updated_at, 'migration' FROM vendor_profile"
    )


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoices_billing_profile_id_billing_profiles'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_invoices_vendor_version_id_vendor_profile_versions'), type_='foreignkey')
        batch_op.drop_column('billing_profile_id')
        batch_op.drop_column('vendor_version_id')
    op.drop_index(op.f('ix_billing_profiles_org_id'), table_name='billing_profiles')
    op.drop_table('billing_profiles')
    op.drop_table('vendor_profile_versions')
