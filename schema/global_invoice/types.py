"""Strawberry types of the factura global to PUBLICO EN GENERAL (InformacionGlobal)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.context import Info
from schema.fields import FieldError
from schema.invoicing.types import StampingFailed
from schema.pagination import PageInfo
from services.global_invoice import service as global_invoice
from services.global_invoice.clock import NextGlobal
from services.invoicing.views import GlobalInvoiceView


@strawberry.input(description="A period: by `day` (any day inside it) for every periodicity, or by months and year for 04 and 05")
class GlobalInvoiceInput:
    periodicity: str = strawberry.field(
        description="c_Periodicidad: 01 diario, 02 semanal, 03 quincenal, 04 mensual, 05 bimestral (Régimen 621 only)")
    months: Optional[str] = strawberry.field(
        default=None, description="c_Meses: 01-12 with mensual, 13 (enero-febrero) to 18 with bimestral")
    year: Optional[int] = strawberry.field(
        default=None, description="InformacionGlobal@Año: the year of issue or the one before")
    day: Optional[date] = strawberry.field(
        default=None, description="Any day of the period (merchant's local calendar); required for 01, 02 and 03")


@strawberry.enum
class GlobalInvoiceStatus(Enum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"
    CANCELLATION_PENDING = "CANCELLATION_PENDING"  # never for PUBLICO EN GENERAL; kept for the shared statuses
    CANCELLED = "CANCELLED"  # with motivo 04: a ticket was invoiced nominatively; see replacedBy


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
    period_start: Optional[datetime] = strawberry.field(default=None, description="First instant of the period (local midnight)")
    period_end: Optional[datetime] = strawberry.field(default=None, description="End of the period, exclusive (local midnight)")
    part: int = strawberry.field(default=1, description="1, 2 ... when a period's sales need several CFDIs")
    cancellation_reason: Optional[str] = strawberry.field(default=None, description="c_MotivoCancelacion (04) once CANCELLED")
    cancelled_at: Optional[datetime] = None
    _view: strawberry.Private[Optional[GlobalInvoiceView]] = None

    @strawberry.field(description="The factura global this one replaces (cancelled with motivo 04), if any")
    async def replaces(self, info: Info) -> Optional["GlobalInvoice"]:
        return (await _related(info, self._view))[0]

    @strawberry.field(description="The factura global that replaced this one after its cancellation, if any")
    async def replaced_by(self, info: Info) -> Optional["GlobalInvoice"]:
        return (await _related(info, self._view))[1]


async def _related(info: Info, view: Optional[GlobalInvoiceView]) -> tuple[Optional[GlobalInvoice], Optional[GlobalInvoice]]:
    if view is None:
        return None, None
    replaces, replaced_by = await global_invoice.related(info.context.services, info.context.merchant_id, view)
    return (to_global_invoice(replaces) if replaces else None, to_global_invoice(replaced_by) if replaced_by else None)


@strawberry.type(description="The next factura global: the oldest ended period with sales without a CFDI, or the running one")
class NextGlobalInvoice:
    periodicity: str = strawberry.field(description="c_Periodicidad")
    months: str = strawberry.field(description="c_Meses")
    year: int
    period_start: datetime
    period_end: datetime = strawberry.field(description="Exclusive; the global is due from then on")
    due_at: datetime = strawberry.field(description="When the worker issues it (the period's end)")
    deadline: datetime = strawberry.field(description="24 hours after the period ends (RMF 2.7.1.21)")
    sale_count: int = strawberry.field(description="Sales without a CFDI it will hold, so far")
    total: Decimal
    overdue: bool = strawberry.field(description="The period has ended and its global is not issued yet")
    automatic: bool = strawberry.field(description="globalInvoiceAutomatic: the worker issues it")


def to_next_global(n: NextGlobal) -> NextGlobalInvoice:
    return NextGlobalInvoice(
        periodicity=n.period.periodicity, months=n.period.months, year=n.period.year,
        period_start=n.period.start, period_end=n.period.end, due_at=n.due_at, deadline=n.deadline,
        sale_count=n.sale_count, total=n.total, overdue=n.overdue, automatic=n.automatic,
    )


@strawberry.type
class GlobalInvoiceIssued:
    global_invoice: GlobalInvoice
    included_sales: int = strawberry.field(description="Tickets in this factura global")
    left_out_sales: int = strawberry.field(
        description="Tickets of the period still without a CFDI after it (they go into the next part)"
    )


@strawberry.type
class InvalidGlobalInvoice:
    errors: list[FieldError]


@strawberry.type
class NothingToInvoice:
    message: str
    left_out_sales: int = strawberry.field(default=0, description="Always 0: every sale of the period goes into its global")


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
        period_start=v.period_start,
        period_end=v.period_end,
        part=v.part,
        cancellation_reason=v.cancellation_reason,
        cancelled_at=v.cancelled_at,
        _view=v,
    )
