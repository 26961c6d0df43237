"""The repository base every aggregate's repository builds on (Polar's RepositoryBase[M]).

All SQL lives in persistence/ (CONVENTIONS 1). A repository never commits: the unit of
work does, when the service asks (persistence/uow.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)

Cursor = tuple[datetime, int]  # keyset position: (ordering instant, id)


class RepositoryBase(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: M) -> M:
        """Insert now (flush), so a unique constraint fails here rather than at commit."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def save(self, row: M) -> M:
        """Write a changed row now (flush); the unit of work commits it."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_id(self, row_id: int) -> M | None:
        """The row as committed now (never a stale copy of this session's identity map)."""
        return await self.session.get(self.model, row_id, populate_existing=True)

    async def _keyset_page(self, stmt: Select, moment: Any, row_id: Any, first: int, after: Cursor | None) -> list[M]:
        """Newest first by (moment, id): a page costs the same at 1 M rows."""
        if after is not None:
            at, last_id = after
            stmt = stmt.where(or_(moment < at, and_(moment == at, row_id < last_id)))
        result = await self.session.execute(stmt.order_by(moment.desc(), row_id.desc()).limit(first))
        return list(result.scalars())


def upsert_for(session: AsyncSession):
    """INSERT ... ON CONFLICT for the session's engine."""
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
