"""Repositories: all SQL lives here (CONVENTIONS 1). Merchant-owned queries always take
the merchant id and filter by it (CONVENTIONS 5, fine-grained authorisation)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import defer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import Counter, GlobalInvoiceRow, InvoiceRow, MerchantRow, OutboxMessageRow, SaleRow, ThrottleRow


# The XML and PDF columns are large: lists and lookups never need them.
_WITHOUT_FILES = (defer(InvoiceRow.signed_xml), defer(InvoiceRow.stamped_xml), defer(InvoiceRow.pdf))


def _live_invoice():
    """A sale's invoice is its one row that is not CANCELLED (the partial unique index
    uq_invoice_sale_active keeps it to one); cancelled rows stay only as history."""
    return InvoiceRow.status != "CANCELLED"


def _upsert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


class CounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next(self, name: str, *, start: int = 1) -> int:
        """Atomically take the next value of a named gapless counter (row-locked upsert)."""
        insert = _upsert(self.session)
        stmt = insert(Counter).values(name=name, value=start)
        stmt = stmt.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        result = await self.session.execute(stmt.returning(Counter.value))
        return int(result.scalar_one())


class MerchantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: MerchantRow) -> MerchantRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_id(self, merchant_id: int) -> MerchantRow | None:
        return await self.session.get(MerchantRow, merchant_id)

    async def by_email(self, email: str) -> MerchantRow | None:
        result = await self.session.execute(select(MerchantRow).where(MerchantRow.email == email))
        return result.scalar_one_or_none()

    async def by_company_number(self, company_number: str) -> MerchantRow | None:
        result = await self.session.execute(
            select(MerchantRow).where(MerchantRow.company_number == company_number)
        )
        return result.scalar_one_or_none()

    async def email_taken(self, email: str) -> bool:
        result = await self.session.execute(select(func.count()).where(MerchantRow.email == email))
        return bool(result.scalar_one())


class SaleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: SaleRow) -> SaleRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_id(self, merchant_id: int, sale_id: int) -> SaleRow | None:
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id)
        )
        return result.scalar_one_or_none()

    async def by_id_any(self, sale_id: int) -> SaleRow | None:
        """For background jobs that already hold a sale id from a trusted row (the outbox)."""
        return await self.session.get(SaleRow, sale_id)

    async def by_reference(self, merchant_id: int, reference_key: str) -> SaleRow | None:
        result = await self.session.execute(
            select(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.reference_key == reference_key)
        )
        return result.scalar_one_or_none()

    async def page(
        self, merchant_id: int, first: int, after: tuple[datetime, int] | None
    ) -> list[SaleRow]:
        """Newest first by (sold_at, id); keyset pagination, so a page costs the same at 1 M rows."""
        stmt = select(SaleRow).where(SaleRow.merchant_id == merchant_id)
        if after is not None:
            sold_at, sale_id = after
            stmt = stmt.where(
                or_(SaleRow.sold_at < sold_at, and_(SaleRow.sold_at == sold_at, SaleRow.id < sale_id))
            )
        stmt = stmt.order_by(SaleRow.sold_at.desc(), SaleRow.id.desc()).limit(first)
        result = await self.session.execute(stmt)
        return list(result.scalars())

    async def ticket_with_invoice(
        self, company_number: str, reference_key: str
    ) -> tuple[SaleRow, MerchantRow, InvoiceRow | None] | None:
        """A ticket lookup in one round trip: the sale, its merchant and its live
        (not cancelled) invoice, if any (without the invoice's files)."""
        result = await self.session.execute(
            select(SaleRow, MerchantRow, InvoiceRow)
            .join(MerchantRow, MerchantRow.id == SaleRow.merchant_id)
            .outerjoin(InvoiceRow, and_(InvoiceRow.sale_id == SaleRow.id, _live_invoice()))
            .where(MerchantRow.company_number == company_number, SaleRow.reference_key == reference_key)
            .options(*_WITHOUT_FILES)
        )
        row = result.first()
        return (row[0], row[1], row[2]) if row else None

    async def set_status(self, merchant_id: int, sale_id: int, status: str) -> None:
        await self.session.execute(
            update(SaleRow).where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id).values(status=status)
        )

    async def move_status(self, merchant_id: int, sale_id: int, from_status: str, to_status: str) -> bool:
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
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == "OPEN",
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
                       SaleRow.status == "OPEN", ~_has_invoice())
                .values(status="IN_GLOBAL_INVOICE", global_invoice_id=global_invoice_id)
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
            .values(status="OPEN", global_invoice_id=None)
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
            .where(SaleRow.merchant_id == merchant_id, SaleRow.status == "OPEN",
                   SaleRow.sold_at >= start, SaleRow.sold_at < end, ~_has_invoice())
        )
        return int(result.scalar_one())


