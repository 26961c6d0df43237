"""What the sales domain returns: read models, never rows (CONVENTIONS 6a)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from persistence.tables import SaleRow, SaleStatus
from services.kernel.money import from_cents
from services.kernel.types import SaleLine
from services.sales.ticket import lines_from_json, portal_url

SaleStatusValue = SaleStatus  # what the schema layer names a sale's status by (it imports no persistence)


@dataclass(frozen=True)
class Sale:
    id: int
    merchant_id: int
    reference: str
    total: Decimal
    sold_at: datetime
    payment_form: str  # c_FormaPago
    status: SaleStatus
    customer_email: str | None
    lines: tuple[SaleLine, ...]


def sale_from_row(row: SaleRow) -> Sale:
    assert row.id is not None
    return Sale(
        id=row.id, merchant_id=row.merchant_id, reference=row.reference, total=from_cents(row.total_cents),
        sold_at=row.sold_at, payment_form=row.payment_form, status=SaleStatus(row.status),
        customer_email=row.customer_email, lines=lines_from_json(row.lines_json),
    )


@dataclass(frozen=True)
class InvoicingData:
    """The three data printed on the ticket, and the portal link (a QR) with them filled in."""

    company_number: str
    reference: str
    total: Decimal
    portal_url: str


def invoicing_data(public_url: str, company_number: str, sale: Sale) -> InvoicingData:
    return InvoicingData(company_number, sale.reference, sale.total,
                         portal_url(public_url, company_number, sale.reference, sale.total))
