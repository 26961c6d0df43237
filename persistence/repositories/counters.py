"""Gapless named counters: company numbers, folios per merchant and series."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.repositories.base import upsert_for
from persistence.tables import Counter


def taking_next(insert_stmt):
    """An INSERT into ``counter`` (PostgreSQL's or SQLite's, with the counter's name and its
    start) as the counter's upsert: a taken name goes up by one, under its row's lock, and
    the value is returned. CounterRepository.next runs it; the invoice claim runs it as a
    CTE of its INSERT (InvoiceRepository._numbered_insert)."""
    table = Counter.__table__  # type: ignore[attr-defined]
    return insert_stmt.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": table.c.value + 1},
    ).returning(table.c.value)


class CounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next(self, name: str, *, start: int = 1) -> int:
        """Atomically take the next value of a named gapless counter (row-locked upsert)."""
        stmt = taking_next(upsert_for(self.session)(Counter).values(name=name, value=start))
        result = await self.session.execute(stmt)
        return int(result.scalar_one())
