"""Strawberry types of self-invoices and their converter from InvoiceView (CONVENTIONS 2)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Optional

import strawberry

from schema.context import Info
from schema.pagination import PageInfo
from schema.permissions import CanReadInvoices
from services.invoicing import service as invoicing
from services.kernel import codes
from services.kernel.results import NotFound
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
    sandbox: bool = strawberry.field(
        default=True, description="True when stamped by the sandbox PAC (or a local PAC emulator): no fiscal validity"
    )
    cancellation_reason: Optional[str] = strawberry.field(
        default=None, description="c_MotivoCancelacion (01-04) once CANCELLATION_PENDING or CANCELLED"
    )
    replacement_uuid: Optional[str] = strawberry.field(
        default=None, description="With motivo 01: the UUID of the invoice that replaces this one (FolioSustitucion)"
    )
    cancelled_at: Optional[datetime] = strawberry.field(default=None, description="When SAT reported it cancelled")
    cancellation_note: Optional[str] = strawberry.field(
        default=None, description="Why a requested cancellation did not happen (the receiver rejected it): the invoice is ISSUED again"
    )

    @strawberry.field(
        permission_classes=[CanReadInvoices],
        description="The merchant's audit: every call made to the PAC about this invoice, oldest first",
    )
    async def pac_calls(self, info: Info) -> list[PacCall]:
        ctx = info.context
        result = await invoicing.invoice_pac_calls(ctx.services, ctx.merchant_id, str(self.id))
        if isinstance(result, NotFound):
            return []
        return [PacCall(operation=c.operation, document_hash=c.document_hash, uuid=c.uuid, outcome=c.outcome,
                        duration_ms=c.duration_ms, at=c.at) for c in result]

    @strawberry.field(
        permission_classes=[CanReadInvoices],
        description="SAT's acuse of the cancellation request (XML), once the PAC returned it",
    )
    async def cancellation_acuse(self, info: Info) -> Optional[str]:
        ctx = info.context
        result = await invoicing.cancellation_acuse(ctx.services, ctx.merchant_id, str(self.id))
        return None if isinstance(result, NotFound) else result.decode("utf-8", "replace")


@strawberry.type
class PacCall:
    operation: str = strawberry.field(description="stamp, stamped, cancel_signature, get_sat_status ...")
    document_hash: Optional[str] = strawberry.field(description="SHA-256 of the sealed CFDI sent")
    uuid: Optional[str]
    outcome: str = strawberry.field(description="OK, the PAC's code (307, 708 ...) or a PacErrorCode")
    duration_ms: int
    at: datetime


PacErrorCode = strawberry.enum(codes.PacErrorCode, name="PacErrorCode", description="Why a call to the PAC failed")


@strawberry.type
class StampingFailed:
    message: str
    retryable: bool = strawberry.field(description="True when the same request may be retried later")
    code: Optional[PacErrorCode] = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Why, when a real PAC failed (PAC_TIMEOUT, SAT_UNAVAILABLE, PAC_CREDENTIALS ...)"
    )
    pac_code: Optional[str] = strawberry.field(default=None, description="What the PAC itself answered (300, 708, 205 ...)")


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
        cancellation_note=v.cancellation_note,
    )


def stamping_failed(failure: StampFailed_ | CancellationFailed) -> StampingFailed:
    """The PAC's failure, for every mutation that stamps or cancels through it."""
    known = {c.value for c in codes.PacErrorCode}
    return StampingFailed(
        message=failure.message, retryable=failure.retryable,
        code=codes.PacErrorCode(failure.code) if failure.code in known else None, pac_code=failure.pac_code,
    )
