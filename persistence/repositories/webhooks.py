"""Webhook endpoints and their deliveries (an outbox of HTTP calls)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update

from persistence.repositories.base import RepositoryBase
from persistence.tables import WebhookDeliveryRow, WebhookDeliveryStatus, WebhookEndpointRow


class WebhookEndpointRepository(RepositoryBase[WebhookEndpointRow]):
    model = WebhookEndpointRow

    async def live_for_merchant(self, merchant_id: int, limit: int = 100) -> list[WebhookEndpointRow]:
        result = await self.session.execute(
            select(WebhookEndpointRow)
            .where(WebhookEndpointRow.merchant_id == merchant_id, WebhookEndpointRow.deleted_at.is_(None))
            .order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id).limit(limit)
        )
        return list(result.scalars())

    async def owned(self, merchant_id: int, public_id: str) -> WebhookEndpointRow | None:
        result = await self.session.execute(
            select(WebhookEndpointRow).where(
                WebhookEndpointRow.public_id == public_id, WebhookEndpointRow.merchant_id == merchant_id,
                WebhookEndpointRow.deleted_at.is_(None),
            )
        )
        return result.scalar_one_or_none()


class WebhookDeliveryRepository(RepositoryBase[WebhookDeliveryRow]):
    model = WebhookDeliveryRow

    async def due(self, now: datetime, limit: int = 20) -> list[WebhookDeliveryRow]:
        result = await self.session.execute(
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == WebhookDeliveryStatus.PENDING, WebhookDeliveryRow.next_attempt_at <= now)
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def backlog(self, now: datetime) -> tuple[int, int, datetime | None]:
        """Waiting rows (all PENDING), how many of them are due at `now`, and the oldest due
        time (for /metrics: a growing backlog or an old due row means nobody is sending)."""
        due = WebhookDeliveryRow.next_attempt_at <= now
        result = await self.session.execute(
            select(func.count(), func.coalesce(func.sum(case((due, 1), else_=0)), 0),
                   func.min(case((due, WebhookDeliveryRow.next_attempt_at), else_=None)))
            .where(WebhookDeliveryRow.status == WebhookDeliveryStatus.PENDING)
        )
        waiting, due_now, oldest = result.one()
        return int(waiting), int(due_now), oldest

    async def claim(self, delivery_id: int, seen_due_at: datetime, until: datetime) -> bool:
        """Push a due delivery's next attempt to `until`, only if no other process moved it first."""
        result = await self.session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.status == WebhookDeliveryStatus.PENDING,
                WebhookDeliveryRow.next_attempt_at == seen_due_at,
            )
            .values(next_attempt_at=until)
        )
        return result.rowcount == 1

    async def recent(self, endpoint_ids: list[int], per_endpoint: int = 10) -> dict[int, list[WebhookDeliveryRow]]:
        """The newest deliveries of each endpoint (for the merchant's list)."""
        found: dict[int, list[WebhookDeliveryRow]] = {i: [] for i in endpoint_ids}
        for endpoint_id in endpoint_ids:  # at most 100 endpoints a merchant; an index each
            result = await self.session.execute(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id)
                .order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc()).limit(per_endpoint)
            )
            found[endpoint_id] = list(result.scalars())
        return found

    async def owned(self, merchant_id: int, public_id: str) -> WebhookDeliveryRow | None:
        result = await self.session.execute(
            select(WebhookDeliveryRow).where(
                WebhookDeliveryRow.public_id == public_id, WebhookDeliveryRow.merchant_id == merchant_id
            )
        )
        return result.scalar_one_or_none()
