"""CSD expiry notices: csd_expiry_notice table

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

One row per merchant, certificate (NoCertificado) and threshold (30 or 7 days before the
CSD expires): the unique constraint makes the expiry sweep idempotent. A replaced CSD has
another NoCertificado, so its notices start afresh.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('csd_expiry_notice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('certificate_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('valid_to', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('merchant_id', 'certificate_number', 'days_before', name='uq_csd_expiry_notice')
    )


def downgrade() -> None:
    op.drop_table('csd_expiry_notice')
