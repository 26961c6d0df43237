"""Attempt counters (ticket lookups, logins, used challenges) when they live in the database."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.repositories.base import upsert_for
from persistence.tables import ThrottleRow


class ThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hit(self, keys: Sequence[str], now: datetime, window: timedelta) -> list[tuple[str, int, datetime]]:
        """Count one attempt on every key and return (key, count, window_start) as they are
        after this attempt: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so the count
        is taken and read in the same step (two concurrent attempts never read the same
        count). A window that has ended starts again at now with count 1."""
        if not keys:
            return []
        table = ThrottleRow.__table__
        ended = table.c.window_start <= now - window
        start = literal(now, table.c.window_start.type)  # stored as the column stores it
        stmt = upsert_for(self.session)(table).values([{"key": k, "window_start": now, "count": 1} for k in keys])
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            # Both expressions read the row as it was before this statement (PostgreSQL and SQLite).
            set_={
                "count": case((ended, 1), else_=table.c.count + 1),
                "window_start": case((ended, start), else_=table.c.window_start),
            },
        ).returning(table.c.key, table.c.count, table.c.window_start)
        result = await self.session.execute(stmt)
        return [(key, count, window_start) for key, count, window_start in result]

    async def refund(self, keys: Sequence[str]) -> None:
        """Take back one attempt from each key (an attempt that turned out not to be a guess)."""
        if keys:
            table = ThrottleRow.__table__
            await self.session.execute(
                update(table).where(table.c.key.in_(list(keys)), table.c.count > 0).values(count=table.c.count - 1)
            )
