"""Cancelling a self-invoice (CFDI de ingreso to a customer) with SAT, through the PAC.

SAT's rules (CFF art. 29-A; RMF regla 2.7.1.34, cancelación de CFDI; the motive from the
CFDI catalogue c_MotivoCancelacion published with Anexo 20):
- 01 comprobante emitido con errores con relación: the cancellation names the CFDI that
  replaces it (FolioSustitucion), which must already be stamped. Here: another ISSUED
  invoice of the same merchant.
- 02 comprobante emitido con errores sin relación; 03 no se llevó a cabo la operación;
  04 operación nominativa relacionada en una factura global: no FolioSustitucion (the
  PAC refuses one).

With a real PAC (issue 11) the request is signed with the merchant's CSD (SAT's
Cancelacion, built by satcfdi in services/cfdi/satcfdi_adapter.py) and the PAC answers
SAT's per-UUID code: 201 requested, 202 requested before (both: SAT has it). Whether SAT
then waits for the receiver follows services/cancellation/rules.py (over $1,000, not
PUBLICO EN GENERAL, not cancelled by the next business day ...): if so the invoice is
CANCELLATION_PENDING and the worker (services/worker) asks SAT's status until Cancelado
or "Solicitud rechazada" (back to ISSUED, with the reason kept in cancellation_note).
A cancelled invoice's PDF is re-printed with a CANCELADO mark and the customer is told
by e-mail (outbox). Every PAC call is kept in pac_call.

What it changes, only once the PAC answers:
- "Cancelado": the invoice becomes CANCELLED. Its sale, with motive 03 (the sale did not
  happen), becomes CANCELLED: the ticket then answers CANCELLED. With 01, 02 or 04 the
  sale becomes OPEN again so the customer can self-invoice it with corrected data (or it
  can go into a factura global): a new invoice row with a NEW folio; folios are never
  reused. The partial unique index uq_invoice_sale_active admits it.
- any other answer (SAT's "En proceso": the receptor must accept): CANCELLATION_PENDING.
  The sale keeps its invoice until a later cancelInvoice finds it cancelled.
- a PAC failure changes nothing: the invoice stays ISSUED and the request may be retried.

The PAC call runs outside any transaction (as in issuing); the update after it is a
compare-and-set on the invoice's status, so two concurrent cancellations move the sale once.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from persistence.tables import DocumentStatus, InvoiceRow, MerchantRow, OutboxKind, SaleStatus
from persistence.uow import UnitOfWork
from services import catalogs
from services.cancellation.rules import needs_acceptance
from services.cancellation.signing import signed_request
from services.invoicing import documents, issuing
from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.money import from_cents
from services.outbox import service as outbox
from services.stamping import audit
from services.kernel.codes import CancellationErrorCode as Code
from services.kernel.codes import PacErrorCode
from services.kernel.container import Services
from services.kernel.results import Invalid
from services.kernel.types import FieldProblem
from services.stamping import CANCELLATION_REASONS, StampingError
from services.stamping.base import CANCELLATION_REJECTED, STATUS_CANCELLED, STATUS_REQUESTED
from services.webhooks import service as webhooks
from services.webhooks.models import WebhookEvent
from services.webhooks.payloads import invoice_data

log = logging.getLogger(__name__)

WITH_REPLACEMENT = "01"  # the only motive that carries FolioSustitucion
OPERATION_NOT_DONE = "03"  # the sale did not happen: it is cancelled, not reopened
_UUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")

RETRYABLE_TEXT = (
    "El servicio de timbrado no respondió a tiempo; la factura sigue vigente. "
    "Intenta cancelarla de nuevo en unos minutos."
)
REJECTED_TEXT = "El servicio de timbrado rechazó la cancelación ({code}); la factura sigue vigente. {detail}"
CSD_CANNOT_SIGN = (
    "No se pudo firmar la solicitud de cancelación con el certificado (CSD) del comercio; revisa que el CSD "
    "registrado esté vigente. La factura sigue vigente."
)
RECEIVER_REJECTED = "El receptor rechazó la cancelación ante el SAT; la factura sigue vigente."
#: how long the worker waits between two questions to SAT about one cancellation
POLL_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Cancelled:
    invoice: InvoiceView  # status CANCELLED or CANCELLATION_PENDING


@dataclass(frozen=True)
class CancellationFailed:
    message: str
    retryable: bool
    code: str | None = None  # services.kernel.codes.PacErrorCode when the PAC failed
    pac_code: str | None = None  # SAT's / the PAC's own code (205, 708, 798 ...)


def _input_problems(reason: str, replacement_uuid: str | None) -> list[FieldProblem]:
    problems = []
    if reason not in CANCELLATION_REASONS:
        problems.append(FieldProblem(
            "reason", Code.REASON_INVALID,
            "El motivo de cancelación debe ser 01, 02, 03 o 04 (catálogo c_MotivoCancelacion del SAT).",
        ))
    elif reason == WITH_REPLACEMENT and not replacement_uuid:
        problems.append(FieldProblem(
            "replacementUuid", Code.REPLACEMENT_REQUIRED,
            "Con el motivo 01 indica el UUID (folio fiscal) de la factura que sustituye a la cancelada; "
            "emítela primero.",
        ))
    elif reason != WITH_REPLACEMENT and replacement_uuid:
        problems.append(FieldProblem(
            "replacementUuid", Code.REPLACEMENT_NOT_ALLOWED,
            "El UUID de sustitución sólo se indica con el motivo 01; quítalo o usa el motivo 01.",
        ))
    if replacement_uuid and not _UUID_RE.match(replacement_uuid) and not problems:
        problems.append(FieldProblem(
            "replacementUuid", Code.REPLACEMENT_INVALID,
            "El UUID de sustitución no tiene el formato de un folio fiscal "
            "(8-4-4-4-12 caracteres hexadecimales, por ejemplo 79A1A377-190F-4B9B-9476-FB9C1AB98DED).",
        ))
    return problems


async def cancel_invoice(
    services: Services, merchant_id: int, public_id: str, reason: str, replacement_uuid: str | None,
    *, now: datetime | None = None,
) -> Cancelled | Invalid | CancellationFailed:
    reason = (reason or "").strip()
    replacement_uuid = (replacement_uuid or "").strip().upper() or None
    problems = _input_problems(reason, replacement_uuid)

    async with services.uow_factory() as uow:
        # Filtered by the merchant: another merchant's invoice does not exist for this one.
        invoice = await uow.invoices.owned_by_public_id(merchant_id, public_id)
        merchant = await uow.merchants.by_id(merchant_id)
        replacement = (
            await uow.invoices.owned_by_uuid(merchant_id, replacement_uuid)
            if replacement_uuid and not problems else None
        )
    if invoice is None or merchant is None:
        problems.insert(0, FieldProblem("id", Code.NOT_FOUND, "No existe esa factura."))
    if problems:
        return Invalid(tuple(problems))
    if invoice.status == DocumentStatus.CANCELLED:
        return Cancelled(invoice_view(services, invoice))  # idempotent: already done
    if invoice.status == DocumentStatus.PENDING or invoice.uuid is None:
        return Invalid((FieldProblem(
            "id", Code.INVOICE_NOT_CANCELLABLE,
            "La factura aún no está timbrada; no hay nada que cancelar ante el SAT. Intenta de nuevo en un minuto.",
        ),))
    if reason == WITH_REPLACEMENT:
        if replacement is None:
            return Invalid((FieldProblem(
                "replacementUuid", Code.REPLACEMENT_NOT_FOUND,
                "No encontramos una factura de este comercio con ese UUID; emite primero la factura que "
                "sustituye a la cancelada y usa su folio fiscal.",
            ),))
        if replacement.id == invoice.id:
            return Invalid((FieldProblem(
                "replacementUuid", Code.REPLACEMENT_IS_SAME_INVOICE,
                "Una factura no puede sustituirse a sí misma; indica el UUID de la factura nueva.",
            ),))
        if replacement.status != DocumentStatus.ISSUED:
            return Invalid((FieldProblem(
                "replacementUuid", Code.REPLACEMENT_NOT_ISSUED,
                "La factura sustituta debe estar timbrada y vigente (no pendiente ni cancelada).",
            ),))

    now = datetime.now(UTC) if now is None else now
    try:
        signed = await signed_request(services, merchant, invoice.uuid, reason, replacement_uuid, now)
    except Exception as exc:  # the CSD cannot sign (satcfdi/cryptography errors): nothing was sent
        log.warning("cannot sign the cancellation of %s: %r", invoice.public_id, exc)
        return CancellationFailed(CSD_CANNOT_SIGN, False, PacErrorCode.CSD_CANNOT_SIGN)
    with audit.collect() as calls:
        try:
            # The sandbox needs no signed request (and keeps its older call shape).
            extra = {"signed_request": signed} if signed is not None else {}
            result = await services.pac.cancel(invoice.uuid, merchant.rfc, reason, replacement_uuid, **extra)
        except StampingError as exc:
            log.warning("cancellation failed for invoice %s: %r", invoice.public_id, exc)
            await issuing.save_calls(services, merchant_id, "invoice", invoice.id, list(calls))
            if exc.retryable:
                return CancellationFailed(RETRYABLE_TEXT, True, str(exc.code), exc.pac_code)
            detail = f"{exc.message} {exc.pac_message or ''}".strip()
            return CancellationFailed(REJECTED_TEXT.format(code=exc.pac_code or exc.code, detail=detail).strip(), False,
                                      str(exc.code), exc.pac_code)
    await issuing.save_calls(services, merchant_id, "invoice", invoice.id, list(calls))

    if result.status == STATUS_REQUESTED:  # SAT has the request: does it wait for the receiver?
        zone = catalogs.time_zone_for(merchant.zip_code)
        waits = needs_acceptance(
            total=from_cents(invoice.total_cents), rfc_receptor=invoice.customer_rfc, tipo="I",
            issued_at=invoice.issued_at or now, now=now, zone=zone)
        done = not waits
    else:
        done = result.status == STATUS_CANCELLED
    reason = result.reason or reason  # "previamente cancelado": the PAC keeps the first motive
    async with services.uow_factory(write=True) as uow:
        moved = await uow.invoices.record_cancellation(
            invoice.id, DocumentStatus.CANCELLED if done else DocumentStatus.CANCELLATION_PENDING, reason,
            result.replacement_uuid if result.replacement_uuid is not None else replacement_uuid,
            (result.cancelled_at or now) if done else None, now,
        )
        if result.acuse:
            await uow.invoices.keep_acuse(invoice.id, result.acuse)
        if moved and done:
            await _cancelled(uow, merchant_id, invoice, reason)
        elif moved:
            pending = await uow.invoices.by_id(invoice.id)
            assert pending is not None
            await webhooks.enqueue(uow, merchant_id, WebhookEvent.INVOICE_CANCELLATION_PENDING, invoice_data(pending), now=now)
        await uow.commit()
        fresh = await uow.invoices.by_id(invoice.id)
    assert fresh is not None
    if moved and done:
        await _after_cancelled(services, fresh)
    elif moved:
        webhooks.kick(services)
    return Cancelled(invoice_view(services, fresh))


async def _cancelled(uow: UnitOfWork, merchant_id: int, invoice: InvoiceRow, reason: str | None) -> None:
    """In the transaction that makes the invoice CANCELLED: its sale moves (only a sale
    this invoice still holds, INVOICED) and the customer's e-mail is queued."""
    target = SaleStatus.CANCELLED if reason == OPERATION_NOT_DONE else SaleStatus.OPEN
    assert invoice.id is not None
    # Issue 15: a customer's correction (services/portal/correct.py) still covers the
    # sale, so the sale stays INVOICED; a combined invoice frees every ticket it covered.
    if await uow.invoices.by_sale(invoice.sale_id) is None:
        await uow.sales.move_status(merchant_id, invoice.sale_id, SaleStatus.INVOICED, target)
    await uow.sales.release_covered(merchant_id, invoice.id, target)
    if invoice.customer_email:
        await outbox.enqueue(uow, OutboxKind.CANCELLATION, invoice.customer_email, invoice.id)
    cancelled = await uow.invoices.by_id(invoice.id)  # as this transaction left it: CANCELLED
    assert cancelled is not None
    await webhooks.enqueue(uow, merchant_id, WebhookEvent.INVOICE_CANCELLED, invoice_data(cancelled))


