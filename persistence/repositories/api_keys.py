"""API keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from persistence.repositories.base import RepositoryBase
from persistence.tables import ApiKeyRow


class ApiKeyRepository(RepositoryBase[ApiKeyRow]):
    model = ApiKeyRow

    async def by_prefix(self, prefix: str) -> ApiKeyRow | None:
        result = await self.session.execute(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        return result.scalar_one_or_none()

    async def owned(self, merchant_id: int, key_id: int) -> ApiKeyRow | None:
        result = await self.session.execute(
            select(ApiKeyRow).where(ApiKeyRow.id == key_id, ApiKeyRow.merchant_id == merchant_id)
        )
        return result.scalar_one_or_none()

    async def for_merchant(self, merchant_id: int, limit: int = 100) -> list[ApiKeyRow]:
        result = await self.session.execute(
            select(ApiKeyRow).where(ApiKeyRow.merchant_id == merchant_id)
            .order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id.desc()).limit(limit)
        )
        return list(result.scalars())

    async def touch(self, key_id: int, now: datetime) -> None:
        """lastUsedAt, written by the caller at most once a minute per key."""
        await self.session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))
