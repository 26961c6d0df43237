"""Self-invoicing policy: until when a ticket may be invoiced, and whether it may now."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from persistence.tables import SaleStatus
from services import catalogs


class NotInvoiceableReason(StrEnum):
    SELF_INVOICING_DISABLED = "SELF_INVOICING_DISABLED"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    IN_GLOBAL_INVOICE = "IN_GLOBAL_INVOICE"
    CANCELLED = "CANCELLED"


SELF_INVOICING_DISABLED = NotInvoiceableReason.SELF_INVOICING_DISABLED
DEADLINE_PASSED = NotInvoiceableReason.DEADLINE_PASSED
IN_GLOBAL_INVOICE = NotInvoiceableReason.IN_GLOBAL_INVOICE
CANCELLED = NotInvoiceableReason.CANCELLED


class Terms(Protocol):
    """The merchant's self-invoicing terms (services.merchants.models.Merchant has them)."""

    @property
    def zip_code(self) -> str: ...
    @property
    def month_end_limit(self) -> bool: ...
    @property
    def deadline_days(self) -> int: ...
    @property
    def self_invoicing_enabled(self) -> bool: ...


class Ticket(Protocol):
    """What the policy reads of a sale (services.sales.models.Sale has it)."""

    @property
    def sold_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...


def deadline(sold_at: datetime, merchant: Terms) -> datetime:
    """Last second (inclusive) at which the ticket may be self-invoiced, aware UTC.

    Fin de mes natural: the last second of the sale's calendar month in the merchant's
    local time (its LugarExpedicion zone), so a sale at 23:30 on 31 January in Mexico
    City (already 1 February in UTC) is a January sale. Otherwise soldAt + deadlineDays.
    """
    if merchant.month_end_limit:
        tz = catalogs.time_zone_for(merchant.zip_code)
        local = sold_at.astimezone(tz)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        next_month = datetime(year, month, 1, tzinfo=tz)
        return (next_month - timedelta(seconds=1)).astimezone(UTC)
    return (sold_at + timedelta(days=merchant.deadline_days)).astimezone(UTC)


def is_past(deadline_at: datetime, now: datetime) -> bool:
    # The deadline second itself is allowed: 23:59:59.999 on the last day still counts.
    return now >= deadline_at + timedelta(seconds=1)


def local_text(moment: datetime, merchant: Terms) -> str:
    tz = catalogs.time_zone_for(merchant.zip_code)
    local = moment.astimezone(tz)
    return local.strftime("%d/%m/%Y %H:%M:%S") + f" (hora local, {tz.key})"


@dataclass(frozen=True)
class Refusal:
    reason: NotInvoiceableReason
    message: str
    deadline: datetime | None


def refusal(sale: Ticket, merchant: Terms, now: datetime) -> Refusal | None:
    """Why this ticket cannot be self-invoiced now, or None when it can."""
    limit = deadline(sale.sold_at, merchant)
    if sale.status == SaleStatus.CANCELLED:
        return Refusal(CANCELLED, "La venta de este ticket fue cancelada; no se puede facturar.", limit)
    if sale.status == SaleStatus.IN_GLOBAL_INVOICE and is_past(limit, now):
        # Inside the deadline a ticket in a factura global can still be invoiced: the global is
        # cancelled with motivo 04 and replaced without it (Guía de llenado del CFDI global;
        # services/global_invoice/nominative.py).
        return Refusal(
            IN_GLOBAL_INVOICE,
            "Este ticket ya se incluyó en la factura global del comercio al público en general y su plazo "
            f"para facturarlo por separado terminó el {local_text(limit, merchant)}.",
            limit,
        )
    if not merchant.self_invoicing_enabled:
        return Refusal(
            SELF_INVOICING_DISABLED,
            "Este comercio no tiene activa la autofacturación. Pide tu factura directamente en la tienda.",
            limit,
        )
    if is_past(limit, now):
        return Refusal(
            DEADLINE_PASSED,
            f"El plazo para facturar este ticket terminó el {local_text(limit, merchant)}.",
            limit,
        )
    return None
