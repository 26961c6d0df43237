"""real PAC: the audit of PAC calls, the cancellation's acuse and note

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

pac_call keeps every call to the PAC (operation, document hash, outcome, duration) for
the merchant's audit (issue 11). invoice.cancellation_acuse holds SAT's acuse of the
cancellation request and invoice.cancellation_note why a requested cancellation did not
happen (the receiver rejected it). Plain types only: the same on SQLite and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'pac_call',
        sa.Column('id', _BigId, primary_key=True, autoincrement=True),
        sa.Column('merchant_id', sa.Integer(), sa.ForeignKey('merchant.id'), nullable=False),
        sa.Column('document_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('document_id', sa.BigInteger(), nullable=False),
        sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('document_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index('ix_pac_call_merchant_at', 'pac_call', ['merchant_id', 'at', 'id'])
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancellation_acuse', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('cancellation_note')
        batch_op.drop_column('cancellation_acuse')
    op.drop_index('ix_pac_call_merchant_at', table_name='pac_call')
    op.drop_table('pac_call')
