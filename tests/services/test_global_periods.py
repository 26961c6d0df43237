"""The periods of a factura global for the five c_Periodicidad (Guía de llenado del CFDI
global, InformacionGlobal; RMF 2.7.1.21 for the 24-hour deadline), in the merchant's zone."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.global_invoice.period import (
    BIMONTHLY, DAILY, FORTNIGHTLY, MONTHLY, PERIODICITIES, WEEKLY, next_period, period_containing, period_of_day,
    period_of_months, periodicity_problems, requested_period,
)

TIJUANA = ZoneInfo("America/Tijuana")  # LugarExpedicion 22000: has daylight saving time
MEXICO = ZoneInfo("America/Mexico_City")


def local(day: date, zone=MEXICO) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def test_daily_periods_are_local_days():
    p = period_of_day(DAILY, date(2026, 3, 8), TIJUANA)  # the day Tijuana moves to daylight time
    assert (p.start, p.end) == (local(date(2026, 3, 8), TIJUANA), local(date(2026, 3, 9), TIJUANA))
    assert p.end - p.start == timedelta(hours=23)
    assert (p.months, p.year) == ("03", 2026)
    # 23:30 on 31 January in Mexico City is already 1 February in UTC: still a January sale.
    late = datetime(2026, 1, 31, 23, 30, tzinfo=MEXICO).astimezone(UTC)
    assert period_containing(DAILY, late, MEXICO).months == "01"
    assert p.deadline == p.end + timedelta(hours=24)


def test_weekly_periods_run_monday_to_sunday_and_stop_at_the_month_end():
    # Thursday 29 January 2026 .. Wednesday 4 February: two periods, one per month (Meses).
    january = period_of_day(WEEKLY, date(2026, 1, 29), MEXICO)
    assert (january.start, january.end, january.months) == (local(date(2026, 1, 26)), local(date(2026, 2, 1)), "01")
    february = next_period(january, MEXICO)
    assert (february.start, february.end, february.months) == (local(date(2026, 2, 1)), local(date(2026, 2, 2)), "02")
    full = period_of_day(WEEKLY, date(2026, 2, 4), MEXICO)
    assert (full.start, full.end) == (local(date(2026, 2, 2)), local(date(2026, 2, 9)))
    # Several weekly globals share one (Meses, Año): they differ by their period.
    weeks = {period_of_day(WEEKLY, date(2026, 2, d), MEXICO).start for d in range(1, 29)}
    assert len(weeks) == 5


def test_fortnightly_monthly_and_bimonthly_periods():
    first = period_of_day(FORTNIGHTLY, date(2026, 2, 15), MEXICO)
    second = period_of_day(FORTNIGHTLY, date(2026, 2, 16), MEXICO)
    assert (first.start, first.end) == (local(date(2026, 2, 1)), local(date(2026, 2, 16)))
    assert (second.start, second.end, second.months) == (local(date(2026, 2, 16)), local(date(2026, 3, 1)), "02")
    december = period_of_day(MONTHLY, date(2026, 12, 31), MEXICO)
    assert (december.end, december.months, december.year) == (local(date(2027, 1, 1)), "12", 2026)
    # c_Meses 13 enero-febrero ... 18 noviembre-diciembre.
    assert [period_of_day(BIMONTHLY, date(2026, m, 1), MEXICO).months for m in range(1, 13)] == [
        "13", "13", "14", "14", "15", "15", "16", "16", "17", "17", "18", "18"]
    nov_dec = period_of_months(BIMONTHLY, "18", 2026, MEXICO)
    assert (nov_dec.start, nov_dec.end) == (local(date(2026, 11, 1)), local(date(2027, 1, 1)))


@pytest.mark.parametrize("periodicity", PERIODICITIES)
def test_periods_tile_the_calendar(periodicity):
    """Consecutive periods cover every instant once, across a year end and DST changes."""
    period = period_of_day(periodicity, date(2025, 12, 1), TIJUANA)
    while period.start < local(date(2027, 1, 1), TIJUANA):
        following = next_period(period, TIJUANA)
        assert following.start == period.end and following.end > following.start
        assert period_containing(periodicity, period.end - timedelta(microseconds=1), TIJUANA) == period
        period = following


def test_bimonthly_only_for_regime_621_and_periods_by_hand():
    assert periodicity_problems(BIMONTHLY, "601")[0].code == "PERIODICITY_NOT_ALLOWED"
    assert periodicity_problems(BIMONTHLY, "621") == []
    assert periodicity_problems("06", "621")[0].code == "PERIODICITY_INVALID"
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    by_day = requested_period("601", "06600", WEEKLY, None, None, date(2026, 11, 30), now)
    assert by_day.start == local(date(2026, 11, 30)) and by_day.end == local(date(2026, 12, 1))
    running = requested_period("601", "06600", DAILY, None, None, date(2026, 12, 3), now)
    assert [p.code for p in running] == ["PERIOD_NOT_ENDED"]
    assert [p.code for p in requested_period("601", "06600", DAILY, "11", 2026, None, now)] == ["PERIOD_REQUIRED"]
