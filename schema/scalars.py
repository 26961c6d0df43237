"""Decimal and DateTime as the contract defines them."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import strawberry

from services.kernel.dates import RANGE_TEXT, in_range
from services.kernel.money import cents

MAX_DECIMAL_INPUT = 40  # characters: refuse absurd literals before Decimal parses them


def _serialize_decimal(value: Decimal) -> str:
    return f"{cents(Decimal(value)):.2f}"


def _parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("Decimal must be a string or a number, e.g. \"1160.00\"")
    text = str(value).strip()
    if len(text) > MAX_DECIMAL_INPUT:
        raise ValueError("Decimal is too long")
    try:
        parsed = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a decimal number") from exc
    if not parsed.is_finite():
        raise ValueError("Decimal must be finite")
    return parsed


def _serialize_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string with a UTC offset")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs a UTC offset, e.g. 2026-11-29T10:00:00-06:00")
    if in_range(parsed) is None:
        # 0001-01-01T00:00:00+14:00 overflowed in the first comparison ("Error interno").
        raise ValueError(f"La fecha {value!r} está fuera del rango admitido: {RANGE_TEXT}.")
    return parsed


def _parse_date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError("Date must be an ISO 8601 calendar date, e.g. 2026-11-29")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date (AAAA-MM-DD)") from exc


SCALAR_MAP = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description='Amount as a string with two decimals ("1160.00"); accepted as a string or a number.',
        serialize=_serialize_decimal,
        parse_value=_parse_decimal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date-time with UTC offset, from 2000-01-01 to 2100-12-31 (UTC).",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    date: strawberry.scalar(
        name="Date",
        description="ISO 8601 calendar date (AAAA-MM-DD), a day of the merchant's local calendar.",
        serialize=lambda value: value.isoformat(),
        parse_value=_parse_date,
    ),
}
