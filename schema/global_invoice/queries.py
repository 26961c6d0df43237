"""Factura global queries: the merchant's facturas globales, newest first."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.context import Info
from schema.global_invoice import types as t
from schema.pagination import page_info, page_or_error, page_size
from schema.permissions import CanManageGlobalInvoices
from services.global_invoice import clock
from services.invoicing import service as invoicing


@strawberry.type
class GlobalInvoiceQuery:
    @strawberry.field(permission_classes=[CanManageGlobalInvoices], description="The merchant's facturas globales, newest first; first is capped at 100.")
    async def global_invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.GlobalInvoiceConnection:
        ctx = info.context
        page = page_or_error(await invoicing.list_global_invoices(ctx.services, ctx.merchant_id, page_size(first), after))
        edges = [t.GlobalInvoiceEdge(node=t.to_global_invoice(e.node), cursor=e.cursor) for e in page.edges]
        return t.GlobalInvoiceConnection(edges=edges, page_info=page_info(page))

    @strawberry.field(permission_classes=[CanManageGlobalInvoices],
                      description="The fiscal clock: the next factura global due, its period and the sales it will hold")
    async def next_global_invoice(self, info: Info) -> t.NextGlobalInvoice:
        ctx = info.context
        return t.to_next_global(await clock.next_global(ctx.services, ctx.merchant_id))
