"""Stamped documents: self-invoices (InvoiceRow) and facturas globales (GlobalInvoiceRow).

Both are sealed and stamped the same way (services/invoicing/issuing.py), so the lease,
the sealed XML, the stamp and the PDF are written here once for both.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Generic, TypeVar

from sqlalchemy import and_, bindparam, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, defer, make_transient_to_detached

from persistence.repositories.base import Cursor, RepositoryBase
from persistence.repositories.counters import CounterRepository, taking_next
from persistence.tables import Counter, DocumentStatus, GlobalInvoiceRow, InvoiceRow, MerchantRow, SaleRow, StampedDocument

D = TypeVar("D", InvoiceRow, GlobalInvoiceRow)

LIVE_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.CANCELLATION_PENDING)


class StampedDocumentRepository(RepositoryBase[D], Generic[D]):
    def _without_files(self):
        """The XML and PDF columns are large: lists and lookups never need them."""
        m = self.model
        large = [defer(m.signed_xml), defer(m.stamped_xml), defer(m.pdf)]
        if hasattr(m, "cancellation_acuse"):
            large.append(defer(m.cancellation_acuse))
        return tuple(large)

    async def by_public_id(self, public_id: str) -> D | None:
        result = await self.session.execute(select(self.model).where(self.model.public_id == public_id))
        return result.scalar_one_or_none()

    async def owned_by_public_id(self, merchant_id: int, public_id: str) -> D | None:
        result = await self.session.execute(
            select(self.model).where(self.model.merchant_id == merchant_id, self.model.public_id == public_id)
        )
        return result.scalar_one_or_none()

    async def for_download(self, public_id: str) -> tuple[D, str] | None:
        """The document and its issuer's RFC (the file name's) in one query, without the
        signed XML (a download serves the stamped XML or the PDF; issue 16: the stored
        PDF's link was half as fast as a static file)."""
        m = self.model
        result = await self.session.execute(
            select(m, MerchantRow.rfc).join(MerchantRow, MerchantRow.id == m.merchant_id)
            .where(m.public_id == public_id).options(defer(m.signed_xml))
        )
        found = result.first()
        return (found[0], found[1]) if found is not None else None

    async def page(self, merchant_id: int, first: int, after: Cursor | None) -> list[D]:
        m = self.model
        stmt = select(m).where(m.merchant_id == merchant_id).options(*self._without_files())
        return await self._keyset_page(stmt, m.created_at, m.id, first, after)

    async def try_lease(self, row_id: int, now: datetime, until: datetime) -> bool:
        """Take the right to stamp a PENDING document, unless another request holds it."""
        m = self.model
        result = await self.session.execute(
            update(m)
            .where(m.id == row_id, m.status == DocumentStatus.PENDING, or_(m.lease_until.is_(None), m.lease_until < now))
            .values(lease_until=until, attempts=m.attempts + 1)
        )
        return result.rowcount == 1

    async def release(self, row_id: int, error: str) -> None:
        """Give the lease back after a failure; the row stays PENDING with its folio."""
        m = self.model
        await self.session.execute(
            update(m).where(m.id == row_id, m.status == DocumentStatus.PENDING)
            .values(lease_until=None, last_error=error[:500], updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )

    async def forget_sealed(self, row_id: int) -> None:
        """Drop the signed XML of a PENDING row, once the PAC confirmed it never stamped
        it (services/invoicing/issuing.py): the next seal makes new bytes."""
        m = self.model
        await self.session.execute(
            update(m).where(m.id == row_id, m.status == DocumentStatus.PENDING)
            .values(signed_xml=None, document_hash=None, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )

    async def pending_past_lease(self, now: datetime, max_attempts: int, limit: int) -> list[int]:
        """PENDING documents nobody holds (their lease expired): the worker finishes them."""
        m = self.model
        result = await self.session.execute(
            select(m.id).where(m.status == DocumentStatus.PENDING, or_(m.lease_until.is_(None), m.lease_until < now),
                               m.attempts < max_attempts)
            .order_by(m.id).limit(limit)
        )
        return list(result.scalars())

    async def try_lease_status(self, row_id: int, status: str, now: datetime, until: datetime) -> bool:
        """Take a document in `status` for a while (the worker's claim): a conditional
        UPDATE on the lease column, so two workers never take the same row."""
        m = self.model
        result = await self.session.execute(
            update(m)
            .where(m.id == row_id, m.status == status, or_(m.lease_until.is_(None), m.lease_until < now))
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def keep_sealed(self, row_id: int, signed_xml: bytes, document_hash: str) -> bytes:
        """Keep the signed XML on the PENDING row: a retry re-sends exactly these bytes.
        Compare-and-set on an empty signed_xml: if another process kept its own seal
        first (a lease that expired mid-flight), those bytes win and are returned, so
        two different documents are never sent for one folio."""
        m = self.model
        kept = (await self.session.execute(
            update(m).where(m.id == row_id, m.signed_xml.is_(None))
            .values(signed_xml=signed_xml, document_hash=document_hash, updated_at=datetime.now(UTC))
            .returning(m.signed_xml).execution_options(synchronize_session=False)
        )).scalar_one_or_none()
        if kept is not None:  # ours (UPDATE ... RETURNING: one round trip in the usual case)
            return kept
        result = await self.session.execute(select(m.signed_xml).where(m.id == row_id))
        return result.scalar_one()

    async def mark_issued(self, row_id: int, uuid: str, stamped_xml: bytes, stamped_at: datetime, sandbox: bool) -> D:
        m = self.model
        result = await self.session.execute(
            update(m).where(m.id == row_id)
            .values(status=DocumentStatus.ISSUED, uuid=uuid, stamped_xml=stamped_xml, issued_at=stamped_at,
                    sandbox=sandbox, lease_until=None, last_error=None, updated_at=datetime.now(UTC))
            .returning(m).execution_options(synchronize_session=False, populate_existing=True)
        )
        return result.scalars().one()  # the row as updated (UPDATE ... RETURNING: no second read)

    async def store_pdf(self, row_id: int, pdf: bytes) -> bytes:
        """Store a rendered PDF unless a concurrent render stored one first; the stored one."""
        m = self.model
        await self.session.execute(
            update(m).where(m.id == row_id, m.pdf.is_(None)).values(pdf=pdf).execution_options(synchronize_session=False)
        )
        result = await self.session.execute(select(m.pdf).where(m.id == row_id))
        return result.scalar_one()


def live_invoice():
    """A sale's invoice is its one row that is not CANCELLED (the partial unique index
    uq_invoice_sale_active keeps it to one); cancelled rows stay only as history."""
    return InvoiceRow.status != DocumentStatus.CANCELLED


def covers_sale(sale_id: int):
    """The invoice is this sale's own, or the combined invoice its sale.invoice_id names."""
    covering = select(SaleRow.invoice_id).where(SaleRow.id == sale_id).scalar_subquery()
    return or_(InvoiceRow.sale_id == sale_id, InvoiceRow.id == covering)


class InvoiceRepository(StampedDocumentRepository[InvoiceRow]):
    model = InvoiceRow

    async def add_numbered(self, row: InvoiceRow, counter: str) -> InvoiceRow:
        """Insert ``row`` with the next value of the gapless counter ``counter`` as its folio.

        On PostgreSQL one statement takes the folio and inserts the row (the counter's
        upsert is a CTE of the INSERT), so the counter's row, which every claim of the
        merchant's series locks until COMMIT, is held one round trip before the COMMIT
        instead of three: under load the claims queued on it, each waiting for its
        process's busy event loop to send the next statement (issue 16: 20 of 32
        connections in Lock:transactionid). SQLite takes its write lock for the whole
        transaction anyway: the counter, then the ORM insert."""
        if self.session.bind.dialect.name != "postgresql":
            row.folio = await CounterRepository(self.session).next(counter)
            return await self.add(row)
        inserted = await self._insert_numbered(_numbered_insert(claim=False), row, counter)
        assert inserted is not None, "the folio counter returned no row"
        return inserted

    async def claim_open_sale(self, row: InvoiceRow, counter: str) -> InvoiceRow | None:
        """PostgreSQL, in a unit of work with autocommit: ``row`` (the one-ticket invoice
        of ``row.sale_id``) inserted with the next folio of ``counter`` in ONE statement,
        only if the sale is OPEN, covered by no combined invoice and has no live invoice;
        None if it is not (the caller takes the transactional path, which tells why).

        The statement locks the sale row (FOR UPDATE, as the transactional claim does
        first), takes the folio and inserts the row, and commits as it ends: the counter
        row every claim of the series needs is locked for one statement, never across an
        event-loop turn (issue 16). A concurrent claim that committed while this one
        waited for the sale lock is not in this statement's snapshot: the partial unique
        index uq_invoice_sale_active refuses the second row (IntegrityError, as before),
        and the whole statement, counter included, rolls back: no folio is lost."""
        assert row.sale_id is not None
        return await self._insert_numbered(_numbered_insert(claim=True), row, counter)

    async def _insert_numbered(self, stmt, row: InvoiceRow, counter: str) -> InvoiceRow | None:
        params = {f"p_{name}": getattr(row, name) for name in _NUMBERED_COLUMNS}
        params["p_counter"] = counter
        inserted = (await self.session.execute(stmt, params)).one_or_none()
        if inserted is None:
            return None
        row.id, row.folio = inserted
        make_transient_to_detached(row)  # persistent in the database: a later add() updates it
        return row

    async def by_sale(self, sale_id: int) -> InvoiceRow | None:
        """The sale's live invoice (PENDING, ISSUED or CANCELLATION_PENDING), if any: its
        own, or the combined invoice that covers it (sale.invoice_id). While a customer's
        correction is being issued the sale has two live rows: the newest one counts."""
        result = await self.session.execute(
            select(InvoiceRow).where(covers_sale(sale_id), live_invoice())
            .order_by(InvoiceRow.correction.desc()).limit(1)
            .execution_options(populate_existing=True)
        )
        return result.scalars().first()

    async def corrections_of(self, sale_id: int) -> int:
        """How many customer corrections this sale's invoices went through (issue 15)."""
        result = await self.session.execute(
            select(InvoiceRow.correction).where(InvoiceRow.sale_id == sale_id).order_by(InvoiceRow.correction.desc()).limit(1)
        )
        return int(result.scalars().first() or 0)

    async def correction_of(self, sale_id: int, correction: int, related_uuid: str) -> InvoiceRow | None:
        """The correction `correction` of a sale that substitutes the CFDI `related_uuid`
        (issue 15), if it exists and was not set aside; the newest when several were."""
        result = await self.session.execute(
            select(InvoiceRow).where(InvoiceRow.sale_id == sale_id, InvoiceRow.correction == correction,
                                     InvoiceRow.related_uuid == related_uuid)
            .order_by(InvoiceRow.id.desc()).limit(1).execution_options(populate_existing=True)
        )
        return result.scalars().first()

    async def substitute_of(self, row: InvoiceRow, max_steps: int) -> InvoiceRow:
        """What an invoice token reads (issue 15): its invoice, or the stamped correction
        that substituted it, following the chain of related UUIDs."""
        for _ in range(max_steps):
            if row.uuid is None:
                return row
            nxt = await self.correction_of(row.sale_id, row.correction + 1, row.uuid)
            if nxt is None or nxt.status == DocumentStatus.PENDING:
                return row
            row = nxt
        return row

    async def substituted_still_issued(self, limit: int) -> list[tuple[int, str]]:
        """(old invoice id, the correction's UUID) for customer corrections that are
        stamped while the invoice they substitute is still ISSUED (its cancellation with
        motivo 01 failed at the PAC): the worker cancels those. Not after the receiver
        rejected that cancellation (cancellation_note says so)."""
        new = aliased(InvoiceRow)
        result = await self.session.execute(
            select(InvoiceRow.id, new.uuid)
            .join(new, and_(new.sale_id == InvoiceRow.sale_id, new.correction == InvoiceRow.correction + 1,
                            new.related_uuid == InvoiceRow.uuid))
            .where(InvoiceRow.status == DocumentStatus.ISSUED, InvoiceRow.cancellation_note.is_(None),
                   new.status == DocumentStatus.ISSUED)
            .order_by(InvoiceRow.id).limit(limit)
        )
        return [(row_id, uuid) for row_id, uuid in result.all()]

    async def by_receptor(self, merchant_id: int, sale_id: int, rfc: str) -> InvoiceRow | None:
        """The sale's live ISSUED invoice when it went to this RFC (recoverInvoice)."""
        result = await self.session.execute(
            select(InvoiceRow).where(covers_sale(sale_id), InvoiceRow.merchant_id == merchant_id,
                                     InvoiceRow.status == DocumentStatus.ISSUED, InvoiceRow.customer_rfc == rfc)
            .order_by(InvoiceRow.correction.desc()).limit(1)
        )
        return result.scalars().first()

    async def by_sales(self, merchant_id: int, sale_ids: list[int]) -> dict[int, InvoiceRow]:
        if not sale_ids:
            return {}
        result = await self.session.execute(
            select(InvoiceRow)
            .where(InvoiceRow.merchant_id == merchant_id, InvoiceRow.sale_id.in_(sale_ids), live_invoice())
            .options(*self._without_files()).order_by(InvoiceRow.correction)
        )
        found = {row.sale_id: row for row in result.scalars()}
        # Tickets covered by a combined invoice (issue 15) show that invoice.
        covered = await self.session.execute(
            select(SaleRow.id, InvoiceRow)
            .join(InvoiceRow, InvoiceRow.id == SaleRow.invoice_id)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.id.in_(sale_ids), live_invoice())
            .options(*self._without_files())
        )
        for sale_id, row in covered.all():
            found.setdefault(sale_id, row)
        return found

    async def owned_by_uuid(self, merchant_id: int, uuid: str) -> InvoiceRow | None:
        result = await self.session.execute(
            select(InvoiceRow).where(InvoiceRow.merchant_id == merchant_id, InvoiceRow.uuid == uuid)
            .options(*self._without_files())
        )
        return result.scalar_one_or_none()

    async def cancellation_pending_due(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(InvoiceRow.id).where(
                InvoiceRow.status == DocumentStatus.CANCELLATION_PENDING,
                or_(InvoiceRow.lease_until.is_(None), InvoiceRow.lease_until < now),
            ).order_by(InvoiceRow.id).limit(limit)
        )
        return list(result.scalars())

    async def cancellation_outcome(
        self, invoice_id: int, status: DocumentStatus, *, cancelled_at: datetime | None, note: str | None,
        acuse: bytes | None, now: datetime,
    ) -> bool:
        """Move a CANCELLATION_PENDING invoice to CANCELLED or back to ISSUED (the
        receiver rejected); compare-and-set so the sale changes once."""
        values = dict(status=status, cancelled_at=cancelled_at, cancellation_note=note, lease_until=None,
                      updated_at=now)
        if acuse is not None:
            values["cancellation_acuse"] = acuse
        if status == DocumentStatus.ISSUED:
            values.update(cancellation_reason=None, replacement_uuid=None)
        result = await self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice_id, InvoiceRow.status == DocumentStatus.CANCELLATION_PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def keep_acuse(self, invoice_id: int, acuse: bytes) -> None:
        await self.session.execute(
            update(InvoiceRow).where(InvoiceRow.id == invoice_id).values(cancellation_acuse=acuse)
            .execution_options(synchronize_session=False)
        )

    async def replace_pdf(self, row_id: int, pdf: bytes) -> None:
        """Store a re-rendered PDF (a cancelled invoice's, with the CANCELADO mark)."""
        await self.session.execute(
            update(InvoiceRow).where(InvoiceRow.id == row_id).values(pdf=pdf)
            .execution_options(synchronize_session=False)
        )

    async def record_cancellation(
        self, invoice_id: int, status: DocumentStatus, reason: str, replacement_uuid: str | None,
        cancelled_at: datetime | None, now: datetime,
    ) -> bool:
        """Move an ISSUED (or CANCELLATION_PENDING) invoice to `status`; False when a
        concurrent request moved it first (compare-and-set, so its sale changes once)."""
        result = await self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice_id, InvoiceRow.status.in_(LIVE_STATUSES))
            .values(status=status, cancellation_reason=reason, replacement_uuid=replacement_uuid,
                    cancelled_at=cancelled_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class GlobalInvoiceRepository(StampedDocumentRepository[GlobalInvoiceRow]):
    model = GlobalInvoiceRow

    async def original(self, merchant_id: int, periodicity: str, period_start: datetime, part: int) -> GlobalInvoiceRow | None:
        """A period's original global (not a replacement) of this part."""
        m = GlobalInvoiceRow
        result = await self.session.execute(
            select(m).where(m.merchant_id == merchant_id, m.periodicity == periodicity, m.period_start == period_start,
                            m.part == part, m.replaces_id.is_(None))
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def next_part(self, merchant_id: int, periodicity: str, period_start: datetime) -> int:
        m = GlobalInvoiceRow
        result = await self.session.execute(
            select(func.max(m.part)).where(m.merchant_id == merchant_id, m.periodicity == periodicity,
                                           m.period_start == period_start, m.replaces_id.is_(None))
        )
        return int(result.scalar_one() or 0) + 1

    async def of_period(self, merchant_id: int, periodicity: str, period_start: datetime) -> list[GlobalInvoiceRow]:
        """Every global of a period (parts, cancelled ones and their replacements), oldest first."""
        m = GlobalInvoiceRow
        result = await self.session.execute(
            select(m).where(m.merchant_id == merchant_id, m.periodicity == periodicity, m.period_start == period_start)
            .options(*self._without_files()).order_by(m.id)
        )
        return list(result.scalars())

    async def replacement_of(self, row_id: int) -> GlobalInvoiceRow | None:
        result = await self.session.execute(
            select(GlobalInvoiceRow).where(GlobalInvoiceRow.replaces_id == row_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def public_ids(self, merchant_id: int, row_ids: list[int]) -> dict[int, str]:
        if not row_ids:
            return {}
        result = await self.session.execute(
            select(GlobalInvoiceRow.id, GlobalInvoiceRow.public_id)
            .where(GlobalInvoiceRow.merchant_id == merchant_id, GlobalInvoiceRow.id.in_(row_ids))
        )
        return {row_id: public_id for row_id, public_id in result.all()}

    async def replacements_of(self, merchant_id: int, row_ids: list[int]) -> dict[int, str]:
        """{replaced global's id: its replacement's public id}."""
        if not row_ids:
            return {}
        result = await self.session.execute(
            select(GlobalInvoiceRow.replaces_id, GlobalInvoiceRow.public_id)
            .where(GlobalInvoiceRow.merchant_id == merchant_id, GlobalInvoiceRow.replaces_id.in_(row_ids))
        )
        return {row_id: public_id for row_id, public_id in result.all()}

    async def set_totals(self, row_id: int, total_cents: int, sale_count: int) -> None:
        await self.session.execute(
            update(GlobalInvoiceRow).where(GlobalInvoiceRow.id == row_id)
            .values(total_cents=total_cents, sale_count=sale_count)
            .execution_options(synchronize_session=False)
        )

    async def clear_lease(self, row_id: int) -> None:
        """Give back an ISSUED global's lease (a motivo 04 route that failed midway)."""
        await self.session.execute(
            update(GlobalInvoiceRow).where(GlobalInvoiceRow.id == row_id, GlobalInvoiceRow.status == DocumentStatus.ISSUED)
            .values(lease_until=None).execution_options(synchronize_session=False)
        )

    async def record_cancelled(self, row_id: int, reason: str, cancelled_at: datetime, acuse: bytes | None,
                               now: datetime) -> bool:
        """ISSUED -> CANCELLED once (compare-and-set); the stored PDF is dropped."""
        m = GlobalInvoiceRow
        result = await self.session.execute(
            update(m).where(m.id == row_id, m.status == DocumentStatus.ISSUED)
            .values(status=DocumentStatus.CANCELLED, cancellation_reason=reason, cancelled_at=cancelled_at,
                    cancellation_acuse=acuse, lease_until=None, updated_at=now,
                    pdf=None)  # printed again on the next download, with the CANCELADO mark
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


__all__ = ["GlobalInvoiceRepository", "InvoiceRepository", "StampedDocument", "StampedDocumentRepository", "live_invoice"]


# The invoice's columns but its id (the sequence's) and folio (the counter's).
_NUMBERED_COLUMNS = tuple(c.name for c in InvoiceRow.__table__.c if c.name not in ("id", "folio"))  # type: ignore[attr-defined]


@lru_cache(maxsize=2)
def _numbered_insert(*, claim: bool):
    """INSERT INTO invoice ... SELECT <params>, folio FROM (the counter's upsert) RETURNING
    id, folio; with ``claim``, the upsert happens only while the sale (locked) is OPEN and
    has no live invoice. Built once with bind parameters (p_<column>, p_counter): building
    and hashing this statement per claim cost more than running it (issue 16's profile)."""
    table = InvoiceRow.__table__  # type: ignore[attr-defined]
    counters = Counter.__table__  # type: ignore[attr-defined]
    take = select(bindparam("p_counter", type_=counters.c.name.type), literal(1))
    if claim:
        sale_id, merchant_id = bindparam("p_sale_id", type_=table.c.sale_id.type), bindparam("p_merchant_id")
        claimable = (
            select(SaleRow.id)
            .where(SaleRow.merchant_id == merchant_id, SaleRow.id == sale_id,
                   SaleRow.status == "OPEN", SaleRow.invoice_id.is_(None))
            .with_for_update().cte("claimable")
        )
        live = select(InvoiceRow.id).where(covers_sale(sale_id), live_invoice())
        take = take.where(exists(select(claimable.c.id)), ~exists(live))
    bump = taking_next(postgresql.insert(counters).from_select(["name", "value"], take)).cte("next_folio")
    source = select(*[bindparam(f"p_{n}", type_=table.c[n].type) for n in _NUMBERED_COLUMNS], bump.c.value)
    return insert(table).from_select([*_NUMBERED_COLUMNS, "folio"], source).returning(table.c.id, table.c.folio)
