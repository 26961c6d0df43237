"""Sales queries: the merchant's sales, newest first."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.context import Info
from schema.merchants.queries import current_merchant
from schema.pagination import page_info, page_or_error, page_size
from schema.permissions import CanReadSales
from schema.sales import types as t
from services.sales import service as sales


@strawberry.type
class SalesQuery:
    @strawberry.field(permission_classes=[CanReadSales], description="Newest first; first is capped at 100.")
    async def sales(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.SaleConnection:
        merchant = await current_merchant(info)
        page = page_or_error(await sales.list_sales(info.context.services, merchant, page_size(first), after))
        edges = [t.SaleEdge(node=t.to_sale(e.node), cursor=e.cursor) for e in page.edges]
        return t.SaleConnection(edges=edges, page_info=page_info(page))
