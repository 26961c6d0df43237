"""The customer's flow: ticket lookup, issuing exactly once, reading an invoice.

Issuing is split in short transactions around the PAC call, never one transaction held
open across it:
1. claim: insert the PENDING invoice (unique per sale: the database makes it exactly
   once) with a gapless folio and a lease; a concurrent request loses the unique
   constraint and waits for the winner's result;
2. build and seal (in a thread), keep the signed XML on the PENDING row;
3. stamp (PAC, with a timeout). A failure releases the lease and keeps the folio and the
   signed XML: a retry re-sends the same bytes, which the PAC answers idempotently by
   the document's hash, so there is never a second folio nor a second stamp;
4. mark ISSUED and the sale INVOICED, and queue the e-mail, in one transaction.
"""
from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import DocumentStatus, InvoiceRow, MerchantRow, OutboxKind, SaleRow, SaleStatus
from persistence.uow import UnitOfWork
from services import catalogs
from services.cfdi.engine import build_signed_cfdi, lines_problems
from services.cfdi.rules import check_customer, normalize_legal_name, normalize_rfc, rfc_person_type
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed, lease_for
from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.kernel.results import Forbidden, Invalid, NotFound
from services.kernel.security import INVOICE, MERCHANT, Claims
from services.kernel.types import Customer, GenericConceptConfig, InvoiceRequest, Issuer
from services.global_invoice import nominative
from services.merchants.models import merchant_from_row
from services.outbox import service as outbox
from services.webhooks import service as webhooks
from services.webhooks.models import WebhookEvent
from services.webhooks.payloads import invoice_data
from services.portal import combined, policy
from services.portal.lookup import already_invoiced, not_invoiceable
from services.portal.results import AlreadyInvoiced, IssueResult, Issued, NotInvoiceable
from services.sales.models import sale_from_row
from services.sales.ticket import lines_from_json


def _invoices(uow: UnitOfWork):
    return uow.invoices


def _normalized(customer: Customer) -> Customer:
    rfc = normalize_rfc(customer.rfc)
    person = rfc_person_type(rfc) or catalogs.PHYSICAL
    return replace(
        customer,
        rfc=rfc,
        legal_name=normalize_legal_name(customer.legal_name, person),
        zip_code=customer.zip_code.strip(),
        tax_regime=customer.tax_regime.strip(),
        cfdi_use=customer.cfdi_use.strip().upper(),
        email=customer.email.strip().lower() if customer.email else None,
    )


def _same_customer(row: InvoiceRow, c: Customer) -> bool:
    return (row.customer_rfc, row.customer_name, row.customer_zip, row.customer_regime, row.customer_use) == (
        c.rfc, c.legal_name, c.zip_code, c.tax_regime, c.cfdi_use)


def _set_customer(row: InvoiceRow, c: Customer) -> None:
    row.customer_rfc, row.customer_name, row.customer_zip = c.rfc, c.legal_name, c.zip_code
    row.customer_regime, row.customer_use = c.tax_regime, c.cfdi_use


def customer_of(row: InvoiceRow) -> Customer:
    """The customer data an invoice row was (or will be) sealed with."""
    return Customer(rfc=row.customer_rfc, legal_name=row.customer_name, zip_code=row.customer_zip,
                    tax_regime=row.customer_regime, cfdi_use=row.customer_use, email=row.customer_email)


def _issued(services: Services, row: InvoiceRow) -> Issued:
    token, _ = services.tokens.issue(INVOICE, row.public_id, services.invoice_token_ttl)
    return Issued(invoice_view(services, row), token)


def _for_caller(services: Services, row: InvoiceRow, idempotency_key: str | None) -> Issued | AlreadyInvoiced:
    """A finished invoice as a later or concurrent caller sees it."""
    if idempotency_key and row.idempotency_key == idempotency_key:
        return _issued(services, row)
    return already_invoiced(row)


