"""The merchant console's figures: sales today and this month, what is self-invoiced, what
a factura global still has to take, and sales per day for a chart.

Days and months are the merchant's local ones: the time zone of its LugarExpedicion's
código postal (c_CodigoPostal.huso_horario, services/catalogs.py), as the self-invoicing
deadlines are.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from services import catalogs
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.merchants.models import Merchant

MAX_DAYS = 92  # salesByDay's cap: a quarter


@dataclass(frozen=True)
class Totals:
    """Sales (cancelled ones left out) and, of them, those self-invoiced."""

    count: int
    total: Decimal
    self_invoiced_count: int
    self_invoiced_total: Decimal


@dataclass(frozen=True)
class Summary:
    as_of: datetime
    time_zone: str
    today: Totals
    this_month: Totals
    # OPEN sales without a self-invoice, sold before today: what a factura global still
    # has to take (today's may yet be self-invoiced).
    pending_global_count: int
    pending_global_total: Decimal
    sandbox: bool  # stamped by the sandbox PAC: no fiscal validity


@dataclass(frozen=True)
class DaySales:
    day: date  # the merchant's local calendar day
    totals: Totals


def _totals(count: int, cents: int, invoiced_count: int, invoiced_cents: int) -> Totals:
    return Totals(count, from_cents(cents), invoiced_count, from_cents(invoiced_cents))


def _local_midnight(day: date, zone) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def summary(services: Services, merchant: Merchant, *, now: datetime | None = None) -> Summary:
    now = now or datetime.now(UTC)
    zone = catalogs.time_zone_for(merchant.zip_code)
    today = now.astimezone(zone).date()
    day_start = _local_midnight(today, zone)
    day_end = _local_midnight(today + timedelta(days=1), zone)
    month_start = _local_midnight(today.replace(day=1), zone)
    async with services.uow_factory() as uow:
        today_totals = await uow.sales.totals(merchant.id, day_start, day_end)
        month_totals = await uow.sales.totals(merchant.id, month_start, day_end)
        pending_count, pending_cents = await uow.sales.open_totals(merchant.id, day_start)
    return Summary(
        as_of=now, time_zone=zone.key, today=_totals(*today_totals), this_month=_totals(*month_totals),
        pending_global_count=pending_count, pending_global_total=from_cents(pending_cents),
        sandbox=not services.live_stamping,
    )


async def sales_by_day(services: Services, merchant: Merchant, days: int, *, now: datetime | None = None) -> list[DaySales]:
    """The last ``days`` local days, today included, oldest first; days without sales are
    there with zeros (a chart's x axis). ``days`` is 1..MAX_DAYS (the caller checks)."""
    now = now or datetime.now(UTC)
    zone = catalogs.time_zone_for(merchant.zip_code)
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    start = _local_midnight(first_day, zone)
    end = _local_midnight(today + timedelta(days=1), zone)
    async with services.uow_factory() as uow:
        rows = await uow.sales.amounts_between(merchant.id, start, end)
    buckets = {first_day + timedelta(days=i): [0, 0, 0, 0] for i in range(days)}
    for sold_at, cents, invoiced in rows:
        bucket = buckets.get(sold_at.astimezone(zone).date())
        if bucket is None:
            continue
        bucket[0] += 1
        bucket[1] += cents
        if invoiced:
            bucket[2] += 1
            bucket[3] += cents
    return [DaySales(day, _totals(*values)) for day, values in buckets.items()]
