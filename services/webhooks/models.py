"""What the webhooks domain returns: events, endpoints and deliveries as read models."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from persistence.tables import WebhookDeliveryRow, WebhookDeliveryStatus, WebhookEndpointRow


class WebhookEvent(StrEnum):
    SALE_RECORDED = "sale.recorded"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_CANCELLATION_PENDING = "invoice.cancellation_pending"
    INVOICE_CANCELLED = "invoice.cancelled"
    GLOBAL_INVOICE_ISSUED = "global_invoice.issued"


@dataclass(frozen=True)
class WebhookDelivery:
    id: str  # the delivery id the receiver sees in the body, the same on every retry
    event: WebhookEvent
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None  # null once delivered or given up
    delivered_at: datetime | None


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    events: tuple[WebhookEvent, ...]
    created_at: datetime
    recent_deliveries: tuple[WebhookDelivery, ...] = ()


@dataclass(frozen=True)
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str  # shown once; the merchant verifies signatures with it


def parse_events(text: str) -> tuple[WebhookEvent, ...]:
    known = {e.value: e for e in WebhookEvent}
    return tuple(known[v] for v in text.split() if v in known)


def delivery_from_row(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.public_id, event=WebhookEvent(row.event_type), status=WebhookDeliveryStatus(row.status),
        attempts=row.attempts, last_status_code=row.last_status_code, last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if row.status == WebhookDeliveryStatus.PENDING else None,
        delivered_at=row.delivered_at,
    )


def endpoint_from_row(row: WebhookEndpointRow, deliveries: list[WebhookDeliveryRow] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.public_id, url=row.url, events=parse_events(row.events), created_at=row.created_at,
        recent_deliveries=tuple(delivery_from_row(d) for d in deliveries or ()),
    )
