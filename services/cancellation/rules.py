"""When SAT needs the receiver's acceptance to cancel a CFDI (CFF art. 29-A, fourth
paragraph; RMF 2026 rule 2.7.1.35, as SAT summarises them in "Cancelación de CFDI"):

The receiver must accept, within 3 business days (silence counts as acceptance), unless
- the CFDI's Total is at most $1,000.00 MXN;
- it is issued to PUBLICO EN GENERAL (Receptor@Rfc XAXX010101000);
- it is an egreso, nómina or traslado (TipoDeComprobante E, N, T);
- it is cancelled at the latest on the business day after it was issued.

Business days here are Monday to Friday in the issuer's time zone; official holidays
are not known to the code (a cancellation on a holiday may then be treated as needing
acceptance a day early, which only costs a wait for SAT's answer).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

PUBLICO_EN_GENERAL = "XAXX010101000"
ACCEPTANCE_THRESHOLD = Decimal("1000.00")
NO_ACCEPTANCE_TYPES = {"E", "N", "T"}  # c_TipoDeComprobante: egreso, nómina, traslado


def next_business_day(day: date) -> date:
    following = day + timedelta(days=1)
    while following.weekday() >= 5:  # Saturday, Sunday
        following += timedelta(days=1)
    return following


def needs_acceptance(
    *, total: Decimal, rfc_receptor: str, tipo: str, issued_at: datetime, now: datetime, zone: ZoneInfo,
) -> bool:
    if total <= ACCEPTANCE_THRESHOLD:
        return False
    if rfc_receptor.strip().upper() == PUBLICO_EN_GENERAL:
        return False
    if tipo in NO_ACCEPTANCE_TYPES:
        return False
    if now.astimezone(zone).date() <= next_business_day(issued_at.astimezone(zone).date()):
        return False
    return True
