"""The seal-and-stamp step shared by self-invoices (services/portal.py) and facturas
globales (services/global_invoice.py).

It runs after a request holds the lease on a PENDING row, in short transactions around
the PAC call: seal (in a thread) and keep the signed XML on the row; stamp; then mark the
row ISSUED together with whatever the caller must change in the same transaction. A
failure releases the lease and keeps folio and signed XML, so a retry re-sends the same
bytes, which the PAC answers idempotently by their hash: never a second folio nor stamp.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from persistence.tables import MerchantRow
from services import catalogs
from services.cfdi.csd import CsdError
from services.cfdi.engine import CfdiBuildError
from services.container import Services
from services.merchants import csd_material
from services.stamping import StampingError
from services.types import FieldProblem

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # longer than a PAC timeout: a stuck request's claim expires
WAIT_FOR_OTHER = 30.0  # seconds a concurrent request waits for the winner's result
RESIGN_AFTER = timedelta(hours=24)  # PACs refuse a Fecha older than 72 h: re-seal well before

CSD_PROBLEM = "El comercio no puede sellar facturas con su certificado (CSD) en este momento; avísale al comercio"

INVOICE = "invoices"  # UnitOfWork repository names
GLOBAL_INVOICE = "global_invoices"


@dataclass(frozen=True)
class StampFailed:
    message: str
    retryable: bool


@dataclass(frozen=True)
class BuildRefused:
    problems: list[FieldProblem]


@dataclass(frozen=True)
class Stamped:
    row: Any  # the ISSUED InvoiceRow or GlobalInvoiceRow


@dataclass(frozen=True)
class FailureTexts:
    """What the person is told when the PAC fails: {code} is the PAC's error code."""

    retryable: str
    rejected: str


def sealed_at(signed_xml: bytes, merchant: MerchantRow) -> datetime:
    """Comprobante@Fecha of a sealed CFDI, local time of LugarExpedicion, as aware UTC."""
    match = re.search(rb'\sFecha="([0-9T:-]{19})"', signed_xml)
    if match is None:
        return datetime.min.replace(tzinfo=UTC)
    local = datetime.fromisoformat(match.group(1).decode()).replace(tzinfo=catalogs.time_zone_for(merchant.zip_code))
    return local.astimezone(UTC)


async def release(services: Services, repository: str, row_id: int, error: str) -> None:
    """Give the lease back after a failure; the row stays PENDING with its folio."""
    async with services.uow_factory(write=True) as uow:
        row = await getattr(uow, repository).by_id(row_id)
        if row is not None and row.status == "PENDING":
            row.lease_until, row.last_error, row.updated_at = None, error[:500], datetime.now(UTC)
            uow.session.add(row)


async def seal_and_stamp(
    services: Services,
    repository: str,
    row: Any,
    merchant: MerchantRow,
    *,
    build_request: Callable[[], Awaitable[Any]],
    build: Callable[[Any, Any], Any],
    texts: FailureTexts,
    on_issued: Callable[[Any, Any], Awaitable[None]] | None = None,
) -> Stamped | BuildRefused | StampFailed:
    """Seal (unless a fresh signed XML is kept), stamp, mark ISSUED. `build(request, csd)`
    is the engine's sync builder, run in a thread; `on_issued(uow, row)` joins the
    transaction that marks the row ISSUED."""
    try:
        signed = row.signed_xml
        if signed is None or sealed_at(signed, merchant) < datetime.now(UTC) - RESIGN_AFTER:
            request = await build_request()
            csd = csd_material(services.box, merchant)  # decrypted in memory for this seal only
            try:
                result = await asyncio.to_thread(build, request, csd)
            except CfdiBuildError as exc:
                await release(services, repository, row.id, "; ".join(p.code for p in exc.problems))
                return BuildRefused(exc.problems)
            except CsdError as exc:
                # The merchant's CSD (expired, revoked...): nothing the customer can fix.
                await release(services, repository, row.id, f"{exc.code}: {exc.message}")
                return StampFailed(f"{CSD_PROBLEM} ({exc.code}).", False)
            signed = result.xml
            async with services.uow_factory(write=True) as uow:
                fresh = await getattr(uow, repository).by_id(row.id)
                fresh.signed_xml, fresh.document_hash = signed, hashlib.sha256(signed).hexdigest()
                fresh.updated_at = datetime.now(UTC)
                uow.session.add(fresh)
        try:
            stamp = await services.pac.stamp(signed)
        except StampingError as exc:
            log.warning("stamping failed for %s %s: %s", repository, row.public_id, exc)
            await release(services, repository, row.id, f"{exc.code}: {exc}"[:500])
            if exc.retryable:
                return StampFailed(texts.retryable, True)
            return StampFailed(texts.rejected.format(code=exc.code), False)
        async with services.uow_factory(write=True) as uow:
            fresh = await getattr(uow, repository).by_id(row.id)
            fresh.status, fresh.uuid, fresh.stamped_xml = "ISSUED", stamp.uuid, stamp.xml
            fresh.issued_at, fresh.sandbox, fresh.lease_until = stamp.stamped_at, stamp.is_sandbox, None
            fresh.last_error, fresh.updated_at = None, datetime.now(UTC)
            uow.session.add(fresh)
            if on_issued is not None:
                await on_issued(uow, fresh)
        return Stamped(fresh)
    except BaseException:
        await asyncio.shield(release(services, repository, row.id, "interrupted"))
        raise