def _generic(merchant: MerchantRow) -> GenericConceptConfig | None:
    if not merchant.generic_concept_enabled:
        return None
    return GenericConceptConfig(
        merchant.generic_product_key or "", merchant.generic_unit_key or "", merchant.generic_description or "")


def _refused(sale: SaleRow | None, merchant: MerchantRow, now: datetime) -> NotInvoiceable | None:
    """Why this sale may not be claimed now (policy), or None."""
    if sale is None:
        return NotInvoiceable(policy.CANCELLED, None, "La venta ya no existe.")
    refusal = policy.refusal(sale_from_row(sale), merchant_from_row(merchant), now)
    return not_invoiceable(refusal) if refusal is not None else None


async def issue_invoice(services: Services, ticket: Claims, customer: Customer, idempotency_key: str | None) -> IssueResult:
    sale_id, merchant_id = int(ticket.subject), int(ticket.extra["m"])
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    now = datetime.now(UTC)
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        sale = await uow.sales.owned(merchant_id, sale_id)
        invoice = await uow.invoices.by_sale(sale_id)
    if merchant is None or sale is None:
        return NotInvoiceable(policy.CANCELLED, None, "La venta ya no existe.")
    if invoice is not None and invoice.sale_id != sale_id:  # issue 15: covered by a combined invoice
        return already_invoiced(invoice)
    if invoice is not None and invoice.status != DocumentStatus.PENDING:
        return _for_caller(services, invoice, idempotency_key)
    if invoice is None and (refused := _refused(sale, merchant, now)) is not None:
        return refused
    # An invalid customer never takes a folio: check every datum first.
    problems = check_customer(customer, global_invoice=False, issuer_zip=merchant.zip_code)
    problems += lines_problems(lines_from_json(sale.lines_json), _generic(merchant))
    if problems:
        return Invalid(tuple(problems))
    customer = _normalized(customer)

    claimed, fresh = await _claim(services, merchant, sale, customer, idempotency_key, now)
    if not isinstance(claimed, InvoiceRow):
        return claimed
    if claimed.sale_id != sale_id:  # issue 15: a combined invoice took this ticket meanwhile
        return already_invoiced(claimed)
    if claimed.status != DocumentStatus.PENDING:
        return _for_caller(services, claimed, idempotency_key)
    return await _seal_and_stamp(services, merchant, sale, claimed, customer, fresh=fresh)


