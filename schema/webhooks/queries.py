"""Webhook queries: the merchant's endpoints with their recent deliveries."""
from __future__ import annotations

import strawberry

from schema.context import Info
from schema.permissions import CanManageWebhooks
from schema.webhooks import types as t
from services.webhooks import service as webhooks


@strawberry.type
class WebhookQuery:
    @strawberry.field(permission_classes=[CanManageWebhooks])
    async def webhook_endpoints(self, info: Info) -> list[t.WebhookEndpoint]:
        ctx = info.context
        return [t.to_endpoint(e) for e in await webhooks.list_endpoints(ctx.services, ctx.merchant_id)]
