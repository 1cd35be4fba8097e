"""Idempotency-Key replays send the headers the route set (a subscription's ETag); webhook deliveries
record the lease of the attempt under way

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.Text(), nullable=True))
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_until', seatwise.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_column('leased_until')
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_column('headers')