async def _claim(
    services: Services, merchant: MerchantRow, sale: SaleRow, customer: Customer, idempotency_key: str | None,
    now: datetime,
) -> tuple[InvoiceRow | NotInvoiceable | StampFailed, bool]:
    """Take the right to stamp this sale's invoice; or the result of whoever has it. The
    flag: this request inserted the row just now, as the one-ticket invoice of a sale that
    was OPEN under the lock (so no factura global holds it, and none can take it while
    the row lives: globals claim only sales without one), and no other ticket points to
    it (combined invoices are inserted by services/portal/multi.py)."""
    assert merchant.id is not None and sale.id is not None
    merchant_id, sale_id = merchant.id, sale.id
    folios = f"folio:{merchant.id}:{merchant.series}"  # the next of this series, gapless

    def new_row() -> InvoiceRow:
        return InvoiceRow(
            public_id=secrets.token_hex(16), merchant_id=merchant_id, sale_id=sale_id,
            series=merchant.series, folio=0, status=DocumentStatus.PENDING, total_cents=sale.total_cents,
            customer_rfc=customer.rfc, customer_name=customer.legal_name, customer_zip=customer.zip_code,
            customer_regime=customer.tax_regime, customer_use=customer.cfdi_use, customer_email=customer.email,
            idempotency_key=idempotency_key, lease_until=now + lease_for(services), attempts=1,
            created_at=now, updated_at=now,
        )

    try:
        if services.engine.dialect.name == "postgresql" and sale.status == SaleStatus.OPEN:
            # The usual case in one autocommitted statement (InvoiceRepository.claim_open_sale:
            # the folio counter is never locked across an event-loop turn, issue 16); any
            # other case, or a sale that changed since it was read, takes the path below.
            async with services.uow_factory(autocommit=True) as uow:
                claimed = await uow.invoices.claim_open_sale(new_row(), folios)
            if claimed is not None:
                return claimed, True
        async with services.uow_factory(write=True) as uow:
            # Lock the sale row first, then look for its invoice. Locking it only after
            # an invoice-less read deadlocked on PostgreSQL: a late request held the sale
            # and waited on the unique index for the winner's row, while the winner's
            # final transaction held that row and waited for the sale (tests/api/
            # test_multiprocess.py). The lock also re-reads the sale: a factura global may
            # have taken it since (services/global_invoice claims only OPEN sales
            # without an invoice row, so exactly one of the two wins).
            current = await uow.sales.lock(merchant.id, sale.id)
            row = await uow.invoices.by_sale(sale.id)
            if row is not None and row.sale_id != sale.id:  # issue 15: covered by a combined invoice
                return row, False
            if row is None:
                if current is None or current.status not in (SaleStatus.OPEN, SaleStatus.IN_GLOBAL_INVOICE) or (
                        current.status == SaleStatus.IN_GLOBAL_INVOICE and _refused(current, merchant, now) is not None):
                    refused = _refused(current, merchant, now)
                    return refused or NotInvoiceable(policy.CANCELLED, None, "La venta ya no se puede facturar."), False
                row = await uow.invoices.add_numbered(new_row(), folios)
                await uow.commit()
                return row, current.status == SaleStatus.OPEN
    except IntegrityError:
        pass  # a concurrent request inserted it first

    async def adopt(uow: UnitOfWork, row: InvoiceRow) -> None:
        """Leased after an earlier failure: this request's customer data and key. Corrected
        customer data are written only with the new seal (services/invoicing/issuing.py:
        kept bytes may have been stamped, so they are dropped only once the PAC says no);
        never sealed yet: written now."""
        if not _same_customer(row, customer) and row.signed_xml is None:
            _set_customer(row, customer)
        row.customer_email = customer.email
        row.idempotency_key = idempotency_key or row.idempotency_key
        row.updated_at = datetime.now(UTC)
        await uow.invoices.save(row)

    return await issuing.wait_for_lease(
        services, _invoices, lambda uow: uow.invoices.by_sale(sale_id), on_leased=adopt,
        busy_text="Otra solicitud está facturando este ticket. Intenta de nuevo en un minuto.",
    ), False


SELF_INVOICE_TEXTS = issuing.FailureTexts(
    retryable="El servicio de timbrado no respondió a tiempo. Tu ticket sigue disponible: intenta de nuevo en unos minutos.",
    rejected="El servicio de timbrado rechazó la factura ({code}). Contacta al comercio.",
)


