"""Cancelling a self-invoice (CFDI de ingreso to a customer) with SAT, through the PAC.

SAT's rules (CFF art. 29-A; RMF regla 2.7.1.34, cancelación de CFDI; the motive from the
CFDI catalogue c_MotivoCancelacion published with Anexo 20):
- 01 comprobante emitido con errores con relación: the cancellation names the CFDI that
  replaces it (FolioSustitucion), which must already be stamped. Here: another ISSUED
  invoice of the same merchant.
- 02 comprobante emitido con errores sin relación; 03 no se llevó a cabo la operación;
  04 operación nominativa relacionada en una factura global: no FolioSustitucion (the
  PAC refuses one).

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
from datetime import UTC, datetime

from persistence.tables import DocumentStatus, SaleStatus
from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.codes import CancellationErrorCode as Code
from services.kernel.container import Services
from services.kernel.results import Invalid
from services.kernel.types import FieldProblem
from services.stamping import CANCELLATION_REASONS, StampingError
from services.stamping.base import STATUS_CANCELLED
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


@dataclass(frozen=True)
class Cancelled:
    invoice: InvoiceView  # status CANCELLED or CANCELLATION_PENDING


@dataclass(frozen=True)
class CancellationFailed:
    message: str
    retryable: bool


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
    services: Services, merchant_id: int, public_id: str, reason: str, replacement_uuid: str | None
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

    try:
        result = await services.pac.cancel(invoice.uuid, merchant.rfc, reason, replacement_uuid)
    except StampingError as exc:
        log.warning("cancellation failed for invoice %s: %r", invoice.public_id, exc)
        if exc.retryable:
            return CancellationFailed(RETRYABLE_TEXT, True)
        return CancellationFailed(REJECTED_TEXT.format(code=exc.code, detail=exc.message).strip(), False)

    now = datetime.now(UTC)
    done = result.status == STATUS_CANCELLED
    reason = result.reason or reason  # "previamente cancelado": the PAC keeps the first motive
    async with services.uow_factory(write=True) as uow:
        moved = await uow.invoices.record_cancellation(
            invoice.id, DocumentStatus.CANCELLED if done else DocumentStatus.CANCELLATION_PENDING, reason,
            result.replacement_uuid if result.replacement_uuid is not None else replacement_uuid,
            result.cancelled_at if done else None, now,
        )
        if moved and done:
            # Only a sale this invoice still holds (INVOICED) changes.
            target = SaleStatus.CANCELLED if reason == OPERATION_NOT_DONE else SaleStatus.OPEN
            await uow.sales.move_status(merchant_id, invoice.sale_id, SaleStatus.INVOICED, target)
        if moved:
            moved_row = await uow.invoices.by_id(invoice.id)
            assert moved_row is not None
            event = WebhookEvent.INVOICE_CANCELLED if done else WebhookEvent.INVOICE_CANCELLATION_PENDING
            hooks = await webhooks.enqueue(uow, merchant_id, event, invoice_data(moved_row), now=now)
        await uow.commit()
        fresh = await uow.invoices.by_id(invoice.id)
    assert fresh is not None
    if moved and hooks:
        webhooks.kick(services)
    return Cancelled(invoice_view(services, fresh))
