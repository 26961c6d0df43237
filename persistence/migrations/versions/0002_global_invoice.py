"""factura global: global_invoice table and sale.global_invoice_id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

A merchant has at most one factura global per (periodicity, months, year); the sales it
covers point to it. Runs on SQLite (batch mode) and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('global_invoice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=25), nullable=False),
    sa.Column('folio', sa.Integer(), nullable=False),
    sa.Column('periodicity', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('months', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('sale_count', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('signed_xml', sa.LargeBinary(), nullable=True),
    sa.Column('document_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('stamped_xml', sa.LargeBinary(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('sandbox', sa.Boolean(), nullable=False),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('merchant_id', 'periodicity', 'months', 'year', name='uq_global_invoice_period'),
    sa.UniqueConstraint('merchant_id', 'series', 'folio', name='uq_global_invoice_folio'),
    sa.UniqueConstraint('public_id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('global_invoice', schema=None) as batch_op:
        batch_op.create_index('ix_global_invoice_merchant_created', ['merchant_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.add_column(sa.Column('global_invoice_id', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sale_global_invoice_id'), ['global_invoice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_global_invoice_id'))
        batch_op.drop_column('global_invoice_id')

    with op.batch_alter_table('global_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_global_invoice_merchant_created')

    op.drop_table('global_invoice')
