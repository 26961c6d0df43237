"""Strawberry types of webhook endpoints and their deliveries."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from services.webhooks import models

WebhookEvent = strawberry.enum(
    models.WebhookEvent, name="WebhookEvent",
    description="What a webhook tells; the delivery's JSON carries it as type (e.g. invoice.issued)",
)


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery id in the body, the same on every retry")
    event: WebhookEvent  # type: ignore[valid-type]
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: Optional[int] = strawberry.field(description="The receiver's last HTTP status, if it answered")
    last_error: Optional[str]
    created_at: datetime
    next_attempt_at: Optional[datetime] = strawberry.field(description="Set while PENDING")
    delivered_at: Optional[datetime]


@strawberry.type
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    events: list[WebhookEvent]  # type: ignore[valid-type]
    created_at: datetime
    recent_deliveries: list[WebhookDelivery] = strawberry.field(description="The newest 10, newest first")


@strawberry.type
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="Signing secret, shown only now: verify Autofactura-Signature "
        "(t=<unix>,v1=hex HMAC-SHA256 of \"<t>.<raw body>\" with this secret)"
    )


@strawberry.type
class InvalidWebhookEndpoint:
    errors: list[FieldError]


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https only in production; no local or private addresses")
    events: list[WebhookEvent]  # type: ignore[valid-type]


CreateWebhookEndpointResult = Annotated[
    Union[WebhookEndpointCreated, InvalidWebhookEndpoint], strawberry.union("CreateWebhookEndpointResult")
]
DeleteWebhookEndpointResult = Annotated[
    Union[WebhookEndpoint, InvalidWebhookEndpoint], strawberry.union("DeleteWebhookEndpointResult")
]
RetryWebhookDeliveryResult = Annotated[
    Union[WebhookDelivery, InvalidWebhookEndpoint], strawberry.union("RetryWebhookDeliveryResult")
]


def to_delivery(d: models.WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery(
        id=strawberry.ID(d.id), event=d.event, status=WebhookDeliveryStatus(d.status.value), attempts=d.attempts,
        last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
        next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at,
    )


def to_endpoint(e: models.WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=strawberry.ID(e.id), url=e.url, events=list(e.events), created_at=e.created_at,
        recent_deliveries=[to_delivery(d) for d in e.recent_deliveries],
    )
