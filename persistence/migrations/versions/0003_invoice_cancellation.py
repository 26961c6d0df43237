"""invoice cancellation: one live invoice per sale, cancellation data

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A cancelled CFDI (c_MotivoCancelacion 01, 02 or 04) gives its sale back to the customer,
who may self-invoice it again with corrected data: a second invoice row for the same sale,
with a new folio. So the unique constraint uq_invoice_sale becomes a partial unique index
over the rows that are not CANCELLED; it still makes issuing exactly-once (two concurrent
claims of one sale: one of them fails on it). Partial indexes exist on SQLite (3.8+) and
PostgreSQL alike; persistence/tables.py declares exactly this index.

Downgrade restores uq_invoice_sale, which fails while a sale has more than one invoice row.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'CANCELLED'"  # persistence.tables.INVOICE_SALE_ACTIVE_WHERE, frozen here


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancellation_reason', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))
        batch_op.add_column(sa.Column('replacement_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.drop_constraint('uq_invoice_sale', type_='unique')
    op.create_index(
        'uq_invoice_sale_active', 'invoice', ['sale_id'], unique=True,
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index('uq_invoice_sale_active', table_name='invoice')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_invoice_sale', ['sale_id'])
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('replacement_uuid')
        batch_op.drop_column('cancellation_reason')
