"""Deadlines at their edges: fin de mes natural in the merchant's local time, and N days."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from persistence.tables import MerchantRow, SaleRow
from services.portal import policy

MX = ZoneInfo("America/Mexico_City")


def merchant(month_end=True, days=30, zip_code="06600", enabled=True) -> MerchantRow:
    return MerchantRow(month_end_limit=month_end, deadline_days=days, zip_code=zip_code, self_invoicing_enabled=enabled)


def local(*args, tz=MX) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize("sold,expected", [
    (local(2026, 11, 5, 10, 0), local(2026, 11, 30, 23, 59, 59)),
    # 23:30 on the last day in Mexico City is already the 1st in UTC: still a January sale.
    (local(2027, 1, 31, 23, 30), local(2027, 1, 31, 23, 59, 59)),
    (local(2026, 12, 31, 23, 0), local(2026, 12, 31, 23, 59, 59)),  # December into January
    (local(2028, 2, 29, 12, 0), local(2028, 2, 29, 23, 59, 59)),  # leap day
    (local(2027, 2, 3, 12, 0), local(2027, 2, 28, 23, 59, 59)),
])
def test_month_end_deadline(sold, expected):
    assert policy.deadline(sold.astimezone(UTC), merchant()) == expected.astimezone(UTC)


def test_month_end_uses_the_merchants_zone():
    tijuana = ZoneInfo("America/Tijuana")
    sold = local(2026, 11, 30, 22, 30, tz=tijuana)  # already December in Mexico City
    assert policy.deadline(sold, merchant(zip_code="22000")) == local(2026, 11, 30, 23, 59, 59, tz=tijuana).astimezone(UTC)


def test_last_second_counts_and_the_next_does_not():
    m = merchant()
    limit = policy.deadline(local(2026, 11, 5, 10, 0), m)
    assert not policy.is_past(limit, limit)
    assert not policy.is_past(limit, limit + timedelta(milliseconds=999))
    assert policy.is_past(limit, limit + timedelta(seconds=1))


def test_days_deadline():
    sold = local(2026, 11, 5, 10, 0)
    assert policy.deadline(sold, merchant(month_end=False, days=3)) == (sold + timedelta(days=3)).astimezone(UTC)


def sale(status="OPEN", sold=None) -> SaleRow:
    return SaleRow(status=status, sold_at=sold or local(2026, 11, 5, 10, 0))


def test_refusal_reasons_and_message():
    now = local(2026, 12, 1, 0, 0, 0)
    late = policy.refusal(sale(), merchant(), now)
    assert late.reason == policy.DEADLINE_PASSED
    assert "30/11/2026 23:59:59" in late.message  # the exact cut-off in local time
    assert policy.refusal(sale(), merchant(), local(2026, 11, 30, 23, 59, 59)) is None
    assert policy.refusal(sale(), merchant(enabled=False), now).reason == policy.SELF_INVOICING_DISABLED
    assert policy.refusal(sale("IN_GLOBAL_INVOICE"), merchant(), now).reason == policy.IN_GLOBAL_INVOICE
    assert policy.refusal(sale("CANCELLED"), merchant(), now).reason == policy.CANCELLED


def test_a_ticket_in_a_global_answers_in_global_invoice_only_past_its_deadline():
    """Inside the deadline it is invoiced nominatively through the Guía de llenado del CFDI
    global's route (motivo 04 and a replacement global): services/global_invoice/nominative.py."""
    inside, past = local(2026, 11, 30, 23, 59, 59), local(2026, 12, 1, 0, 0, 0)
    assert policy.refusal(sale("IN_GLOBAL_INVOICE"), merchant(), inside) is None
    refused = policy.refusal(sale("IN_GLOBAL_INVOICE"), merchant(), past)
    assert refused.reason == policy.IN_GLOBAL_INVOICE and "30/11/2026 23:59:59" in refused.message
    assert policy.refusal(sale("IN_GLOBAL_INVOICE"), merchant(enabled=False), inside).reason == policy.SELF_INVOICING_DISABLED
