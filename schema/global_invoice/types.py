"""Strawberry types of the factura global to PUBLICO EN GENERAL (InformacionGlobal)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from schema.invoicing.types import StampingFailed
from schema.pagination import PageInfo
from services.invoicing.views import GlobalInvoiceView


@strawberry.input
class GlobalInvoiceInput:
    periodicity: str = strawberry.field(description="c_Periodicidad: 04 mensual, 05 bimestral (Régimen 621 only)")
    months: str = strawberry.field(description="c_Meses: 01-12 with mensual, 13 (enero-febrero) to 18 with bimestral")
    year: int = strawberry.field(description="InformacionGlobal@Año: the year of issue or the one before")


@strawberry.enum
class GlobalInvoiceStatus(Enum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"


@strawberry.type
class GlobalInvoice:
    id: strawberry.ID
    uuid: Optional[str] = strawberry.field(description="Folio fiscal from the TimbreFiscalDigital; null while PENDING")
    series: str
    folio: str
    periodicity: str = strawberry.field(description="c_Periodicidad")
    months: str = strawberry.field(description="c_Meses")
    year: int
    total: Decimal = strawberry.field(description="Sum of the tickets it covers, to the cent")
    sale_count: int
    status: GlobalInvoiceStatus
    issued_at: Optional[datetime]
    xml_url: Optional[str] = strawberry.field(description="Short-lived absolute URLs; a plain GET downloads the file")
    pdf_url: Optional[str]
    sandbox: bool = strawberry.field(default=True, description="True when stamped by the sandbox PAC: no fiscal validity")


@strawberry.type
class GlobalInvoiceIssued:
    global_invoice: GlobalInvoice
    included_sales: int = strawberry.field(description="Tickets in this factura global")
    left_out_sales: int = strawberry.field(
        description="Tickets of the period not in it: still inside their self-invoicing deadline, so still self-invoiceable"
    )


@strawberry.type
class InvalidGlobalInvoice:
    errors: list[FieldError]


@strawberry.type
class NothingToInvoice:
    message: str
    left_out_sales: int = strawberry.field(default=0, description="Tickets of the period still inside their deadline")


IssueGlobalInvoiceResult = Annotated[
    Union[GlobalInvoiceIssued, InvalidGlobalInvoice, NothingToInvoice, StampingFailed],
    strawberry.union("IssueGlobalInvoiceResult"),
]


@strawberry.type
class GlobalInvoiceEdge:
    node: GlobalInvoice
    cursor: str


@strawberry.type
class GlobalInvoiceConnection:
    edges: list[GlobalInvoiceEdge]
    page_info: PageInfo


def to_global_invoice(v: GlobalInvoiceView) -> GlobalInvoice:
    return GlobalInvoice(
        id=strawberry.ID(v.public_id),
        uuid=v.uuid,
        series=v.series,
        folio=str(v.folio),
        periodicity=v.periodicity,
        months=v.months,
        year=v.year,
        total=v.total,
        sale_count=v.sale_count,
        status=GlobalInvoiceStatus(v.status.value),
        issued_at=v.issued_at,
        xml_url=v.downloads.xml_url,
        pdf_url=v.downloads.pdf_url,
        sandbox=v.sandbox,
    )
