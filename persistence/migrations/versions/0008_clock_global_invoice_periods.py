"""fiscal clock: facturas globales by period (all five c_Periodicidad), split in parts,
cancelled with motivo 04 and replaced; the merchant's periodicity and automatic issue

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A factura global is identified by its period [period_start, period_end) (UTC instants of
the merchant's local midnights), not by (Meses, Año) alone: several daily or weekly
globals share one month (Guía de llenado del CFDI global, InformacionGlobal). A period
may need several CFDIs (part 1, 2 ...: split at a number of Conceptos, or sales that
arrived after the first one). replaces_id links a replacement global to the one it
replaces (cancelled with motivo 04, related with TipoRelacion 04). Existing rows (monthly
and bimonthly only) get their period computed from (months, year) in their merchant's
time zone. Downgrade restores uq_global_invoice_period, which fails while a period has
more than one global.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ORIGINAL = "replaces_id IS NULL"  # persistence.tables.GLOBAL_ORIGINAL_WHERE, frozen here


def _bounds(periodicity: str, months: str, year: int, zone) -> tuple[datetime, datetime]:
    """Monthly (c_Meses 01-12) or bimonthly (13-18) period, local midnights, as UTC (frozen
    copy of what services/global_invoice/period.py computed when this migration was written)."""
    if periodicity == "05":
        first, span = 2 * (int(months) - 12) - 1, 2
    else:
        first, span = int(months), 1
    last = first + span
    start = datetime(year, first, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone) if last > 12 else datetime(year, last, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('global_invoice_periodicity', sqlmodel.sql.sqltypes.AutoString(length=2),
                                      nullable=False, server_default='04'))
        batch_op.add_column(sa.Column('global_invoice_automatic', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.alter_column('global_invoice_periodicity', server_default=None)
        batch_op.alter_column('global_invoice_automatic', server_default=None)

    with op.batch_alter_table('global_invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('part', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('replaces_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_acuse', sa.LargeBinary(), nullable=True))
        batch_op.drop_constraint('uq_global_invoice_period', type_='unique')
        batch_op.create_unique_constraint('uq_global_invoice_replaces', ['replaces_id'])

    from services import catalogs  # the c_CodigoPostal time zones, as the service uses them

    bind = op.get_bind()
    table = sa.table('global_invoice', sa.column('id'), sa.column('periodicity'), sa.column('months'),
                     sa.column('year'), sa.column('merchant_id'),
                     sa.column('period_start', sqlmodel.sql.sqltypes.UTCDateTime()),
                     sa.column('period_end', sqlmodel.sql.sqltypes.UTCDateTime()))
    merchant = sa.table('merchant', sa.column('id'), sa.column('zip_code'))
    rows = bind.execute(sa.select(table.c.id, table.c.periodicity, table.c.months, table.c.year, merchant.c.zip_code)
                        .join(merchant, merchant.c.id == table.c.merchant_id)).all()
    for row_id, periodicity, months, year, zip_code in rows:
        start, end = _bounds(periodicity, months, year, catalogs.time_zone_for(zip_code))
        bind.execute(sa.update(table).where(table.c.id == row_id).values(period_start=start, period_end=end))

    with op.batch_alter_table('global_invoice', schema=None) as batch_op:
        batch_op.alter_column('period_start', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.alter_column('period_end', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.alter_column('part', existing_type=sa.Integer(), server_default=None)
    op.create_index(
        'uq_global_invoice_period_part', 'global_invoice', ['merchant_id', 'periodicity', 'period_start', 'part'],
        unique=True, sqlite_where=sa.text(ORIGINAL), postgresql_where=sa.text(ORIGINAL),
    )


def downgrade() -> None:
    op.drop_index('uq_global_invoice_period_part', table_name='global_invoice')
    with op.batch_alter_table('global_invoice', schema=None) as batch_op:
        batch_op.drop_constraint('uq_global_invoice_replaces', type_='unique')
        batch_op.create_unique_constraint('uq_global_invoice_period', ['merchant_id', 'periodicity', 'months', 'year'])
        batch_op.drop_column('cancellation_acuse')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancellation_reason')
        batch_op.drop_column('replaces_id')
        batch_op.drop_column('part')
        batch_op.drop_column('period_end')
        batch_op.drop_column('period_start')
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('global_invoice_automatic')
        batch_op.drop_column('global_invoice_periodicity')
