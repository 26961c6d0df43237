"""The instants this service accepts from a client: a DateTime argument (soldAt) and a
page cursor's instant.

An aware datetime near year 1 or 9999 overflows when converted to UTC (every comparison
of aware datetimes converts), e.g. ``0001-01-01T00:00:00+14:00``: that used to end as
"Error interno". A sale or invoice of this service is dated in CFDI 4.0 times, so the
documented range is 2000-01-01 to 2100-12-31 (UTC), far wider than any real ticket.
"""
from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
RANGE_TEXT = "de 2000-01-01 a 2100-12-31 (UTC)"


def in_range(moment: datetime) -> datetime | None:
    """``moment`` in UTC when it is aware and within the range; None otherwise."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc <= LATEST else None
