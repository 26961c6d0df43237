"""The merchant's list of self-invoices."""
from __future__ import annotations

from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.container import Services
from services.kernel.pagination import Page, page_of, parse_cursor
from services.kernel.results import Invalid


async def list_invoices(services: Services, merchant_id: int, first: int, after: str | None) -> Page[InvoiceView] | Invalid:
    """A page of the merchant's invoices, newest first."""
    cursor = parse_cursor(after)
    if isinstance(cursor, Invalid):
        return cursor
    async with services.uow_factory() as uow:
        rows = await uow.invoices.page(merchant_id, first + 1, cursor)
    return page_of(rows, first, lambda r: invoice_view(services, r), lambda r: (r.created_at, r.id))
