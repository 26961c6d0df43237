"""correctInvoice (issue 15): the customer fixes their own data, with the invoice token.

SAT's way to correct a CFDI's receptor data is to substitute it: a new CFDI related to
the old one by CfdiRelacionados with TipoRelacion 04 ("Sustitución de los CFDI previos",
c_TipoRelacion), then the old one cancelled with motivo 01 ("Comprobante emitido con
errores con relación") naming the new UUID as FolioSustitucion (Anexo 20; RMF 2.7.1.47;
c_MotivoCancelacion). So, in this order:

1. claim: insert the correction as the next `correction` of the same sale, with a new
   folio and related_uuid = the old UUID, while the old invoice is still live. The
   partial unique index on (sale_id, correction) makes it exactly once: a concurrent
   correction of the same invoice loses the index and waits for the winner's result.
   A combined invoice's tickets move to the correction (sale.invoice_id);
2. seal and stamp as any self-invoice (services/portal/issue.py, which writes
   CfdiRelacionados from related_uuid);
3. cancel the old invoice through the PAC with motivo 01 and the new UUID
   (services/cancellation/service.py). The sale stays INVOICED (the correction covers it).
   If the PAC fails now, the correction stands and repeating correctInvoice with the old
   token retries only the cancellation.

Allowed only while every ticket is inside its self-invoicing deadline, and at most
MAX_CORRECTIONS times per ticket.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import DocumentStatus, InvoiceRow, SaleRow
from persistence.uow import UnitOfWork
from services.cancellation import service as cancellation
from services.cfdi.rules import check_customer
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed, lease_for
from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.codes import PortalErrorCode as Code
from services.kernel.container import Services
from services.kernel.results import Invalid, NotFound
from services.kernel.security import INVOICE
from services.kernel.types import Customer, FieldProblem
from services.merchants.models import merchant_from_row
from services.portal import issue, policy
from services.sales.models import sale_from_row

# Corrections a customer may make to one ticket's invoice by themselves; past it, the
# merchant cancels and re-issues (cancelInvoice). Each correction takes a folio and a
# stamp and leaves a cancelled CFDI at SAT: two covers a typo and a second thought.
MAX_CORRECTIONS = 2

SUBSTITUTION = "04"  # c_TipoRelacion: Sustitución de los CFDI previos
WITH_ERRORS_RELATED = "01"  # c_MotivoCancelacion: comprobante emitido con errores con relación


@dataclass(frozen=True)
class Corrected:
    invoice: InvoiceView  # the new CFDI
    access_token: str  # its invoice token
    replaced: InvoiceView  # the old one: CANCELLED, CANCELLATION_PENDING, or still ISSUED if the PAC failed
    message: str


@dataclass(frozen=True)
class CorrectionRefused:
    code: Code
    message: str


CorrectResult = Corrected | CorrectionRefused | Invalid | StampFailed | NotFound


class _Taken(Exception):
    """Another request's correction of this invoice is being stamped."""


def _refused(code: Code, message: str) -> CorrectionRefused:
    return CorrectionRefused(code, message)


async def correct_invoice(services: Services, public_id: str, customer: Customer) -> CorrectResult:
    now = datetime.now(UTC)
    async with services.uow_factory() as uow:
        old = await uow.invoices.by_public_id(public_id)
        merchant = await uow.merchants.by_id(old.merchant_id) if old is not None else None
        sale = await uow.sales.by_id(old.sale_id) if old is not None else None
        covered = await uow.sales.covered_by(old.id) if old is not None and old.id is not None else []
        correction = await _correction_of(uow, old) if old is not None else None
    if old is None or merchant is None or sale is None:
        return NotFound("No existe esa factura.")
    if correction is not None:
        # Already corrected (or being corrected): finish that one, never a second.
        return await _continue(services, merchant, sale, old, correction)
    if old.status != DocumentStatus.ISSUED or old.uuid is None:
        return _refused(Code.CORRECTION_NOT_ALLOWED, "Solo se puede corregir una factura timbrada y vigente.")
    if old.correction >= MAX_CORRECTIONS:
        return _refused(Code.CORRECTION_LIMIT,
                        f"Esta factura ya se corrigió {MAX_CORRECTIONS} veces; para otro cambio pide al comercio "
                        "que la cancele y vuelve a facturar tu ticket.")
    terms = merchant_from_row(merchant)
    for s in (sale, *covered):
        refusal = policy.refusal(sale_from_row(s), terms, now)
        if refusal is not None and refusal.reason == policy.DEADLINE_PASSED:
            return _refused(Code.CORRECTION_DEADLINE_PASSED,
                            f"El plazo para facturar el ticket {s.reference} ya terminó: pide la corrección al comercio.")
        if refusal is not None and refusal.reason == policy.SELF_INVOICING_DISABLED:
            return _refused(Code.CORRECTION_NOT_ALLOWED, refusal.message)
    problems = check_customer(customer, global_invoice=False, issuer_zip=merchant.zip_code)
    if problems:
        return Invalid(tuple(problems))
    customer = issue._normalized(customer)
    if issue._same_customer(old, customer):
        return _refused(Code.CORRECTION_SAME_DATA, "Los datos son iguales a los de la factura: no hay nada que corregir.")

    claimed = await _claim(services, old, customer, now)
    if not isinstance(claimed, InvoiceRow):
        return claimed
    return await _continue(services, merchant, sale, old, claimed, customer)


async def _correction_of(uow: UnitOfWork, old: InvoiceRow) -> InvoiceRow | None:
    """The live correction that substitutes `old`, if any."""
    if old.uuid is None:
        return None
    return await uow.invoices.correction_of(old.sale_id, old.correction + 1, old.uuid)


