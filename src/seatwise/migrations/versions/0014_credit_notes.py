"""Credit notes (R25): their own series, their lines, and the money they carry in payments and the ledger

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_NAMED = ('charges', 'ledger', 'payments')


def upgrade() -> None:
    op.create_table(
        'credit_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=28), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('net', sa.BigInteger(), nullable=False),
        sa.Column('vat', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('spent', sa.BigInteger(), nullable=False),
        sa.Column('refunded', sa.BigInteger(), nullable=False),
        sa.Column('settle_on', seatwise.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('vendor_version_id', sa.Integer(), nullable=True),
        sa.Column('billing_profile_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['vendor_version_id'], ['vendor_profile_versions.id'],
            name=op.f('fk_credit_notes_vendor_version_id_vendor_profile_versions'),
        ),
        sa.ForeignKeyConstraint(
            ['billing_profile_id'], ['billing_profiles.id'], name=op.f('fk_credit_notes_billing_profile_id_billing_profiles')
        ),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_credit_notes_org_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
        sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number')),
    )
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_notes_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_notes_settle_on'), ['settle_on'], unique=False)
    op.create_table(
        'credit_note_counters',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_credit_note_counters')),
    )
    for table in _NAMED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('credit_note_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_credit_note_id_credit_notes'), 'credit_notes', ['credit_note_id'], ['id']
            )
            if table != 'ledger':
                batch_op.create_index(batch_op.f(f'ix_{table}_credit_note_id'), ['credit_note_id'], unique=False)


def downgrade() -> None:
    for table in reversed(_NAMED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table != 'ledger':
                batch_op.drop_index(batch_op.f(f'ix_{table}_credit_note_id'))
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_credit_note_id_credit_notes'), type_='foreignkey')
            batch_op.drop_column('credit_note_id')
    op.drop_table('credit_note_counters')
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_notes_settle_on'))
        batch_op.drop_index(batch_op.f('ix_credit_notes_org_id'))
    op.drop_table('credit_notes')
