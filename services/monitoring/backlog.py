"""What is waiting in the database, for GET /metrics (issue 12): read at scrape time, the
same answer from every replica."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.kernel.container import Services


@dataclass(frozen=True)
class Queue:
    waiting: int  # PENDING rows (due now or later, after a back-off)
    due: int  # of those, due now: a worker should be sending them
    oldest_due: datetime | None  # when the oldest due one fell due


@dataclass(frozen=True)
class Backlog:
    outbox: Queue  # e-mail
    webhooks: Queue
    # When the next factura global falls due (exposed as
    # autofactura_next_global_invoice_due_timestamp_seconds; absent while None). The fiscal
    # clock that schedules them (issue 12: facturas globales issued by the worker) is being
    # built on another branch: `backlog()` below sets this from its next-due query.
    next_global_due: datetime | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def backlog(services: Services, now: datetime | None = None) -> Backlog:
    now = now or datetime.now(UTC)
    async with services.uow_factory() as uow:
        mail = await uow.outbox.backlog(now)
        hooks = await uow.webhook_deliveries.backlog(now)
    return Backlog(
        outbox=Queue(mail[0], mail[1], _utc(mail[2])),
        webhooks=Queue(hooks[0], hooks[1], _utc(hooks[2])),
    )
