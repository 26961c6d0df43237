"""When SAT waits for the receiver's acceptance (CFF 29-A; RMF 2026 rule 2.7.1.35)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.cancellation.rules import needs_acceptance, next_business_day

MX = ZoneInfo("America/Mexico_City")
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=MX)
FRIDAY = datetime(2026, 12, 4, 12, 0, tzinfo=MX)


def waits(total="1160.00", rfc="CACX7605101P8", tipo="I", issued=MONDAY, now=datetime(2026, 12, 3, 9, tzinfo=MX)):
    return needs_acceptance(total=Decimal(total), rfc_receptor=rfc, tipo=tipo, issued_at=issued, now=now, zone=MX)


def test_over_1000_to_a_named_receiver_after_the_next_business_day_waits():
    assert waits()


@pytest.mark.parametrize("case", [
    {"total": "1000.00"},  # at most $1,000
    {"rfc": "XAXX010101000"},  # PUBLICO EN GENERAL
    {"tipo": "E"}, {"tipo": "N"}, {"tipo": "T"},  # egreso, nómina, traslado
    {"now": datetime(2026, 12, 1, 23, 59, tzinfo=MX)},  # by the next business day (Tuesday)
    {"issued": FRIDAY, "now": datetime(2026, 12, 7, 18, 0, tzinfo=MX)},  # Friday -> Monday
])
def test_no_acceptance(case):
    assert not waits(**case)


def test_next_business_day_skips_the_weekend():
    assert next_business_day(FRIDAY.date()).isoformat() == "2026-12-07"
    assert next_business_day(MONDAY.date()).isoformat() == "2026-12-01"
