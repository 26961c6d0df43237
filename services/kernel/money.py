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
