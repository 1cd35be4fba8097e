"""What an invoice line's words are made of (R26): the product of a period line and the days of the period a
prorated line is cut from, so that each reader gets the words in their own language

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('period_days', sa.Integer(), nullable=True))
    # Lines from before keep only their words, in the organisation's language when they arose: the days of the
    # period a prorated line was cut from are not kept anywhere else.


def downgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_column('period_days')
        batch_op.drop_column('product_name')
