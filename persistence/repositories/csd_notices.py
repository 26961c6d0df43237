"""CSD expiry notices: which "your CSD expires soon" e-mails were queued."""
from __future__ import annotations

from datetime import datetime

from persistence.repositories.base import RepositoryBase, upsert_for
from persistence.tables import CsdExpiryNoticeRow


class CsdNoticeRepository(RepositoryBase[CsdExpiryNoticeRow]):
    model = CsdExpiryNoticeRow

    async def claim(self, merchant_id: int, certificate_number: str, days_before: int, valid_to: datetime,
                    now: datetime) -> int | None:
        """Record the notice; its id, or None when it had been recorded before (by this
        sweep or a concurrent one: INSERT ... ON CONFLICT DO NOTHING on the unique key)."""
        stmt = upsert_for(self.session)(CsdExpiryNoticeRow).values(
            merchant_id=merchant_id, certificate_number=certificate_number, days_before=days_before,
            valid_to=valid_to, created_at=now,
        ).on_conflict_do_nothing(index_elements=["merchant_id", "certificate_number", "days_before"])
        result = await self.session.execute(stmt.returning(CsdExpiryNoticeRow.id))
        inserted = result.scalar_one_or_none()
        return int(inserted) if inserted is not None else None
