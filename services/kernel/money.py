"""Decimal helpers: amounts are rounded half-up, as Anexo 20 asks for importes."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def from_cents(amount_cents: int) -> Decimal:
    """Stored integer cents (exact on both engines) to a Decimal amount."""
    return Decimal(amount_cents) / 100


def to_cents(amount: Decimal) -> int:
    """A Decimal amount, rounded half-up to the cent, as stored integer cents."""
    return int(cents(amount) * 100)


# The documented range of a ticket's total (and of a sale line's amount): recordSale
# refuses more, so the ticket lookup refuses more too before it reads anything.
MAX_TICKET_TOTAL = Decimal("99999999.99")


def is_money(value: Decimal, maximum: Decimal = MAX_TICKET_TOTAL) -> bool:
    """A finite amount in (0, maximum] with at most 2 decimals (1160, 1160.0, 1160.00 are;
    1160.001, 1e309, NaN and 39-digit numbers are not). Checked without rounding, so it
    never raises for any Decimal."""
    if not value.is_finite() or value <= 0 or value > maximum:
        return False
    exponent = value.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2
