"""Gapless named counters: company numbers, folios per merchant and series."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.repositories.base import upsert_for
from persistence.tables import Counter


class CounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next(self, name: str, *, start: int = 1) -> int:
        """Atomically take the next value of a named gapless counter (row-locked upsert)."""
        stmt = upsert_for(self.session)(Counter).values(name=name, value=start)
        stmt = stmt.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        result = await self.session.execute(stmt.returning(Counter.value))
        return int(result.scalar_one())