async def _claim(services: Services, old: InvoiceRow, customer: Customer, now: datetime) -> InvoiceRow | CorrectionRefused | StampFailed:
    assert old.id is not None and old.uuid is not None
    try:
        async with services.uow_factory(write=True) as uow:
            merchant = await uow.merchants.by_id(old.merchant_id)
            current = await uow.invoices.by_id(old.id)
            assert merchant is not None and merchant.id is not None
            await uow.sales.lock(merchant.id, old.sale_id)
            taken = await _correction_of(uow, old)
            if taken is not None and taken.status != DocumentStatus.PENDING:
                return taken  # a concurrent request corrected it meanwhile: that correction
            if taken is None and (current is None or current.status != DocumentStatus.ISSUED):
                return _refused(Code.CORRECTION_NOT_ALLOWED, "Solo se puede corregir una factura timbrada y vigente.")
            if taken is not None:
                raise _Taken  # PENDING: wait for its lease below
            folio = await uow.counters.next(f"folio:{merchant.id}:{merchant.series}")
            row = await uow.invoices.add(InvoiceRow(
                public_id=secrets.token_hex(16), merchant_id=merchant.id, sale_id=old.sale_id,
                series=merchant.series, folio=folio, status=DocumentStatus.PENDING, total_cents=old.total_cents,
                customer_rfc=customer.rfc, customer_name=customer.legal_name, customer_zip=customer.zip_code,
                customer_regime=customer.tax_regime, customer_use=customer.cfdi_use,
                customer_email=customer.email or old.customer_email,
                correction=old.correction + 1, related_uuid=old.uuid,
                lease_until=now + lease_for(services), attempts=1, created_at=now, updated_at=now,
            ))
            assert row.id is not None
            await uow.sales.move_covered(old.id, row.id)
            await uow.commit()
            return row
    except (IntegrityError, _Taken):
        pass  # a concurrent correction of the same invoice claimed it first

    async def find(uow: UnitOfWork) -> InvoiceRow | None:
        return await _correction_of(uow, old)

    return await issuing.wait_for_lease(
        services, issue._invoices, find,
        busy_text="Otra solicitud está corrigiendo esta factura. Intenta de nuevo en un minuto.",
    )


async def _continue(
    services: Services, merchant, sale: SaleRow, old: InvoiceRow, row: InvoiceRow, customer: Customer | None = None,
) -> CorrectResult:
    """Stamp the correction if it is not yet, then cancel the old invoice with motivo 01."""
    if row.status == DocumentStatus.PENDING:
        if customer is None:  # a retry while another request or the worker holds it
            leased = await issuing.wait_for_lease(
                services, issue._invoices, lambda uow: _correction_of(uow, old),
                busy_text="Otra solicitud está corrigiendo esta factura. Intenta de nuevo en un minuto.")
            if not isinstance(leased, InvoiceRow):
                return leased
            row = leased
        if row.status == DocumentStatus.PENDING:
            stamped = await issue._seal_and_stamp(services, merchant, sale, row, customer or issue.customer_of(row))
            if not isinstance(stamped, issue.Issued):
                return stamped
            async with services.uow_factory() as uow:
                fresh = await uow.invoices.by_public_id(stamped.invoice.public_id)
            assert fresh is not None
            row = fresh
    assert row.uuid is not None and old.id is not None
    message = "Tu factura corregida quedó timbrada y la anterior se canceló ante el SAT."
    if old.status == DocumentStatus.ISSUED:
        outcome = await cancellation.cancel_invoice(services, old.merchant_id, old.public_id, WITH_ERRORS_RELATED, row.uuid)
        if isinstance(outcome, cancellation.CancellationFailed):
            message = ("Tu factura corregida quedó timbrada; la cancelación de la anterior no se completó "
                       f"({outcome.message}). Vuelve a pedir la corrección para reintentarla.")
        elif isinstance(outcome, Invalid):
            message = "Tu factura corregida quedó timbrada; la anterior no se pudo cancelar: " + "; ".join(
                p.message for p in outcome.problems)
    async with services.uow_factory() as uow:
        replaced = await uow.invoices.by_id(old.id)
    assert replaced is not None
    if replaced.status == DocumentStatus.CANCELLATION_PENDING:
        message = ("Tu factura corregida quedó timbrada; el SAT pide que aceptes la cancelación de la anterior "
                   "en su portal (o se cancelará sola en tres días hábiles).")
    token, _ = services.tokens.issue(INVOICE, row.public_id, services.invoice_token_ttl)
    return Corrected(invoice_view(services, row), token, invoice_view(services, replaced), message)


async def cancel_substituted(services: Services, limit: int = 50) -> list[str]:
    """The worker's duty: cancel, with motivo 01 and the correction's UUID, the invoices
    whose correction is stamped but whose own cancellation failed at the PAC during the
    customer's request. Returns the UUIDs now CANCELLED or CANCELLATION_PENDING."""
    async with services.uow_factory() as uow:
        due = await uow.invoices.substituted_still_issued(limit)
    done = []
    for old_id, new_uuid in due:
        async with services.uow_factory() as uow:
            old = await uow.invoices.by_id(old_id)
        if old is None or old.status != DocumentStatus.ISSUED:
            continue
        outcome = await cancellation.cancel_invoice(services, old.merchant_id, old.public_id, WITH_ERRORS_RELATED, new_uuid)
        if isinstance(outcome, cancellation.Cancelled) and old.uuid:
            done.append(old.uuid)
    return done


__all__ = ["MAX_CORRECTIONS", "CorrectResult", "Corrected", "CorrectionRefused", "FieldProblem", "cancel_substituted",
           "correct_invoice"]
