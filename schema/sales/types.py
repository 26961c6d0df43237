"""Strawberry types of sales recorded by the point of sale, and their converter."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from schema.invoicing.types import Invoice, to_invoice
from schema.pagination import PageInfo
from services.sales import qr
from services.sales.service import SaleListing


@strawberry.input
class TaxInput:
    type: str = strawberry.field(description="IVA or IEPS")
    rate: Optional[Decimal] = strawberry.field(default=None, description="0.16, 0.08, 0 ...; omit with exempt")
    exempt: Optional[bool] = False


@strawberry.input
class SaleLineInput:
    product_key: str = strawberry.field(description="c_ClaveProdServ")
    unit_key: str = strawberry.field(description="c_ClaveUnidad")
    description: str
    quantity: Decimal
    unit_price: Decimal = strawberry.field(
        description="Price per unit the customer paid, taxes included (as printed on a retail ticket)"
    )
    taxes: Optional[list[TaxInput]] = strawberry.field(default=None, description="Defaults to IVA 16 %")


@strawberry.input
class RecordSaleInput:
    reference: str = strawberry.field(description="The merchant's reference printed on the ticket; unique per merchant")
    sold_at: Optional[datetime] = strawberry.field(default=None, description="Defaults to now")
    payment_form: str = strawberry.field(description="c_FormaPago, e.g. 01 efectivo, 04 tarjeta de crédito, 28 tarjeta de débito")
    lines: list[SaleLineInput] = strawberry.field(description="At most 500 lines")
    customer_email: Optional[str] = strawberry.field(
        default=None, description="When given, the portal link and the ticket data are sent there"
    )


@strawberry.enum
class SaleStatus(Enum):
    OPEN = "OPEN"
    INVOICED = "INVOICED"
    IN_GLOBAL_INVOICE = "IN_GLOBAL_INVOICE"
    CANCELLED = "CANCELLED"


@strawberry.type
class InvoicingData:
    company_number: str
    reference: str
    total: Decimal
    portal_url: str = strawberry.field(description="Portal address with the three data filled in; printable as a QR code")

    @strawberry.field(description="portalUrl as a QR code: a standalone SVG document a POS can print "
                      "(error correction M, 4-module quiet zone). For a raster image: GET /qr/{companyNumber}.png")
    def qr_svg(self) -> str:
        return qr.qr_svg(self.portal_url)


@strawberry.type
class Sale:
    id: strawberry.ID
    reference: str
    total: Decimal
    sold_at: datetime
    status: SaleStatus
    invoice: Optional[Invoice]
    invoicing_data: InvoicingData = strawberry.field(description="The data printed on the ticket for self-invoicing")


@strawberry.type
class SaleRecorded:
    sale: Sale
    created: bool = strawberry.field(default=True, description="False when the same sale had been recorded before (idempotent replay)")


@strawberry.type
class InvalidSale:
    errors: list[FieldError]


RecordSaleResult = Annotated[Union[SaleRecorded, InvalidSale], strawberry.union("RecordSaleResult")]


@strawberry.type
class SaleCancelled:
    sale: Sale


CancelSaleResult = Annotated[Union[SaleCancelled, InvalidSale], strawberry.union("CancelSaleResult")]


@strawberry.type
class SaleEdge:
    node: Sale
    cursor: str


@strawberry.type
class SaleConnection:
    edges: list[SaleEdge]
    page_info: PageInfo


def to_sale(listing: SaleListing) -> Sale:
    sale, data = listing.sale, listing.invoicing
    return Sale(
        id=strawberry.ID(str(sale.id)),
        reference=sale.reference,
        total=sale.total,
        sold_at=sale.sold_at,
        status=SaleStatus(sale.status.value),
        invoice=to_invoice(listing.invoice) if listing.invoice is not None else None,
        invoicing_data=InvoicingData(
            company_number=data.company_number, reference=data.reference, total=data.total, portal_url=data.portal_url,
        ),
    )


@strawberry.type
class SalesRecorded:
    results: list[RecordSaleResult] = strawberry.field(description="One per input, in the same order")
    created: int = strawberry.field(description="Sales recorded now")
    replayed: int = strawberry.field(description="Sales recorded before with the same content (idempotent replays)")
    refused: int = strawberry.field(description="Inputs answered InvalidSale; nothing of theirs was recorded")


RecordSalesResult = Annotated[Union[SalesRecorded, InvalidSale], strawberry.union("RecordSalesResult")]
