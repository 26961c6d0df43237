"""Cancelling a factura global with SAT (through the PAC) with c_MotivoCancelacion 04,
"operación nominativa relacionada en una factura global": a customer asked for the
nominative CFDI of a ticket the global holds (Guía de llenado del CFDI global; CFF 29-A;
RMF regla 2.7.1.34). No FolioSustitucion goes with motivo 04.

A global is issued to PUBLICO EN GENERAL (XAXX010101000), so SAT never waits for a
receiver's acceptance (RMF 2.7.1.35; services/cancellation/rules.py): the PAC's 201/202
("solicitud recibida") is the cancellation, and the row goes ISSUED -> CANCELLED at once.
The PAC call runs outside any transaction; the update after it is a compare-and-set, so
a second caller (another customer of the same global) changes nothing, and the PAC
answers a repeated request as "previamente cancelado" (202).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from persistence.tables import DocumentStatus, GlobalInvoiceRow, MerchantRow
from services import catalogs
from services.cancellation.rules import needs_acceptance
from services.cancellation.signing import signed_request
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed
from services.kernel.codes import PacErrorCode
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.stamping import StampingError, audit
from services.stamping.base import STATUS_CANCELLED, STATUS_REQUESTED

log = logging.getLogger(__name__)

NOMINATIVE_IN_GLOBAL = "04"  # c_MotivoCancelacion

RETRYABLE = ("El servicio de timbrado no respondió al cancelar la factura global que incluye tu ticket. "
             "Intenta de nuevo en unos minutos: tu ticket sigue disponible.")
REJECTED = ("El servicio de timbrado no aceptó cancelar la factura global que incluye este ticket ({code}); "
            "contacta al comercio.")


async def cancel_for_nominative(services: Services, merchant: MerchantRow, global_id: int,
                                *, now: datetime | None = None) -> StampFailed | None:
    """Cancel an ISSUED global with motivo 04; None once it is CANCELLED."""
    now = now or datetime.now(UTC)
    async with services.uow_factory() as uow:
        row: GlobalInvoiceRow | None = await uow.global_invoices.by_id(global_id)
    assert row is not None
    if row.status == DocumentStatus.CANCELLED:
        return None
    assert row.status == DocumentStatus.ISSUED and row.uuid is not None, row.status
    # Público en general: SAT never asks the receiver (kept as a check, not an assumption).
    waits = needs_acceptance(total=from_cents(row.total_cents), rfc_receptor="XAXX010101000", tipo="I",
                             issued_at=row.issued_at or now, now=now, zone=catalogs.time_zone_for(merchant.zip_code))
    assert not waits, "SAT waits for no acceptance of a CFDI to PUBLICO EN GENERAL"
    try:
        signed = await signed_request(services, merchant, row.uuid, NOMINATIVE_IN_GLOBAL, None, now)
    except Exception as exc:  # the CSD cannot sign: nothing was sent
        log.warning("cannot sign the cancellation of global %s: %r", row.public_id, exc)
        return StampFailed(REJECTED.format(code=PacErrorCode.CSD_CANNOT_SIGN), False,
                           str(PacErrorCode.CSD_CANNOT_SIGN))
    with audit.collect() as calls:
        try:
            extra = {"signed_request": signed} if signed is not None else {}
            result = await services.pac.cancel(row.uuid, merchant.rfc, NOMINATIVE_IN_GLOBAL, None, **extra)
        except StampingError as exc:
            log.warning("cancellation of global %s failed: %r", row.public_id, exc)
            result = None
            failure = (StampFailed(RETRYABLE, True, str(exc.code), exc.pac_code) if exc.retryable
                       else StampFailed(REJECTED.format(code=exc.pac_code or exc.code), False, str(exc.code),
                                        exc.pac_code))
    await issuing.save_calls(services, merchant.id or 0, "global_invoice", global_id, list(calls))
    if result is None:
        return failure
    if result.status not in (STATUS_CANCELLED, STATUS_REQUESTED):
        return StampFailed(REJECTED.format(code=result.status), False)
    async with services.uow_factory(write=True) as uow:
        await uow.global_invoices.record_cancelled(global_id, NOMINATIVE_IN_GLOBAL, result.cancelled_at or now,
                                                   result.acuse, now)
        await uow.commit()
    return None
