"""Sales queries: the merchant's sales, newest first."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry

from schema.context import Info
from schema.merchants.queries import current_merchant
from schema.pagination import page_info, page_or_error, page_size
from schema.permissions import CanReadSales
from schema.sales import types as t
from services.kernel.ids import parse_row_id
from services.sales import service as sales
from services.sales.models import SaleStatusValue


@strawberry.type
class SalesQuery:
    @strawberry.field(permission_classes=[CanReadSales], description="Newest first; first is capped at 100. "
                      "Optionally narrowed by part of the reference, sold_at in [soldFrom, soldTo) and status.")
    async def sales(
        self, info: Info, first: Optional[int] = 50, after: Optional[str] = None,
        reference: Optional[str] = None, sold_from: Optional[datetime] = None, sold_to: Optional[datetime] = None,
        status: Optional[t.SaleStatus] = None,
    ) -> t.SaleConnection:
        merchant = await current_merchant(info)
        where = sales.SaleFilter(
            reference=reference, sold_from=sold_from, sold_to=sold_to,
            status=SaleStatusValue(status.value) if status is not None else None,
        )
        page = page_or_error(await sales.list_sales(info.context.services, merchant, page_size(first), after, where))
        edges = [t.SaleEdge(node=t.to_sale(e.node), cursor=e.cursor) for e in page.edges]
        return t.SaleConnection(edges=edges, page_info=page_info(page))

    @strawberry.field(permission_classes=[CanReadSales], description="One of the merchant's sales; null when unknown.")
    async def sale(self, info: Info, id: strawberry.ID) -> Optional[t.Sale]:
        merchant = await current_merchant(info)
        sale_id = parse_row_id(str(id))  # "²".isdigit() is True: only ASCII digits name a row
        if sale_id is None:
            return None
        found = await sales.get_sale(info.context.services, merchant, sale_id)
        return t.to_sale(found) if found is not None else None
