"""merchant branding: merchant_branding table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Display name, accent colour and logo (sanitised PNG or SVG, at most 200 kB) of a merchant's
portal page and PDFs, one row per merchant, apart from the merchant row so that the logo is
not read with every lookup.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant_branding',
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('accent_color', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_media_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('logo_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('merchant_id')
    )


def downgrade() -> None:
    op.drop_table('merchant_branding')
