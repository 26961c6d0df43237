"""API-key queries: the merchant's keys."""
from __future__ import annotations

import strawberry

from schema.api_keys import types as t
from schema.context import Info
from schema.permissions import CanManageApiKeys
from services.api_keys import service as api_keys


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(permission_classes=[CanManageApiKeys], description="Newest first, revoked ones included.")
    async def api_keys(self, info: Info) -> list[t.ApiKey]:
        ctx = info.context
        return [t.to_api_key(k) for k in await api_keys.list_api_keys(ctx.services, ctx.merchant_id)]
