"""The seal-and-stamp step shared by self-invoices (services/portal/issue.py) and facturas
globales (services/global_invoice/service.py), and the claim-and-wait loop of both.

It runs after a request holds the lease on a PENDING row, in short transactions around
the PAC call: seal (in a thread) and keep the signed XML on the row; stamp; then mark the
row ISSUED together with whatever the caller must change in the same transaction. A
failure releases the lease and keeps folio and signed XML, so a retry re-sends the same
bytes, which the PAC answers idempotently by their hash: never a second folio nor stamp.

Exactly-once with a real PAC (issue 11). Once signed bytes exist they may have been
stamped (a timeout, a lost answer, a crash after sending), so:
- a retry sends the same bytes again; the PAC answers 307 "timbre previo" and the client
  returns the earlier stamp (Finkok `stamped`, SW's 307 answer or `customid` = the
  document's public id, which every stamp call passes);
- the bytes are dropped for a new seal (a new Fecha after RESIGN_AFTER, because PACs
  refuse a Fecha older than 72 h: RMF 2.7.1.x / PAC code 401; or the customer corrected
  the data) only after `pac.stamped()` answers that the PAC never stamped them; if it
  holds a stamp, that stamp is the document;
- every PAC call is kept in pac_call (operation, document hash, outcome, duration).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar, assert_never

from persistence.repositories import StampedDocumentRepository
from persistence.tables import DocumentStatus, GlobalInvoiceRow, InvoiceRow, MerchantRow, PacCallRow
from persistence.uow import UnitOfWork
from services import catalogs
from services.cfdi.csd import CsdError
from services.cfdi.engine import CfdiBuildError
from services.kernel import metrics
from services.kernel.container import Services
from services.kernel.results import Invalid
from services.kernel.types import CsdMaterial
from services.merchants.service import csd_material
from services.stamping import StampingError, StampResult, audit

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # at least; see lease_for

WAIT_FOR_OTHER = 30.0  # seconds a concurrent request waits for the winner's result
RESIGN_AFTER = timedelta(hours=24)  # PACs refuse a Fecha older than 72 h: re-seal well before

CSD_PROBLEM = "El comercio no puede sellar facturas con su certificado (CSD) en este momento; avísale al comercio"

D = TypeVar("D", InvoiceRow, GlobalInvoiceRow)
R = TypeVar("R")

# Which repository of a unit of work holds the document being stamped (uow.invoices or
# uow.global_invoices): passed as a function, never as a name.
Documents = Callable[[UnitOfWork], StampedDocumentRepository[D]]


@dataclass(frozen=True)
class StampFailed:
    message: str
    retryable: bool
    code: str | None = None  # services.kernel.codes.PacErrorCode (or the sandbox's code) when the PAC failed
    pac_code: str | None = None  # what the PAC itself answered (Finkok CodigoError 300, 708 ...)


@dataclass(frozen=True)
class Stamped(Generic[D]):
    row: D  # ISSUED


@dataclass(frozen=True)
class FailureTexts:
    """What the person is told when the PAC fails: {code} is the PAC's error code."""

    retryable: str
    rejected: str


def lease_for(services: Services) -> timedelta:
    """How long a claim on a PENDING document lasts: longer than one attempt, which with a
    real PAC may make two calls (`stamped`, then `stamp`) each up to PAC_TIMEOUT_SECONDS,
    plus sealing; a stuck request's claim then expires and the worker finishes it."""
    timeout = float(getattr(services.pac, "timeout", 30.0))
    return max(LEASE, timedelta(seconds=3 * timeout + 15))


def sealed_at(signed_xml: bytes, merchant: MerchantRow) -> datetime:
    """Comprobante@Fecha of a sealed CFDI, local time of LugarExpedicion, as aware UTC."""
    match = re.search(rb'\sFecha="([0-9T:-]{19})"', signed_xml)
    if match is None:
        return datetime.min.replace(tzinfo=UTC)
    local = datetime.fromisoformat(match.group(1).decode()).replace(tzinfo=catalogs.time_zone_for(merchant.zip_code))
    return local.astimezone(UTC)


def document_kind(row: InvoiceRow | GlobalInvoiceRow) -> str:
    return "global_invoice" if isinstance(row, GlobalInvoiceRow) else "invoice"


