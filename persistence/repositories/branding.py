"""Merchant branding (display name, accent colour, logo)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import defer

from persistence.repositories.base import RepositoryBase
from persistence.tables import MerchantBrandingRow


class BrandingRepository(RepositoryBase[MerchantBrandingRow]):
    model = MerchantBrandingRow

    async def for_merchant(self, merchant_id: int, *, with_logo: bool = False) -> MerchantBrandingRow | None:
        """The merchant's branding; the logo bytes only when asked (they are up to 200 kB)."""
        stmt = select(MerchantBrandingRow).where(MerchantBrandingRow.merchant_id == merchant_id)
        if not with_logo:
            stmt = stmt.options(defer(MerchantBrandingRow.logo, raiseload=True))
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()
