"""Sign-in throttling per client and address, idle sessions, e-mail addresses unique per organisation

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
import seatwise.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The old lock-out rows count per address only; they are a quarter of an hour's state at most, so they
    # are dropped rather than carried over into keys they never had.
    op.drop_table('sign_in_attempts')
    op.create_table('sign_in_attempts',
    sa.Column('realm', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('since', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', seatwise.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('realm', 'email', 'client', name=op.f('pk_sign_in_attempts'))
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_since'), ['since'], unique=False)

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', seatwise.db.UTCDateTime(timezone=True), nullable=True))
    op.execute('UPDATE web_sessions SET last_seen_at = created_at')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=seatwise.db.UTCDateTime(timezone=True), nullable=False)

    # SQLite rebuilds the table to change a constraint (env.py turns foreign keys off meanwhile); every id is
    # copied as it was, so the rows referring to users stay valid.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_email', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_users_org_id_email'), ['org_id', 'email'])
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))
        batch_op.drop_constraint(batch_op.f('uq_users_org_id_email'), type_='unique')
        batch_op.create_unique_constraint('uq_users_email', ['email'])
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    op.drop_table('sign_in_attempts')
    op.create_table('sign_in_attempts',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', seatwise.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_sign_in_attempts'))
    )

