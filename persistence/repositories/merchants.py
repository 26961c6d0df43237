"""Merchants."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select

from persistence.repositories.base import RepositoryBase
from persistence.tables import MerchantRow


class MerchantRepository(RepositoryBase[MerchantRow]):
    model = MerchantRow

    async def by_email(self, email: str) -> MerchantRow | None:
        result = await self.session.execute(select(MerchantRow).where(MerchantRow.email == email))
        return result.scalar_one_or_none()

    async def by_company_number(self, company_number: str) -> MerchantRow | None:
        result = await self.session.execute(select(MerchantRow).where(MerchantRow.company_number == company_number))
        return result.scalar_one_or_none()

    async def email_taken(self, email: str) -> bool:
        result = await self.session.execute(select(func.count()).where(MerchantRow.email == email))
        return bool(result.scalar_one())

    async def certificates_expiring(
        self, after: datetime, until: datetime, *, page_after: tuple[datetime, int] | None = None, limit: int = 200,
    ) -> list[MerchantRow]:
        """Merchants whose CSD expires in (after, until], soonest first, a page at a time
        (keyset on (certificate_valid_to, id): the expiry sweep reads them all)."""
        stmt = select(MerchantRow).where(MerchantRow.certificate_valid_to > after, MerchantRow.certificate_valid_to <= until)
        if page_after is not None:
            at, last_id = page_after
            stmt = stmt.where(or_(MerchantRow.certificate_valid_to > at,
                                  and_(MerchantRow.certificate_valid_to == at, MerchantRow.id > last_id)))
        result = await self.session.execute(stmt.order_by(MerchantRow.certificate_valid_to, MerchantRow.id).limit(limit))
        return list(result.scalars())

    async def with_automatic_global_invoices(self, after_id: int = 0, limit: int = 200) -> list[MerchantRow]:
        """Merchants whose facturas globales the worker issues, a page at a time by id."""
        result = await self.session.execute(
            select(MerchantRow).where(MerchantRow.global_invoice_automatic.is_(True), MerchantRow.id > after_id)
            .order_by(MerchantRow.id).limit(limit)
        )
        return list(result.scalars())
