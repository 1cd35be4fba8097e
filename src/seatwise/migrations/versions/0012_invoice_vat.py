"""VAT on invoices (R24): each line's category and rate, each invoice's net and VAT; longer invoice numbers
for the vendor's prefix (R22)

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_category', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('vat_rate', sa.String(length=6), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('net', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('vat', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.alter_column('number', type_=sa.String(length=24), existing_type=sa.String(length=20))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('net', server_default=None)
        batch_op.alter_column('vat', server_default=None)
    # Invoices issued before had no VAT: their lines add up to their charges less every credit.
    op.execute("UPDATE invoices SET net = total - credit_applied - refunded - transferred")


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('number', type_=sa.String(length=20), existing_type=sa.String(length=24))
        batch_op.drop_column('vat')
        batch_op.drop_column('net')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_column('vat_rate')
        batch_op.drop_column('vat_category')
