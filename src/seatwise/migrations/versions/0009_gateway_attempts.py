"""Card charges outside transactions: payment attempts with keys, gateway customers

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('sent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('refunds', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payments_key'), ['key'])
        batch_op.create_index(batch_op.f('ix_payments_status'), ['status'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('sent', server_default=None)
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer', sa.String(length=100), nullable=True))
    # Cards saved before: the simulator's customer per organisation.
    op.execute("UPDATE payment_methods SET customer = 'sim_cus_' || org_id WHERE kind = 'card'")


def downgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_column('customer')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_status'))
        batch_op.drop_constraint(batch_op.f('uq_payments_key'), type_='unique')
        batch_op.drop_column('refunds')
        batch_op.drop_column('reference')
        batch_op.drop_column('sent')
        batch_op.drop_column('key')