async def _after_cancelled(services: Services, invoice: InvoiceRow) -> None:
    """The stored PDF is re-printed with the CANCELADO mark; then the e-mail goes out."""
    try:
        if invoice.stamped_xml is not None:
            await documents.rerender_cancelled(services, invoice)
    except Exception:  # the cancellation stands; the PDF is re-printed on the next read
        log.exception("could not re-render the cancelled invoice %s", invoice.public_id)
    if invoice.customer_email:
        outbox.kick(services)
    webhooks.kick(services)


async def follow_pending(services: Services, invoice_id: int, *, now: datetime | None = None) -> str | None:
    """The worker's duty for a CANCELLATION_PENDING invoice: ask SAT (through the PAC)
    and move it to CANCELLED (Estado Cancelado: accepted, or 3 business days of silence)
    or back to ISSUED (EstatusCancelacion "Solicitud rechazada"); otherwise ask again
    after POLL_EVERY. Claimed with the lease column, so two workers never ask twice.
    Returns the new status, "waiting", or None when another worker holds it."""
    now = datetime.now(UTC) if now is None else now
    async with services.uow_factory(write=True) as uow:
        if not await uow.invoices.try_lease_status(invoice_id, DocumentStatus.CANCELLATION_PENDING, now,
                                                   now + POLL_EVERY):
            return None
        await uow.commit()
    async with services.uow_factory() as uow:
        invoice = await uow.invoices.by_id(invoice_id)
        merchant: MerchantRow | None = await uow.merchants.by_id(invoice.merchant_id) if invoice else None
    assert invoice is not None and merchant is not None and invoice.uuid is not None
    with audit.collect() as calls:
        try:
            status = await services.pac.status(
                invoice.uuid, merchant.rfc, rfc_receptor=invoice.customer_rfc,
                total=str(from_cents(invoice.total_cents)))
        except StampingError as exc:
            log.warning("SAT status of %s failed: %r", invoice.uuid, exc)
            status = None
    await issuing.save_calls(services, merchant.id or 0, "invoice", invoice_id, list(calls))
    if status is None:
        return "waiting"
    if status.status == STATUS_CANCELLED:
        async with services.uow_factory(write=True) as uow:
            moved = await uow.invoices.cancellation_outcome(
                invoice_id, DocumentStatus.CANCELLED, cancelled_at=status.cancelled_at or now, note=None, acuse=None,
                now=now)
            if moved:
                await _cancelled(uow, invoice.merchant_id, invoice, invoice.cancellation_reason)
            await uow.commit()
            fresh = await uow.invoices.by_id(invoice_id)
        if moved and fresh is not None:
            await _after_cancelled(services, fresh)
        return DocumentStatus.CANCELLED
    if status.cancellation_status == CANCELLATION_REJECTED:
        async with services.uow_factory(write=True) as uow:
            await uow.invoices.cancellation_outcome(
                invoice_id, DocumentStatus.ISSUED, cancelled_at=None, note=RECEIVER_REJECTED, acuse=None, now=now)
            await uow.commit()
        return DocumentStatus.ISSUED
    return "waiting"
