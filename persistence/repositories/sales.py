"""Sales recorded by the point of sale, and the queries the ticket lookup and the
factura global make over them. Merchant-owned queries always take the merchant id and
filter by it (CONVENTIONS 5, fine-grained authorisation)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, update
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
            .outerjoin(InvoiceRow, and_(or_(InvoiceRow.sale_id == SaleRow.id, InvoiceRow.id == SaleRow.invoice_id),
                                        live_invoice()))
            .where(MerchantRow.company_number == company_number, SaleRow.reference_key == reference_key)
            .options(defer(InvoiceRow.signed_xml), defer(InvoiceRow.stamped_xml), defer(InvoiceRow.pdf))
            .order_by(InvoiceRow.correction.desc())
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

    async def lock_many(self, merchant_id: int, sale_ids: list[int]) -> list[SaleRow]:
        """Several sales row-locked in id order (two requests locking overlapping sets in
        the same order cannot deadlock); as committed now."""
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id.in_(sale_ids))
            .order_by(SaleRow.id).with_for_update().execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def by_ids(self, merchant_id: int, sale_ids: list[int]) -> list[SaleRow]:
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id.in_(sale_ids)).order_by(SaleRow.id)
        )
        return list(result.scalars())

    async def cover(self, merchant_id: int, sale_ids: list[int], invoice_id: int) -> int:
        """Point OPEN sales without any invoice to a combined invoice; how many moved.
        Conditional (invoice_id still null, no live invoice of their own): of two requests
        over overlapping tickets only one covers each, and the loser sees fewer rows."""
        result = await self.session.execute(
            update(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.id.in_(sale_ids), SaleRow.status == SaleStatus.OPEN,
                   SaleRow.invoice_id.is_(None), ~_has_own_invoice())
            .values(invoice_id=invoice_id)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    async def covered_by(self, invoice_id: int) -> list[SaleRow]:
        """The tickets a combined invoice covers, oldest first (its concepts' order)."""
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.invoice_id == invoice_id).order_by(SaleRow.sold_at, SaleRow.id)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def set_status_covered(self, invoice_id: int, status: SaleStatus) -> None:
        await self.session.execute(
            update(SaleRow).where(SaleRow.invoice_id == invoice_id).values(status=status)
            .execution_options(synchronize_session=False)
        )

    async def move_covered(self, from_invoice_id: int, to_invoice_id: int) -> None:
        """A correction of a combined invoice takes its tickets over."""
        await self.session.execute(
            update(SaleRow).where(SaleRow.invoice_id == from_invoice_id).values(invoice_id=to_invoice_id)
            .execution_options(synchronize_session=False)
        )

    async def release_covered(self, merchant_id: int, invoice_id: int, target: SaleStatus) -> None:
        """The combined invoice was cancelled: its tickets move from INVOICED to `target`
        and are free again."""
        await self.session.execute(
            update(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.invoice_id == invoice_id,
                                  SaleRow.status == SaleStatus.INVOICED)
            .values(status=target, invoice_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.invoice_id == invoice_id)
            .values(invoice_id=None)
            .execution_options(synchronize_session=False)
        )

    async def open_without_invoice(self, merchant_id: int, start: datetime, end: datetime,
                                   limit: int | None = None) -> list[SaleRow]:
        """OPEN sales sold in [start, end) that have no self-invoice row: the candidates of a factura global."""
        stmt = (
            select(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
            .order_by(SaleRow.sold_at, SaleRow.id)
        )
        result = await self.session.execute(stmt.limit(limit) if limit is not None else stmt)
        return list(result.scalars())

    async def earliest_open_without_invoice(self, merchant_id: int, start: datetime, end: datetime) -> datetime | None:
        """soldAt of the first OPEN sale without an invoice in [start, end): the fiscal clock's next period."""
        result = await self.session.execute(
            select(func.min(SaleRow.sold_at))
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
        )
        return result.scalar_one_or_none()

    async def open_summary(self, merchant_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        """(count, total cents) of the OPEN sales without an invoice in [start, end)."""
        result = await self.session.execute(
            select(func.count(), func.coalesce(func.sum(SaleRow.total_cents), 0))
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == SaleStatus.OPEN,
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
        )
        count, total = result.one()
        return int(count), int(total)

    async def earliest_open_by_merchant(self) -> list[tuple[int, datetime, str, str]]:
        """(merchant id, soldAt of its oldest OPEN sale without an invoice, zip code,
        global periodicity) of every merchant whose facturas globales the worker issues:
        one grouped query, for the metrics' next-due time."""
        result = await self.session.execute(
            select(SaleRow.merchant_id, func.min(SaleRow.sold_at), MerchantRow.zip_code,
                   MerchantRow.global_invoice_periodicity)
            .join(MerchantRow, MerchantRow.id == SaleRow.merchant_id)
            .where(SaleRow.status == SaleStatus.OPEN, MerchantRow.global_invoice_automatic.is_(True), ~_has_invoice())
            .group_by(SaleRow.merchant_id, MerchantRow.zip_code, MerchantRow.global_invoice_periodicity)
        )
        return [(m, sold_at, zip_code, periodicity) for m, sold_at, zip_code, periodicity in result.all()]

    async def lock_in_global(self, merchant_id: int, global_invoice_id: int) -> list[int]:
        """Row-lock the sales of a factura global (PostgreSQL SELECT ... FOR UPDATE): a
        self-invoice claim of one of them (which locks its sale first) is then either
        committed before this transaction reads them, or waits for it."""
        result = await self.session.execute(
            select(SaleRow.id).where(SaleRow.merchant_id == merchant_id, SaleRow.global_invoice_id == global_invoice_id)
            .order_by(SaleRow.id).with_for_update()
        )
        return list(result.scalars())

    async def move_to_replacement(self, merchant_id: int, from_global_id: int, to_global_id: int) -> int:
        """The sales of a global being replaced that keep no nominative invoice go to its
        replacement; those with one (a customer asked for it) stay with the cancelled global."""
        result = await self.session.execute(
            update(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.global_invoice_id == from_global_id,
                   SaleRow.status == SaleStatus.IN_GLOBAL_INVOICE, ~_has_invoice())
            .values(global_invoice_id=to_global_id)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(  # fresh snapshot: an invoice claim committed meanwhile
            update(SaleRow)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.global_invoice_id == to_global_id, _has_invoice())
            .values(global_invoice_id=from_global_id)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

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


def _has_own_invoice():
    """The sale has a live self-invoice of its own; a cancelled one does not count."""
    return select(InvoiceRow.id).where(InvoiceRow.sale_id == SaleRow.id, live_invoice()).exists()


def _has_invoice():
    """The sale has a live self-invoice: its own, or a combined one covering it (issue 15)."""
    return select(InvoiceRow.id).where(
        or_(InvoiceRow.sale_id == SaleRow.id, InvoiceRow.id == SaleRow.invoice_id), live_invoice()).exists()
