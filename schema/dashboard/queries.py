"""The merchant console's queries: the overview's figures and sales per day."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.context import Info
from schema.dashboard import types as t
from schema.errors import PublicError
from schema.merchants.queries import current_merchant
from schema.permissions import CanReadSales
from services.dashboard import service as dashboard


@strawberry.type
class DashboardQuery:
    @strawberry.field(permission_classes=[CanReadSales],
                      description="Sales today and this month, self-invoiced, still to go into a factura global")
    async def dashboard_summary(self, info: Info) -> t.DashboardSummary:
        merchant = await current_merchant(info)
        return t.to_summary(await dashboard.summary(info.context.services, merchant))

    @strawberry.field(permission_classes=[CanReadSales],
                      description="Sales and self-invoiced amounts per local day, the last `days` (1-92) "
                                  "with today, oldest first; days without sales answer zeros")
    async def sales_by_day(self, info: Info, days: Optional[int] = 30) -> list[t.DaySales]:
        days = 30 if days is None else days
        if not 1 <= days <= dashboard.MAX_DAYS:
            raise PublicError(f"days debe estar entre 1 y {dashboard.MAX_DAYS}.", "BAD_REQUEST")
        merchant = await current_merchant(info)
        return [t.to_day(d) for d in await dashboard.sales_by_day(info.context.services, merchant, days)]