async def _seal_and_stamp(
    services: Services, merchant: MerchantRow, sale: SaleRow, row: InvoiceRow, customer: Customer, *,
    fresh: bool = False,
) -> Issued | Invalid | StampFailed:
    """``fresh``: _claim's flag (the row was just inserted for an OPEN sale): then there is
    no factura global to leave and no other ticket to list, and both reads are skipped."""
    # A ticket already in a factura global leaves it first (Guía de llenado del CFDI global:
    # cancel it with motivo 04, issue its replacement without the ticket): services/global_invoice/nominative.py.
    assert sale.id is not None and row.id is not None
    blocked = None if fresh else await nominative.leave_global(services, merchant, sale.id)
    if blocked is not None:
        await issuing.release(services, _invoices, row.id, getattr(blocked, "message", "global invoice"))
        return blocked
    async def build_request() -> InvoiceRequest:
        # Issue 15: a combined invoice lists every ticket it covers, and a correction
        # relates to the CFDI it replaces (services/portal/combined.py, correct.py).
        sales = [sale, *([] if fresh else await combined.covered_sales(services, row))]
        return InvoiceRequest(
            issuer=Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, merchant.zip_code),
            customer=customer,
            lines=tuple(line for s in sales for line in lines_from_json(s.lines_json)),
            payment_form=combined.payment_form(sales),
            series=row.series,
            folio=str(row.folio),
            ticket_total=from_cents(sum(s.total_cents for s in sales)),
            related_uuid=row.related_uuid,
            generic_concept=_generic(merchant),
        )

    webhooks_queued = [0]

    async def on_issued(uow: UnitOfWork, issued: InvoiceRow) -> None:
        assert merchant.id is not None and sale.id is not None and issued.id is not None
        await uow.sales.set_status(merchant.id, sale.id, SaleStatus.INVOICED)  # also a ticket out of its global
        await uow.sales.set_status_covered(issued.id, SaleStatus.INVOICED)  # issue 15: combined tickets
        if issued.customer_email:
            await outbox.enqueue(uow, OutboxKind.INVOICE, issued.customer_email, issued.id)
        webhooks_queued[0] = await webhooks.enqueue(uow, merchant.id, WebhookEvent.INVOICE_ISSUED, invoice_data(issued))

    async def before_reseal(uow: UnitOfWork, pending: InvoiceRow) -> None:
        assert pending.id is not None
        fresh = await uow.invoices.by_id(pending.id)
        assert fresh is not None
        _set_customer(fresh, customer)
        fresh.updated_at = datetime.now(UTC)
        await uow.invoices.save(fresh)

    outcome = await issuing.seal_and_stamp(
        services, _invoices, row, merchant,
        build_request=build_request, build=build_signed_cfdi, texts=SELF_INVOICE_TEXTS, on_issued=on_issued,
        reseal=not _same_customer(row, customer), before_reseal=before_reseal,
    )
    if not isinstance(outcome, issuing.Stamped):
        return outcome
    if outcome.row.customer_email:
        outbox.kick(services)
    if webhooks_queued[0]:  # the sender reads the due deliveries: no read when none was queued
        webhooks.kick(services)
    return _issued(services, outcome.row)


async def finish_pending(services: Services, invoice_id: int) -> Issued | Invalid | StampFailed | None:
    """The worker's duty: finish a PENDING invoice nobody holds (its lease expired), as
    the customer's retry would: same bytes again, or ask the PAC before a new seal.
    None when another process took it first or it is no longer PENDING."""
    now = datetime.now(UTC)
    async with services.uow_factory(write=True) as uow:
        if not await uow.invoices.try_lease(invoice_id, now, now + lease_for(services)):
            return None
        await uow.commit()
    async with services.uow_factory() as uow:
        row = await uow.invoices.by_id(invoice_id)
        assert row is not None
        merchant = await uow.merchants.by_id(row.merchant_id)
        sale = await uow.sales.by_id(row.sale_id)
    if merchant is None or sale is None:
        await issuing.release(services, _invoices, invoice_id, "merchant or sale missing")
        return None
    return await _seal_and_stamp(services, merchant, sale, row, customer_of(row))


# ---------------- reading ----------------


async def read_invoice(services: Services, audience: str, subject: str, public_id: str) -> InvoiceView | Forbidden | NotFound:
    """Only the invoice's own token or its merchant's token reads it."""
    async with services.uow_factory() as uow:
        if audience == INVOICE:
            if subject != public_id:
                return Forbidden("Este token no corresponde a esa factura.")
            row = await uow.invoices.by_public_id(public_id)
            if row is not None:  # issue 15: a corrected invoice's token reads its correction
                from services.portal.correct import MAX_CORRECTIONS  # correct.py imports this module

                row = await uow.invoices.substitute_of(row, max_steps=MAX_CORRECTIONS + 1)
        elif audience == MERCHANT:
            row = await uow.invoices.owned_by_public_id(int(subject), public_id)
        else:
            return Forbidden("Esta operación requiere un token de factura o de comercio.")
    return invoice_view(services, row) if row is not None else NotFound("No existe esa factura.")
