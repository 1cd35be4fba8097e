"""The billing run that runs by itself: the schedule's last pass and when the next is due

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_schedule',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('started_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('subscriptions', sa.Integer(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('payments', sa.JSON(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['billing_runs.id'], name=op.f('fk_billing_schedule_run_id_billing_runs')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_billing_schedule'))
    )


def downgrade() -> None:
    op.drop_table('billing_schedule')
