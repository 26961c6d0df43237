"""The e-mail outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update

from persistence.repositories.base import RepositoryBase
from persistence.tables import OutboxMessageRow, OutboxStatus


class OutboxRepository(RepositoryBase[OutboxMessageRow]):
    model = OutboxMessageRow

    async def due(self, now: datetime, limit: int = 20) -> list[OutboxMessageRow]:
        result = await self.session.execute(
            select(OutboxMessageRow)
            .where(OutboxMessageRow.status == OutboxStatus.PENDING, OutboxMessageRow.next_attempt_at <= now)
            .order_by(OutboxMessageRow.next_attempt_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def backlog(self, now: datetime) -> tuple[int, int, datetime | None]:
        """Waiting rows (all PENDING), how many of them are due at `now`, and the oldest due
        time (for /metrics: a growing backlog or an old due row means nobody is sending)."""
        due = OutboxMessageRow.next_attempt_at <= now
        result = await self.session.execute(
            select(func.count(), func.coalesce(func.sum(case((due, 1), else_=0)), 0),
                   func.min(case((due, OutboxMessageRow.next_attempt_at), else_=None)))
            .where(OutboxMessageRow.status == OutboxStatus.PENDING)
        )
        waiting, due_now, oldest = result.one()
        return int(waiting), int(due_now), oldest

    async def claim(self, message_id: int, seen_due_at: datetime, until: datetime) -> bool:
        """Push a due message's next attempt to `until`, only if no other process moved it first."""
        result = await self.session.execute(
            update(OutboxMessageRow)
            .where(
                OutboxMessageRow.id == message_id,
                OutboxMessageRow.status == OutboxStatus.PENDING,
                OutboxMessageRow.next_attempt_at == seen_due_at,
            )
            .values(next_attempt_at=until)
        )
        return result.rowcount == 1

    async def count_for(self, kind: str, ref_id: int) -> int:
        """Messages ever queued of a kind about one row (an invoice's e-mails)."""
        result = await self.session.execute(
            select(func.count()).where(OutboxMessageRow.kind == kind, OutboxMessageRow.ref_id == ref_id)
        )
        return int(result.scalar_one())