def _pac_call_rows(merchant_id: int, kind: str, document_id: int, calls: list[audit.PacCall]) -> list[PacCallRow]:
    return [PacCallRow(
        merchant_id=merchant_id, document_kind=kind, document_id=document_id, operation=c.operation,
        document_hash=c.document_hash, uuid=c.uuid, outcome=c.outcome[:40], duration_ms=c.duration_ms, at=c.at,
    ) for c in calls]


async def save_calls(
    services: Services, merchant_id: int, kind: str, document_id: int, calls: list[audit.PacCall],
) -> None:
    """Keep the PAC calls of one document for the merchant's audit (pac_call)."""
    if not calls:
        return
    rows = _pac_call_rows(merchant_id, kind, document_id, calls)
    try:
        async with services.uow_factory(write=True) as uow:
            await uow.pac_calls.add_many(rows)
            await uow.commit()
    except Exception:  # the audit never fails an invoice
        log.exception("could not record %d PAC calls", len(rows))


async def release(services: Services, documents: Documents, row_id: int, error: str) -> None:
    """Give the lease back after a failure; the row stays PENDING with its folio."""
    async with services.uow_factory(write=True) as uow:
        await documents(uow).release(row_id, error)
        await uow.commit()


async def wait_for_lease(
    services: Services,
    documents: Documents,
    find: Callable[[UnitOfWork], Awaitable[D | None]],
    *,
    busy_text: str,
    on_leased: Callable[[UnitOfWork, D], Awaitable[None]] | None = None,
) -> D | StampFailed:
    """The document exists (a retry after a failure, or a concurrent request): its final
    row once another request finished it, or the lease on it once nobody holds one."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER
    while True:
        async with services.uow_factory(write=True) as uow:
            row = await find(uow)
            assert row is not None and row.id is not None
            if row.status != DocumentStatus.PENDING:
                return row
            now = datetime.now(UTC)
            if await documents(uow).try_lease(row.id, now, now + lease_for(services)):
                leased = await documents(uow).by_id(row.id)
                assert leased is not None
                if on_leased is not None:
                    await on_leased(uow, leased)
                await uow.commit()
                return leased
        if asyncio.get_running_loop().time() > deadline:
            return StampFailed(busy_text, True)
        await asyncio.sleep(0.1)


def _failed(texts: FailureTexts, exc: StampingError) -> StampFailed:
    if exc.retryable:
        return StampFailed(texts.retryable, True, str(exc.code), exc.pac_code)
    return StampFailed(texts.rejected.format(code=exc.pac_code or exc.code), False, str(exc.code), exc.pac_code)


async def seal_and_stamp(
    services: Services,
    documents: Documents,
    row: D,
    merchant: MerchantRow,
    *,
    build_request: Callable[[], Awaitable[R]],
    build: Callable[[R, CsdMaterial], object],
    texts: FailureTexts,
    on_issued: Callable[[UnitOfWork, D], Awaitable[None]] | None = None,
    reseal: bool = False,
    before_reseal: Callable[[UnitOfWork, D], Awaitable[None]] | None = None,
) -> Stamped[D] | Invalid | StampFailed:
    """Seal (unless a fresh signed XML is kept), stamp, mark ISSUED. `build(request, csd)`
    is the engine's sync builder, run in a thread, returning an object with `.xml`;
    `on_issued(uow, row)` joins the transaction that marks the row ISSUED.

    `reseal`: the caller wants new bytes (the customer corrected the data); like a stale
    Fecha, the kept bytes are dropped only once the PAC says it never stamped them, and
    `before_reseal(uow, row)` joins the transaction that drops them."""
    assert row.id is not None
    row_id = row.id
    with audit.collect() as calls:
        try:
            result = await _seal_and_stamp(services, documents, row, merchant, build_request=build_request,
                                           build=build, texts=texts, on_issued=on_issued, reseal=reseal,
                                           before_reseal=before_reseal)
            metrics.stamp_outcome(document_kind(row), _outcome(result))
            return result
        except BaseException:
            await asyncio.shield(release(services, documents, row_id, "interrupted"))
            raise
        finally:
            await asyncio.shield(save_calls(services, merchant.id or 0, document_kind(row), row_id, list(calls)))


def _outcome(result: Stamped | Invalid | StampFailed) -> str:
    match result:
        case Stamped():
            return "issued"
        case Invalid():
            return "invalid"
        case StampFailed(retryable=True):
            return "retryable"
        case StampFailed():
            return "rejected"
        case _:
            assert_never(result)


async def _mark_issued(services: Services, documents: Documents, row_id: int, stamp: StampResult,
                       on_issued: Callable[[UnitOfWork, D], Awaitable[None]] | None) -> Stamped[D]:
    with audit.collect() as calls:  # seal_and_stamp's list: the PAC calls so far
        async with services.uow_factory(write=True) as uow:
            issued = await documents(uow).mark_issued(row_id, stamp.uuid, stamp.xml, stamp.stamped_at,
                                                      stamp.is_sandbox)
            if on_issued is not None:
                await on_issued(uow, issued)
            # The PAC calls join this transaction (one commit fewer per invoice, issue 16);
            # seal_and_stamp then has none left to save. Our own rows: if they ever failed,
            # the invoice would stay PENDING and its retry would find the stamp (307).
            saved = list(calls)
            if saved:
                assert issued.merchant_id is not None
                await uow.pac_calls.add_many(_pac_call_rows(issued.merchant_id, document_kind(issued), row_id, saved))
            await uow.commit()
        del calls[:len(saved)]
    return Stamped(issued)


async def _seal_and_stamp(
    services: Services, documents: Documents, row: D, merchant: MerchantRow, *,
    build_request: Callable[[], Awaitable[R]], build: Callable[[R, CsdMaterial], object], texts: FailureTexts,
    on_issued: Callable[[UnitOfWork, D], Awaitable[None]] | None, reseal: bool,
    before_reseal: Callable[[UnitOfWork, D], Awaitable[None]] | None,
) -> Stamped[D] | Invalid | StampFailed:
    assert row.id is not None
    row_id = row.id
    signed = row.signed_xml
    stale = signed is not None and sealed_at(signed, merchant) < datetime.now(UTC) - RESIGN_AFTER
    if signed is not None and (stale or reseal):
        # These bytes may have been stamped: ask the PAC before sealing new ones.
        try:
            earlier = await services.pac.stamped(signed, idempotency_key=row.public_id)
        except StampingError as exc:
            log.warning("could not ask the PAC for an earlier stamp of %s %s: %r", type(row).__name__, row.public_id, exc)
            await release(services, documents, row_id, f"{exc.code}: {exc}"[:500])
            return _failed(texts, exc)
        if earlier is not None:
            return await _mark_issued(services, documents, row_id, earlier, on_issued)
        async with services.uow_factory(write=True) as uow:  # the PAC confirmed: never stamped
            await documents(uow).forget_sealed(row_id)
            if before_reseal is not None:
                await before_reseal(uow, row)
            await uow.commit()
        signed = None
    elif signed is None and reseal and before_reseal is not None:
        async with services.uow_factory(write=True) as uow:
            await before_reseal(uow, row)
            await uow.commit()
    if signed is None:
        request = await build_request()
        csd = csd_material(services.box, merchant)  # decrypted in memory for this seal only
        try:
            result = await asyncio.to_thread(build, request, csd)
        except CfdiBuildError as exc:
            await release(services, documents, row_id, "; ".join(p.code for p in exc.problems))
            return Invalid(tuple(exc.problems))  # data the engine refuses: the caller's input
        except CsdError as exc:
            # The merchant's CSD (expired, revoked...): nothing the customer can fix.
            await release(services, documents, row_id, f"{exc.code}: {exc.message}")
            return StampFailed(f"{CSD_PROBLEM} ({exc.code}).", False)
        signed = result.xml  # type: ignore[attr-defined]
        async with services.uow_factory(write=True) as uow:
            signed = await documents(uow).keep_sealed(row_id, signed, hashlib.sha256(signed).hexdigest())
            await uow.commit()
    try:
        stamp = await services.pac.stamp(signed, idempotency_key=row.public_id)
    except StampingError as exc:
        log.warning("stamping failed for %s %s: %r", type(row).__name__, row.public_id, exc)
        await release(services, documents, row_id, f"{exc.code}: {exc}"[:500])
        return _failed(texts, exc)
    return await _mark_issued(services, documents, row_id, stamp, on_issued)
