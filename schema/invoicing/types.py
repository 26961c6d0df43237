"""Strawberry types of self-invoices and their converter from InvoiceView (CONVENTIONS 2)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Optional

import strawberry

from schema.pagination import PageInfo
from services.cancellation.service import CancellationFailed
from services.invoicing.issuing import StampFailed as StampFailed_
from services.invoicing.views import InvoiceView


@strawberry.enum
class InvoiceStatus(Enum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"
    CANCELLATION_PENDING = "CANCELLATION_PENDING"
    CANCELLED = "CANCELLED"


@strawberry.type
class Invoice:
    id: strawberry.ID
    uuid: Optional[str] = strawberry.field(description="Folio fiscal from the TimbreFiscalDigital; null while PENDING")
    series: Optional[str]
    folio: Optional[str]
    status: InvoiceStatus
    issued_at: Optional[datetime]
    total: Decimal
    customer_rfc: str
    customer_name: str
    xml_url: Optional[str] = strawberry.field(description="Short-lived absolute URLs; a plain GET downloads the file")
    pdf_url: Optional[str]
    sandbox: bool = strawberry.field(default=True, description="True when stamped by the sandbox PAC: no fiscal validity")
    cancellation_reason: Optional[str] = strawberry.field(
        default=None, description="c_MotivoCancelacion (01-04) once CANCELLATION_PENDING or CANCELLED"
    )
    replacement_uuid: Optional[str] = strawberry.field(
        default=None, description="With motivo 01: the UUID of the invoice that replaces this one (FolioSustitucion)"
    )
    cancelled_at: Optional[datetime] = strawberry.field(default=None, description="When SAT reported it cancelled")


@strawberry.type
class StampingFailed:
    message: str
    retryable: bool = strawberry.field(description="True when the same request may be retried later")


@strawberry.type
class InvoiceEdge:
    node: Invoice
    cursor: str


@strawberry.type
class InvoiceConnection:
    edges: list[InvoiceEdge]
    page_info: PageInfo


def to_invoice(v: InvoiceView) -> Invoice:
    return Invoice(
        id=strawberry.ID(v.public_id),
        uuid=v.uuid,
        series=v.series,
        folio=str(v.folio),
        status=InvoiceStatus(v.status.value),
        issued_at=v.issued_at,
        total=v.total,
        customer_rfc=v.customer_rfc,
        customer_name=v.customer_name,
        xml_url=v.downloads.xml_url,
        pdf_url=v.downloads.pdf_url,
        sandbox=v.sandbox,
        cancellation_reason=v.cancellation_reason,
        replacement_uuid=v.replacement_uuid,
        cancelled_at=v.cancelled_at,
    )


def stamping_failed(failure: StampFailed_ | CancellationFailed) -> StampingFailed:
    """The PAC's failure, for every mutation that stamps or cancels through it."""
    return StampingFailed(message=failure.message, retryable=failure.retryable)
