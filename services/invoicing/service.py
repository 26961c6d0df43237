"""The merchant's lists of stamped documents: self-invoices and facturas globales."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from persistence.tables import GlobalInvoiceRow, InvoiceRow
from services.invoicing.issuing import Documents
from services.invoicing.views import GlobalInvoiceView, InvoiceView, global_invoice_view, invoice_view
from services.kernel.container import Services
from services.kernel.pagination import Page, page_of, parse_cursor
from services.kernel.results import Invalid, NotFound

D = TypeVar("D", InvoiceRow, GlobalInvoiceRow)
V = TypeVar("V")


async def list_documents(
    services: Services, documents: Documents, view: Callable[[Services, D], V],
    merchant_id: int, first: int, after: str | None,
) -> Page[V] | Invalid:
    """A page of the merchant's documents of one kind, newest first by (created_at, id)."""
    cursor = parse_cursor(after)
    if isinstance(cursor, Invalid):
        return cursor
    async with services.uow_factory() as uow:
        rows = await documents(uow).page(merchant_id, first + 1, cursor)
    return page_of(rows, first, lambda r: view(services, r), lambda r: (r.created_at, r.id))


async def list_invoices(services: Services, merchant_id: int, first: int, after: str | None) -> Page[InvoiceView] | Invalid:
    return await list_documents(services, lambda uow: uow.invoices, invoice_view, merchant_id, first, after)


async def list_global_invoices(
    services: Services, merchant_id: int, first: int, after: str | None
) -> Page[GlobalInvoiceView] | Invalid:
    return await list_documents(services, lambda uow: uow.global_invoices, global_invoice_view, merchant_id, first, after)


@dataclass(frozen=True)
class PacCallView:
    """One call to the PAC about a document (the merchant's audit, pac_call)."""

    operation: str  # stamp, stamped, cancel_signature, get_sat_status ...
    document_hash: str | None  # SHA-256 of the sealed CFDI sent
    uuid: str | None
    outcome: str  # OK, the PAC's code (307, 708 ...) or a PacErrorCode (PAC_TIMEOUT ...)
    duration_ms: int
    at: datetime


NO_INVOICE = "No existe esa factura."


async def invoice_pac_calls(services: Services, merchant_id: int, public_id: str) -> list[PacCallView] | NotFound:
    """Every PAC call about one of the merchant's invoices, oldest first."""
    async with services.uow_factory() as uow:
        row = await uow.invoices.owned_by_public_id(merchant_id, public_id)
        if row is None or row.id is None:
            return NotFound(NO_INVOICE)
        calls = await uow.pac_calls.of_document(merchant_id, "invoice", row.id)
    return [PacCallView(c.operation, c.document_hash, c.uuid, c.outcome, c.duration_ms, c.at) for c in calls]


async def cancellation_acuse(services: Services, merchant_id: int, public_id: str) -> bytes | NotFound:
    """SAT's acuse of the cancellation request of one of the merchant's invoices."""
    async with services.uow_factory() as uow:
        row = await uow.invoices.owned_by_public_id(merchant_id, public_id)
    if row is None or row.cancellation_acuse is None:
        return NotFound("Esa factura no tiene acuse de cancelación.")
    return row.cancellation_acuse
