"""Webhook mutations: endpoints (the secret is shown once) and retrying a delivery."""
from __future__ import annotations

from typing import assert_never

import strawberry

from schema.context import Info
from schema.fields import to_field_errors
from schema.permissions import CanManageWebhooks
from schema.webhooks import types as t
from services.kernel.results import Invalid
from services.webhooks import models
from services.webhooks import service as webhooks


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=[CanManageWebhooks])
    async def create_webhook_endpoint(self, info: Info, input: t.CreateWebhookEndpointInput) -> t.CreateWebhookEndpointResult:
        ctx = info.context
        result = await webhooks.create_endpoint(ctx.services, ctx.merchant_id, input.url, list(input.events))
        match result:
            case models.WebhookEndpointCreated():
                return t.WebhookEndpointCreated(endpoint=t.to_endpoint(result.endpoint), secret=result.secret)
            case Invalid(problems=problems):
                return t.InvalidWebhookEndpoint(errors=to_field_errors(problems))
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[CanManageWebhooks], description="Its pending deliveries are not sent.")
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> t.DeleteWebhookEndpointResult:
        ctx = info.context
        result = await webhooks.delete_endpoint(ctx.services, ctx.merchant_id, str(id))
        match result:
            case models.WebhookEndpoint():
                return t.to_endpoint(result)
            case Invalid(problems=problems):
                return t.InvalidWebhookEndpoint(errors=to_field_errors(problems))
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[CanManageWebhooks], description="Send a delivery again now, with the same id and body.")
    async def retry_webhook_delivery(self, info: Info, id: strawberry.ID) -> t.RetryWebhookDeliveryResult:
        ctx = info.context
        result = await webhooks.retry_delivery(ctx.services, ctx.merchant_id, str(id))
        match result:
            case models.WebhookDelivery():
                return t.to_delivery(result)
            case Invalid(problems=problems):
                return t.InvalidWebhookEndpoint(errors=to_field_errors(problems))
            case _:
                assert_never(result)
