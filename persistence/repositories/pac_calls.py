"""The audit of PAC calls (pac_call)."""
from __future__ import annotations

from sqlalchemy import select

from persistence.repositories.base import RepositoryBase
from persistence.tables import PacCallRow


class PacCallRepository(RepositoryBase[PacCallRow]):
    model = PacCallRow

    async def add_many(self, rows: list[PacCallRow]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def of_document(self, merchant_id: int, document_kind: str, document_id: int) -> list[PacCallRow]:
        result = await self.session.execute(
            select(PacCallRow)
            .where(PacCallRow.merchant_id == merchant_id, PacCallRow.document_kind == document_kind,
                   PacCallRow.document_id == document_id)
            .order_by(PacCallRow.at, PacCallRow.id)
        )
        return list(result.scalars())

    async def of_merchant(self, merchant_id: int, limit: int = 100) -> list[PacCallRow]:
        result = await self.session.execute(
            select(PacCallRow).where(PacCallRow.merchant_id == merchant_id)
            .order_by(PacCallRow.at.desc(), PacCallRow.id.desc()).limit(min(limit, 100))
        )
        return list(result.scalars())