_CHUNK = 1000  # ids per statement: below SQLite's and asyncpg's bound-parameter limits


def _has_invoice():
    """The sale has a live self-invoice; a cancelled one does not count."""
    return select(InvoiceRow.id).where(InvoiceRow.sale_id == SaleRow.id, _live_invoice()).exists()


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: InvoiceRow) -> InvoiceRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_public_id(self, public_id: str) -> InvoiceRow | None:
        result = await self.session.execute(select(InvoiceRow).where(InvoiceRow.public_id == public_id))
        return result.scalar_one_or_none()

    async def owned_by_public_id(self, merchant_id: int, public_id: str) -> InvoiceRow | None:
        result = await self.session.execute(
            select(InvoiceRow).where(InvoiceRow.merchant_id == merchant_id, InvoiceRow.public_id == public_id)
        )
        return result.scalar_one_or_none()

    async def by_sale(self, sale_id: int) -> InvoiceRow | None:
        """The sale's live invoice (PENDING, ISSUED or CANCELLATION_PENDING), if any."""
        result = await self.session.execute(
            select(InvoiceRow).where(InvoiceRow.sale_id == sale_id, _live_invoice())
        )
        return result.scalar_one_or_none()

    async def by_sales(self, merchant_id: int, sale_ids: list[int]) -> dict[int, InvoiceRow]:
        if not sale_ids:
            return {}
        result = await self.session.execute(
            select(InvoiceRow)
            .where(InvoiceRow.merchant_id == merchant_id, InvoiceRow.sale_id.in_(sale_ids), _live_invoice())
            .options(*_WITHOUT_FILES)
        )
        return {row.sale_id: row for row in result.scalars()}

    async def owned_by_uuid(self, merchant_id: int, uuid: str) -> InvoiceRow | None:
        result = await self.session.execute(
            select(InvoiceRow).where(InvoiceRow.merchant_id == merchant_id, InvoiceRow.uuid == uuid)
            .options(*_WITHOUT_FILES)
        )
        return result.scalar_one_or_none()

    async def record_cancellation(
        self, invoice_id: int, status: str, reason: str, replacement_uuid: str | None,
        cancelled_at: datetime | None, now: datetime,
    ) -> bool:
        """Move an ISSUED (or CANCELLATION_PENDING) invoice to `status`; False when a
        concurrent request moved it first (compare-and-set, so its sale changes once)."""
        result = await self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice_id, InvoiceRow.status.in_(("ISSUED", "CANCELLATION_PENDING")))
            .values(status=status, cancellation_reason=reason, replacement_uuid=replacement_uuid,
                    cancelled_at=cancelled_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def by_id(self, invoice_id: int) -> InvoiceRow | None:
        return await self.session.get(InvoiceRow, invoice_id)

    async def page(self, merchant_id: int, first: int, after: tuple[datetime, int] | None) -> list[InvoiceRow]:
        stmt = select(InvoiceRow).where(InvoiceRow.merchant_id == merchant_id).options(*_WITHOUT_FILES)
        if after is not None:
            created_at, invoice_id = after
            stmt = stmt.where(
                or_(
                    InvoiceRow.created_at < created_at,
                    and_(InvoiceRow.created_at == created_at, InvoiceRow.id < invoice_id),
                )
            )
        stmt = stmt.order_by(InvoiceRow.created_at.desc(), InvoiceRow.id.desc()).limit(first)
        result = await self.session.execute(stmt)
        return list(result.scalars())

    async def try_lease(self, invoice_id: int, now: datetime, until: datetime) -> bool:
        """Take the right to stamp a PENDING invoice, unless another request holds it."""
        result = await self.session.execute(
            update(InvoiceRow)
            .where(
                InvoiceRow.id == invoice_id,
                InvoiceRow.status == "PENDING",
                or_(InvoiceRow.lease_until.is_(None), InvoiceRow.lease_until < now),
            )
            .values(lease_until=until, attempts=InvoiceRow.attempts + 1)
        )
        return result.rowcount == 1


class GlobalInvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: GlobalInvoiceRow) -> GlobalInvoiceRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_id(self, global_invoice_id: int) -> GlobalInvoiceRow | None:
        return await self.session.get(GlobalInvoiceRow, global_invoice_id, populate_existing=True)

    async def by_public_id(self, public_id: str) -> GlobalInvoiceRow | None:
        result = await self.session.execute(select(GlobalInvoiceRow).where(GlobalInvoiceRow.public_id == public_id))
        return result.scalar_one_or_none()

    async def by_period(self, merchant_id: int, periodicity: str, months: str, year: int) -> GlobalInvoiceRow | None:
        result = await self.session.execute(
            select(GlobalInvoiceRow).where(
                GlobalInvoiceRow.merchant_id == merchant_id, GlobalInvoiceRow.periodicity == periodicity,
                GlobalInvoiceRow.months == months, GlobalInvoiceRow.year == year,
            ).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def page(self, merchant_id: int, first: int, after: tuple[datetime, int] | None) -> list[GlobalInvoiceRow]:
        stmt = select(GlobalInvoiceRow).where(GlobalInvoiceRow.merchant_id == merchant_id)
        if after is not None:
            created_at, row_id = after
            stmt = stmt.where(or_(
                GlobalInvoiceRow.created_at < created_at,
                and_(GlobalInvoiceRow.created_at == created_at, GlobalInvoiceRow.id < row_id),
            ))
        stmt = stmt.order_by(GlobalInvoiceRow.created_at.desc(), GlobalInvoiceRow.id.desc()).limit(first)
        result = await self.session.execute(stmt)
        return list(result.scalars())

    async def try_lease(self, global_invoice_id: int, now: datetime, until: datetime) -> bool:
        """Take the right to stamp a PENDING factura global, unless another request holds it."""
        result = await self.session.execute(
            update(GlobalInvoiceRow)
            .where(
                GlobalInvoiceRow.id == global_invoice_id,
                GlobalInvoiceRow.status == "PENDING",
                or_(GlobalInvoiceRow.lease_until.is_(None), GlobalInvoiceRow.lease_until < now),
            )
            .values(lease_until=until, attempts=GlobalInvoiceRow.attempts + 1)
        )
        return result.rowcount == 1


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: OutboxMessageRow) -> OutboxMessageRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def due(self, now: datetime, limit: int = 20) -> list[OutboxMessageRow]:
        result = await self.session.execute(
            select(OutboxMessageRow)
            .where(OutboxMessageRow.status == "PENDING", OutboxMessageRow.next_attempt_at <= now)
            .order_by(OutboxMessageRow.next_attempt_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def by_id(self, message_id: int) -> OutboxMessageRow | None:
        return await self.session.get(OutboxMessageRow, message_id)

    async def claim(self, message_id: int, seen_due_at: datetime, until: datetime) -> bool:
        result = await self.session.execute(
            update(OutboxMessageRow)
            .where(
                OutboxMessageRow.id == message_id,
                OutboxMessageRow.status == "PENDING",
                OutboxMessageRow.next_attempt_at == seen_due_at,
            )
            .values(next_attempt_at=until)
        )
        return result.rowcount == 1


class ThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> ThrottleRow | None:
        return await self.session.get(ThrottleRow, key)

    async def get_many(self, keys: list[str]) -> list[ThrottleRow]:
        result = await self.session.execute(select(ThrottleRow).where(ThrottleRow.key.in_(keys)))
        return list(result.scalars())

    async def hit(self, key: str, now: datetime, window_start_if_new: datetime) -> ThrottleRow:
        """Count one failure for key inside its window (upsert, safe across processes)."""
        insert = _upsert(self.session)
        stmt = insert(ThrottleRow).values(key=key, window_start=window_start_if_new, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=[ThrottleRow.key], set_={"count": ThrottleRow.count + 1})
        await self.session.execute(stmt)
        row = await self.session.get(ThrottleRow, key, populate_existing=True)
        assert row is not None
        return row

    async def reset(self, key: str, window_start: datetime, count: int) -> None:
        await self.session.execute(
            update(ThrottleRow).where(ThrottleRow.key == key).values(window_start=window_start, count=count)
        )
