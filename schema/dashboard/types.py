"""Strawberry types of the merchant console's figures, and their converters."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from services.dashboard import service as dashboard


@strawberry.type(description="Sales (cancelled ones left out) and, of them, those self-invoiced")
class SalesTotals:
    count: int
    total: Decimal
    self_invoiced_count: int
    self_invoiced_total: Decimal


@strawberry.type(description="What the merchant console's overview shows")
class DashboardSummary:
    as_of: datetime
    time_zone: str = strawberry.field(description="IANA zone of the merchant's LugarExpedicion: days and months are its own")
    today: SalesTotals
    this_month: SalesTotals
    pending_global_count: int = strawberry.field(
        description="OPEN sales without a self-invoice sold before today: what a factura global still has to take")
    pending_global_total: Decimal
    sandbox: bool = strawberry.field(description="True when this server stamps with the sandbox PAC: no fiscal validity")


@strawberry.type
class DaySales:
    date: str = strawberry.field(description="The merchant's local calendar day, ISO 8601 (2026-12-03)")
    totals: SalesTotals


def to_totals(totals: dashboard.Totals) -> SalesTotals:
    return SalesTotals(
        count=totals.count, total=totals.total, self_invoiced_count=totals.self_invoiced_count,
        self_invoiced_total=totals.self_invoiced_total,
    )


def to_summary(summary: dashboard.Summary) -> DashboardSummary:
    return DashboardSummary(
        as_of=summary.as_of, time_zone=summary.time_zone, today=to_totals(summary.today),
        this_month=to_totals(summary.this_month), pending_global_count=summary.pending_global_count,
        pending_global_total=summary.pending_global_total, sandbox=summary.sandbox,
    )


def to_day(day: dashboard.DaySales) -> DaySales:
    return DaySales(date=day.day.isoformat(), totals=to_totals(day.totals))
