"""customer portal (issue 15): combined tickets and the customer's corrections

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

sale.invoice_id: the self-invoice that covers a sale together with other tickets
(services/portal/multi.py). invoice.correction and invoice.related_uuid: a customer's
correction is the next `correction` of the same sale, related to the one it replaces by
CfdiRelacionados TipoRelacion 04; the partial unique index moves from (sale_id) to
(sale_id, correction), still over every status but CANCELLED.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'CANCELLED'"  # persistence.tables.INVOICE_SALE_ACTIVE_WHERE, frozen here


def upgrade() -> None:
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_id', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_sale_invoice_id', ['invoice_id'])
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('related_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
    op.drop_index('uq_invoice_sale_active', table_name='invoice')
    op.create_index(
        'uq_invoice_sale_active', 'invoice', ['sale_id', 'correction'], unique=True,
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index('uq_invoice_sale_active', table_name='invoice')
    op.create_index(
        'uq_invoice_sale_active', 'invoice', ['sale_id'], unique=True,
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('related_uuid')
        batch_op.drop_column('correction')
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.drop_index('ix_sale_invoice_id')
        batch_op.drop_column('invoice_id')
