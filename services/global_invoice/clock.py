"""The fiscal clock: which facturas globales are due, and the worker's duty that issues them.

RMF 2026 regla 2.7.1.21: the CFDI global of a period is issued within the 24 hours after
the period ends (services/global_invoice/period.py). The worker (`autofactura worker`)
issues, for every merchant with globalInvoiceAutomatic, each ended period that still has
OPEN sales without a CFDI, oldest first: right after the period ends on a worker that
runs every few seconds, and at once for periods already overdue when a worker starts.
Exactly once across processes: the claim's unique (merchant, periodicity, period, part)
and the folio counter's row lock (services/global_invoice/service.py). A period with no
such sale issues nothing.

The time comes from `now` (the worker passes its sweep's time; Services.clock otherwise),
so tests inject it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from persistence.tables import MerchantRow
from services import catalogs
from services.cfdi.engine import global_period_problems
from services.global_invoice import service
from services.global_invoice.period import Period, period_containing
from services.kernel.container import Services
from services.kernel.money import from_cents

log = logging.getLogger(__name__)

SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # before any sale


@dataclass
class DueSweep:
    issued: list[str] = field(default_factory=list)  # public ids of the globals stamped
    failed: list[str] = field(default_factory=list)  # "merchant:period start" that failed (retried next sweep)
    skipped: list[str] = field(default_factory=list)  # periods SAT no longer admits (InformacionGlobal@Año)


@dataclass(frozen=True)
class NextGlobal:
    """The merchant's next factura global: the oldest ended period that still has sales
    without a CFDI (overdue), or else the period running now."""

    period: Period
    due_at: datetime  # the period's end: the worker issues it from then on
    deadline: datetime  # due_at + 24 h (RMF 2.7.1.21)
    sale_count: int  # OPEN sales without a CFDI it will hold (so far)
    total: Decimal
    overdue: bool  # the period has ended and its global is not issued yet
    automatic: bool  # the worker issues it (globalInvoiceAutomatic)


async def _earliest(services: Services, merchant_id: int, start: datetime, end: datetime) -> datetime | None:
    async with services.uow_factory() as uow:
        return await uow.sales.earliest_open_without_invoice(merchant_id, start, end)


async def issue_due_for(services: Services, merchant: MerchantRow, now: datetime, sweep: DueSweep) -> None:
    """Every ended period of this merchant with sales left, oldest first."""
    assert merchant.id is not None
    zone = catalogs.time_zone_for(merchant.zip_code)
    periodicity = merchant.global_invoice_periodicity
    current = period_containing(periodicity, now, zone)
    cursor = SINCE
    while (earliest := await _earliest(services, merchant.id, cursor, current.start)) is not None:
        period = period_containing(periodicity, earliest, zone)
        cursor = period.end
        if global_period_problems(merchant.tax_regime, periodicity, period.months, period.year,
                                  now.astimezone(zone).year):
            # InformacionGlobal@Año: the year of issue or the one before; older sales (or a
            # periodicity the régimen no longer admits) need a person.
            sweep.skipped.append(f"{merchant.id}:{period.start.isoformat()}")
            continue
        for result in await service.issue_period(services, merchant, period, now):
            if isinstance(result, service.GlobalIssued):
                sweep.issued.append(result.invoice.public_id)
            else:
                sweep.failed.append(f"{merchant.id}:{period.start.isoformat()}")
                log.warning("factura global of merchant %s, period %s: %r", merchant.id, period.start, result)


async def issue_due(services: Services, *, now: datetime | None = None) -> DueSweep:
    """The worker's duty "facturas globales due"."""
    now = now or services.clock()
    sweep = DueSweep()
    after = 0
    while True:
        async with services.uow_factory() as uow:
            merchants = await uow.merchants.with_automatic_global_invoices(after)
        if not merchants:
            return sweep
        for merchant in merchants:
            await issue_due_for(services, merchant, now, sweep)
        after = merchants[-1].id or after


async def next_due_at(services: Services) -> datetime | None:
    """When the next factura global of any merchant falls due (the end of the period of
    the oldest sale without a CFDI), for the metrics; None when no sale waits."""
    async with services.uow_factory() as uow:
        oldest = await uow.sales.earliest_open_by_merchant()
    ends = []
    for _, sold_at, zip_code, periodicity in oldest:
        if sold_at.tzinfo is None:  # SQLite's MIN() of UTC text comes back naive
            sold_at = sold_at.replace(tzinfo=UTC)
        ends.append(period_containing(periodicity, sold_at, catalogs.time_zone_for(zip_code)).end)
    return min(ends, default=None)


async def next_global(services: Services, merchant_id: int, *, now: datetime | None = None) -> NextGlobal:
    now = now or services.clock()
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        assert merchant is not None
        zone = catalogs.time_zone_for(merchant.zip_code)
        current = period_containing(merchant.global_invoice_periodicity, now, zone)
        earliest = await uow.sales.earliest_open_without_invoice(merchant_id, SINCE, current.start)
        period = period_containing(merchant.global_invoice_periodicity, earliest, zone) if earliest else current
        count, total = await uow.sales.open_summary(merchant_id, period.start, period.end)
    return NextGlobal(period, period.end, period.deadline, count, from_cents(total), period.has_ended(now),
                      merchant.global_invoice_automatic)
