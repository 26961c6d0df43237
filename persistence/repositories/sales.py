"""Sales recorded by the point of sale, and the queries the ticket lookup and the
factura global make over them. Merchant-owned queries always take the merchant id and
filter by it (CONVENTIONS 5, fine-grained authorisation)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import defer

from persistence.repositories.base import Cursor, RepositoryBase
from persistence.repositories.documents import live_invoice
from persistence.tables import InvoiceRow, MerchantRow, SaleRow, SaleStatus


class SaleRepository(RepositoryBase[SaleRow]):
    model = SaleRow

    async def owned(self, merchant_id: int, sale_id: int) -> SaleRow | None:
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id)
        )
        return result.scalar_one_or_none()

    async def by_reference(self, merchant_id: int, reference_key: str) -> SaleRow | None:
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.reference_key == reference_key)
        )
        return result.scalar_one_or_none()

    async def page(
        self, merchant_id: int, first: int, after: Cursor | None, *, reference: str | None = None,
        sold_from: datetime | None = None, sold_to: datetime | None = None, status: SaleStatus | None = None,
    ) -> list[SaleRow]:
        """Newest first by (sold_at, id), optionally narrowed: ``reference`` is part of the
        reference key (LIKE, escaped), the dates bound sold_at as [sold_from, sold_to)."""
        stmt = select(SaleRow).where(SaleRow.merchant_id == merchant_id)
        if reference:
            stmt = stmt.where(SaleRow.reference_key.contains(reference, autoescape=True))
        if sold_from is not None:
            stmt = stmt.where(SaleRow.sold_at >= sold_from)
        if sold_to is not None:
            stmt = stmt.where(SaleRow.sold_at < sold_to)
        if status is not None:
            stmt = stmt.where(SaleRow.status == status)
        return await self._keyset_page(stmt, SaleRow.sold_at, SaleRow.id, first, after)

    async def ticket_with_invoice(
        self, company_number: str, reference_key: str
    ) -> tuple[SaleRow, MerchantRow, InvoiceRow | None] | None:
        """A ticket lookup in one round trip: the sale, its merchant and its live
        (not cancelled) invoice, if any (without the invoice's files)."""
        result = await self.session.execute(
            select(SaleRow, MerchantRow, InvoiceRow)
            .join(MerchantRow, MerchantRow.id == SaleRow.merchant_id)
            .outerjoin(InvoiceRow, and_(InvoiceRow.sale_id == SaleRow.id, live_invoice()))
            .where(MerchantRow.company_number == company_number, SaleRow.reference_key == reference_key)
            .options(defer(InvoiceRow.signed_xml), defer(InvoiceRow.stamped_xml), defer(InvoiceRow.pdf))
        )
        row = result.first()
        return (row[0], row[1], row[2]) if row else None

    async def set_status(self, merchant_id: int, sale_id: int, status: SaleStatus) -> None:
        await self.session.execute(
            update(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id).values(status=status)
        )

    async def move_status(self, merchant_id: int, sale_id: int, from_status: str, to_status: SaleStatus) -> bool:
        """Change the sale's status only if it still is `from_status` (compare-and-set)."""
        result = await self.session.execute(
            update(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id, SaleRow.status == from_status)
            .values(status=to_status)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def lock(self, merchant_id: int, sale_id: int) -> SaleRow | None:
        """The sale as committed now, row-locked until the transaction ends (PostgreSQL
        SELECT ... FOR UPDATE; SQLite's writing transactions are serialised already)."""
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id)
            .with_for_update().execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def open_without_invoice(self, merchant_id: int, start: datetime, end: datetime) -> list[SaleRow]:
        """OPEN sales sold in [start, end) that have no self-invoice row: the candidates of a factura global."""
        result = await self.session.execute(
            select(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
            .order_by(SaleRow.sold_at, SaleRow.id)
        )
        return list(result.scalars())

    async def claim_for_global(self, merchant_id: int, sale_ids: list[int], global_invoice_id: int) -> int:
        """Move OPEN sales without an invoice into a factura global; returns how many moved.

        Conditional on status OPEN: a sale a concurrent request changed (a self-invoice
        claim, a cancellation, another global invoice) is left alone."""
        moved = 0
        for i in range(0, len(sale_ids), _CHUNK):
            result = await self.session.execute(
                update(SaleRow)
                .where(SaleRow.merchant_id == merchant_id, SaleRow.id.in_(sale_ids[i:i + _CHUNK]),
                       SaleRow.status == SaleStatus.OPEN, ~_has_invoice())
                .values(status=SaleStatus.IN_GLOBAL_INVOICE, global_invoice_id=global_invoice_id)
                .execution_options(synchronize_session=False)
            )
            moved += result.rowcount
        return moved

    async def release_self_invoiced_from_global(self, merchant_id: int, global_invoice_id: int) -> int:
        """Give back the sales of a factura global that have a self-invoice row after all.

        On PostgreSQL (read committed) the claim's UPDATE waits for a self-invoice claim
        holding the sale's row lock, then sees the sale still OPEN; this statement runs
        with a fresh snapshot and sees that claim's committed invoice row."""
        result = await self.session.execute(
            update(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.global_invoice_id == global_invoice_id, _has_invoice())
            .values(status=SaleStatus.OPEN, global_invoice_id=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    async def in_global(self, merchant_id: int, global_invoice_id: int) -> list[SaleRow]:
        result = await self.session.execute(
            select(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.global_invoice_id == global_invoice_id)
            .order_by(SaleRow.sold_at, SaleRow.id)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def count_open_without_invoice(self, merchant_id: int, start: datetime, end: datetime) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
        )
        return int(result.scalar_one())

    # --- the merchant console's figures (services/dashboard) ---------------------------------

    async def totals(self, merchant_id: int, start: datetime, end: datetime) -> tuple[int, int, int, int]:
        """Sales sold in [start, end), cancelled ones left out: (count, cents, self-invoiced
        count, self-invoiced cents). One indexed range scan (ix_sale_merchant_sold)."""
        invoiced = SaleRow.status == SaleStatus.INVOICED
        result = await self.session.execute(
            select(
                func.count(), func.coalesce(func.sum(SaleRow.total_cents), 0),
                func.coalesce(func.sum(case((invoiced, 1), else_=0)), 0),
                func.coalesce(func.sum(case((invoiced, SaleRow.total_cents), else_=0)), 0),
            ).where(SaleRow.merchant_id == merchant_id, SaleRow.sold_at >= start, SaleRow.sold_at < end,
                    SaleRow.status != SaleStatus.CANCELLED)
        )
        count, cents, invoiced_count, invoiced_cents = result.one()
        return int(count), int(cents), int(invoiced_count), int(invoiced_cents)

    async def open_totals(self, merchant_id: int, before: datetime) -> tuple[int, int]:
        """OPEN sales without a live self-invoice sold before ``before``: what a factura
        global still has to take (count, cents)."""
        result = await self.session.execute(
            select(func.count(), func.coalesce(func.sum(SaleRow.total_cents), 0))
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at < before, ~_has_invoice())
        )
        count, cents = result.one()
        return int(count), int(cents)

    async def amounts_between(self, merchant_id: int, start: datetime, end: datetime) -> list[tuple[datetime, int, bool]]:
        """(sold_at, cents, self-invoiced) of each sale sold in [start, end), cancelled ones
        left out: three columns, no row objects. The caller buckets them by the merchant's
        local day, which SQL cannot do alike on SQLite and PostgreSQL."""
        result = await self.session.execute(
            select(SaleRow.sold_at, SaleRow.total_cents, SaleRow.status == SaleStatus.INVOICED)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.sold_at >= start, SaleRow.sold_at < end,
                   SaleRow.status != SaleStatus.CANCELLED)
        )
        return [(sold_at, int(cents), bool(invoiced)) for sold_at, cents, invoiced in result.all()]


_CHUNK = 1000  # ids per statement: below SQLite's and asyncpg's bound-parameter limits


def _has_invoice():
    """The sale has a live self-invoice; a cancelled one does not count."""
    return select(InvoiceRow.id).where(InvoiceRow.sale_id == SaleRow.id, live_invoice()).exists()
