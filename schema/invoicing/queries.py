"""Invoice queries: one invoice (invoice token or its merchant) and the merchant's list."""
from __future__ import annotations

from typing import Optional, assert_never

import strawberry

from schema.context import API_KEY, Info
from schema.errors import PublicError
from schema.invoicing import types as t
from schema.pagination import page_info, page_or_error, page_size
from schema.permissions import CanReadInvoices
from services.api_keys.models import ApiScope
from services.invoicing import service as invoicing
from services.invoicing.views import InvoiceView
from services.kernel.results import Forbidden, NotFound
from services.kernel.security import MERCHANT
from services.portal.issue import read_invoice


@strawberry.type
class InvoicingQuery:
    @strawberry.field(description="Invoice token for that invoice, or the owning merchant's token.")
    async def invoice(self, info: Info, id: strawberry.ID) -> Optional[t.Invoice]:
        ctx = info.context
        principal = ctx.principal
        if principal is None:
            raise PublicError("Esta operación requiere un token de factura o de comercio.", "FORBIDDEN")
        audience = principal.audience
        if audience == API_KEY:  # a key reads its merchant's invoices when it holds INVOICES_READ
            ctx.require_merchant(ApiScope.INVOICES_READ)
            audience = MERCHANT
        result = await read_invoice(ctx.services, audience, principal.subject, str(id))
        match result:
            case InvoiceView():
                return t.to_invoice(result)
            case NotFound():
                return None
            case Forbidden(message=message):
                raise PublicError(message, "FORBIDDEN")
            case _:
                assert_never(result)

    @strawberry.field(permission_classes=[CanReadInvoices], description="Newest first; first is capped at 100.")
    async def invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.InvoiceConnection:
        ctx = info.context
        page = page_or_error(await invoicing.list_invoices(ctx.services, ctx.merchant_id, page_size(first), after))
        edges = [t.InvoiceEdge(node=t.to_invoice(e.node), cursor=e.cursor) for e in page.edges]
        return t.InvoiceConnection(edges=edges, page_info=page_info(page))
