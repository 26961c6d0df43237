"""The merchant's lists of stamped documents: self-invoices and facturas globales."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from persistence.tables import GlobalInvoiceRow, InvoiceRow
from services.invoicing.issuing import Documents
from services.invoicing.views import GlobalInvoiceView, InvoiceView, global_invoice_view, invoice_view
from services.kernel.container import Services
from services.kernel.pagination import Page, page_of, parse_cursor
from services.kernel.results import Invalid

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
