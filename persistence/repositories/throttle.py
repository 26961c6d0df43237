"""Failed-attempt counters (ticket lookups, logins) when they live in the database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.repositories.base import upsert_for
from persistence.tables import ThrottleRow


class ThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, keys: list[str]) -> list[ThrottleRow]:
        result = await self.session.execute(select(ThrottleRow).where(ThrottleRow.key.in_(keys)))
        return list(result.scalars())

    async def hit(self, key: str, now: datetime, window_start_if_new: datetime) -> ThrottleRow:
        """Count one failure for key inside its window (upsert, safe across processes)."""
        stmt = upsert_for(self.session)(ThrottleRow).values(key=key, window_start=window_start_if_new, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=[ThrottleRow.key], set_={"count": ThrottleRow.count + 1})
        await self.session.execute(stmt)
        row = await self.session.get(ThrottleRow, key, populate_existing=True)
        assert row is not None
        return row

    async def reset(self, key: str, window_start: datetime, count: int) -> None:
        await self.session.execute(
            update(ThrottleRow).where(ThrottleRow.key == key).values(window_start=window_start, count=count)
        )
