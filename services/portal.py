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

import asyncio
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from persistence.tables import InvoiceRow, MerchantRow, SaleRow
from services import catalogs, issuing, notifications, policy
from services import sales as sales_service
from services.cfdi.engine import build_signed_cfdi
from services.cfdi.rules import check_customer, normalize_legal_name, normalize_rfc, rfc_person_type
from services.container import Services
from services.money import cents
from services.security import DOWNLOAD, INVOICE, MERCHANT, TICKET, Claims
from services.throttle import keys_for
from services.types import Customer, FieldProblem, GenericConceptConfig, InvoiceRequest, Issuer

NOT_FOUND_MESSAGE = (
    "No encontramos un ticket con esos datos. Revisa el número de comercio, la referencia y el total "
    "tal como aparecen impresos en tu ticket."
)
LEASE, WAIT_FOR_OTHER = issuing.LEASE, issuing.WAIT_FOR_OTHER
StampFailed = issuing.StampFailed


# ---------------- results ----------------


@dataclass(frozen=True)
class ConceptLine:
    description: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Invoiceable:
    reference: str
    total: Decimal
    sold_at: datetime
    deadline: datetime
    concepts: list[ConceptLine]
    ticket_token: str
    merchant_name: str


@dataclass(frozen=True)
class AlreadyInvoiced:
    invoiced_at: datetime
    masked_rfc: str
    message: str


@dataclass(frozen=True)
class NotInvoiceable:
    reason: str
    deadline: datetime | None
    message: str


@dataclass(frozen=True)
class NotFoundResult:
    message: str
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class InvoiceView:
    row: InvoiceRow
    xml_url: str | None
    pdf_url: str | None


@dataclass(frozen=True)
class Issued:
    view: InvoiceView
    access_token: str


@dataclass(frozen=True)
class InvalidCustomer:
    problems: list[FieldProblem]


def mask_rfc(rfc: str) -> str:
    """XAXX010101000 -> XAXX0101****0: enough to recognise, not enough to reuse."""
    return rfc[:-5] + "****" + rfc[-1:] if len(rfc) > 5 else "****"


def _already(invoice: InvoiceRow) -> AlreadyInvoiced:
    return AlreadyInvoiced(
        invoiced_at=invoice.issued_at or invoice.created_at,
        masked_rfc=mask_rfc(invoice.customer_rfc),
        message="Este ticket ya fue facturado.",
    )


def concept_preview(sale: SaleRow, merchant: MerchantRow) -> list[ConceptLine]:
    lines = sales_service.lines_from_json(sale.lines_json)
    if not merchant.generic_concept_enabled:
        return [ConceptLine(l.description, l.quantity, l.amount) for l in lines]
    # One generic concept per distinct tax treatment: a concept cannot carry two IVA rates.
    groups: dict[tuple, Decimal] = {}
    for l in lines:
        groups[l.taxes] = groups.get(l.taxes, Decimal(0)) + l.amount
    return [ConceptLine(merchant.generic_description or "", Decimal(1), cents(v)) for v in groups.values()]


# ---------------- lookup ----------------


async def lookup_ticket(services: Services, company_number: str, reference: str, total: Decimal, client: str):
    now = datetime.now(UTC)
    company_number = company_number.strip()
    keys = keys_for(client, company_number)
    async with services.uow_factory() as uow:
        # The throttle counters and the ticket in one transaction. Even the right data
        # waits while the client is blocked: that is what stops guessing.
        wait = await services.throttle.blocked_for(keys, now, uow)
        # One query by (company number, reference); the total is compared after. Unknown
        # company, unknown reference and wrong total then share one code path below.
        found = None if wait else await uow.sales.ticket_with_invoice(
            company_number[:20], sales_service.reference_key(reference)[:200])
    if wait:
        minutes = max(1, -(-wait // 60))
        return NotFoundResult(
            f"Demasiados intentos fallidos. Intenta de nuevo en {minutes} minuto{'s' if minutes != 1 else ''}.",
            retry_after_seconds=wait,
        )
    if found is None or sales_service.total_of(found[0]) != cents(total):
        await services.throttle.fail(keys, now)
        return NotFoundResult(NOT_FOUND_MESSAGE)
    sale, merchant, invoice = found
    if invoice is not None and invoice.status != "PENDING":
        return _already(invoice)
    refusal = policy.refusal(sale, merchant, now)
    if refusal is not None:
        return NotInvoiceable(refusal.reason, refusal.deadline, refusal.message)
    token, _ = services.tokens.issue(TICKET, str(sale.id), services.ticket_token_ttl, m=merchant.id)
    return Invoiceable(
        reference=sale.reference,
        total=sales_service.total_of(sale),
        sold_at=sale.sold_at,
        deadline=policy.deadline(sale.sold_at, merchant),
        concepts=concept_preview(sale, merchant),
        ticket_token=token,
        merchant_name=merchant.legal_name,
    )


# ---------------- issuing ----------------


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


def _issued(services: Services, row: InvoiceRow) -> Issued:
    token, _ = services.tokens.issue(INVOICE, row.public_id, services.invoice_token_ttl)
    return Issued(invoice_view(services, row), token)


def _for_caller(services: Services, row: InvoiceRow, idempotency_key: str | None, customer: Customer):
    """A finished invoice as a later or concurrent caller sees it."""
    if idempotency_key and row.idempotency_key == idempotency_key:
        return _issued(services, row)
    return _already(row)


async def issue_invoice(services: Services, ticket: Claims, customer: Customer, idempotency_key: str | None):
    sale_id, merchant_id = int(ticket.subject), int(ticket.extra["m"])
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    now = datetime.now(UTC)
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        sale = await uow.sales.by_id(merchant_id, sale_id)
        invoice = await uow.invoices.by_sale(sale_id)
    if merchant is None or sale is None:
        return NotInvoiceable(policy.CANCELLED, None, "La venta ya no existe.")
    if invoice is not None and invoice.status != "PENDING":
        return _for_caller(services, invoice, idempotency_key, customer)
    if invoice is None:
        refusal = policy.refusal(sale, merchant, now)
        if refusal is not None:
            return NotInvoiceable(refusal.reason, refusal.deadline, refusal.message)
    # An invalid customer never takes a folio: check every datum first.
    problems = check_customer(customer, global_invoice=False, issuer_zip=merchant.zip_code)
    if problems:
        return InvalidCustomer(problems)
    customer = _normalized(customer)

    claimed = await _claim(services, merchant, sale, customer, idempotency_key, now)
    if not isinstance(claimed, InvoiceRow):
        return claimed
    return await _seal_and_stamp(services, merchant, sale, claimed, customer)


async def _claim(services, merchant, sale, customer, idempotency_key, now):
    """Take the right to stamp this sale's invoice; or the result of whoever has it."""
    try:
        async with services.uow_factory(write=True) as uow:
            # Lock the sale row first, then look for its invoice. Locking it only after
            # an invoice-less read deadlocked on PostgreSQL: a late request held the sale
            # and waited on the unique index for the winner's row, while the winner's
            # final transaction held that row and waited for the sale (tests/api/
            # test_multiprocess.py). The lock also re-reads the sale: a factura global may
            # have taken it since (services/global_invoice.py claims only OPEN sales
            # without an invoice row, so exactly one of the two wins).
            current = await uow.sales.lock(merchant.id, sale.id)
            row = await uow.invoices.by_sale(sale.id)
            if row is None:
                if current is None or current.status != "OPEN":
                    refusal = policy.refusal(current, merchant, now) if current is not None else None
                    if refusal is None:
                        return NotInvoiceable(policy.CANCELLED, None, "La venta ya no se puede facturar.")
                    return NotInvoiceable(refusal.reason, refusal.deadline, refusal.message)
                folio = await uow.counters.next(f"folio:{merchant.id}:{merchant.series}")
                row = await uow.invoices.add(InvoiceRow(
                    public_id=secrets.token_hex(16), merchant_id=merchant.id, sale_id=sale.id,
                    series=merchant.series, folio=folio, status="PENDING", total_cents=sale.total_cents,
                    customer_rfc=customer.rfc, customer_name=customer.legal_name, customer_zip=customer.zip_code,
                    customer_regime=customer.tax_regime, customer_use=customer.cfdi_use, customer_email=customer.email,
                    idempotency_key=idempotency_key, lease_until=now + LEASE, attempts=1,
                    created_at=now, updated_at=now,
                ))
                return row
    except IntegrityError:
        pass  # a concurrent request inserted it first
    # The invoice exists: a retry after a failure, or a concurrent request.
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER
    while True:
        async with services.uow_factory(write=True) as uow:
            row = await uow.invoices.by_sale(sale.id)
            if row.status != "PENDING":
                return _for_caller(services, row, idempotency_key, customer)
            now = datetime.now(UTC)
            if await uow.invoices.try_lease(row.id, now, now + LEASE):
                if not _same_customer(row, customer):
                    # A retry with corrected data: same folio, new seal.
                    row.customer_rfc, row.customer_name, row.customer_zip = customer.rfc, customer.legal_name, customer.zip_code
                    row.customer_regime, row.customer_use = customer.tax_regime, customer.cfdi_use
                    row.signed_xml, row.document_hash = None, None
                row.customer_email = customer.email
                row.idempotency_key = idempotency_key or row.idempotency_key
                row.updated_at = now
                uow.session.add(row)
                await uow.session.refresh(row)
                return row
        if asyncio.get_running_loop().time() > deadline:
            return StampFailed("Otra solicitud está facturando este ticket. Intenta de nuevo en un minuto.", True)
        await asyncio.sleep(0.1)


SELF_INVOICE_TEXTS = issuing.FailureTexts(
    retryable="El servicio de timbrado no respondió a tiempo. Tu ticket sigue disponible: intenta de nuevo en unos minutos.",
    rejected="El servicio de timbrado rechazó la factura ({code}). Contacta al comercio.",
)


async def _seal_and_stamp(services: Services, merchant: MerchantRow, sale: SaleRow, row: InvoiceRow, customer: Customer):
    async def build_request() -> InvoiceRequest:
        return InvoiceRequest(
            issuer=Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, merchant.zip_code),
            customer=customer,
            lines=sales_service.lines_from_json(sale.lines_json),
            payment_form=sale.payment_form,
            series=row.series,
            folio=str(row.folio),
            ticket_total=sales_service.total_of(sale),
            generic_concept=GenericConceptConfig(
                merchant.generic_product_key, merchant.generic_unit_key, merchant.generic_description
            ) if merchant.generic_concept_enabled else None,
        )

    async def on_issued(uow, fresh: InvoiceRow) -> None:
        await uow.sales.set_status(merchant.id, sale.id, "INVOICED")
        if fresh.customer_email:
            await notifications.enqueue(uow, "invoice", fresh.customer_email, fresh.id)

    outcome = await issuing.seal_and_stamp(
        services, issuing.INVOICE, row, merchant,
        build_request=build_request, build=build_signed_cfdi, texts=SELF_INVOICE_TEXTS, on_issued=on_issued,
    )
    if isinstance(outcome, issuing.BuildRefused):
        return InvalidCustomer(outcome.problems)
    if isinstance(outcome, issuing.StampFailed):
        return outcome
    if outcome.row.customer_email:
        notifications.kick(services)
    return _issued(services, outcome.row)


# ---------------- reading ----------------


def invoice_view(services: Services, row: InvoiceRow) -> InvoiceView:
    if row.status not in ("ISSUED", "CANCELLATION_PENDING", "CANCELLED") or row.uuid is None:
        return InvoiceView(row, None, None)
    base = services.public_url.rstrip("/")
    urls = []
    for kind in ("xml", "pdf"):
        token, _ = services.tokens.issue(DOWNLOAD, row.public_id, services.download_link_ttl, k=kind)
        urls.append(f"{base}/downloads/{row.public_id}.{kind}?token={token}")
    return InvoiceView(row, urls[0], urls[1])


async def read_invoice(services: Services, audience: str, subject: str, public_id: str) -> InvoiceView | None:
    """Only the invoice's own token or its merchant's token reads it."""
    from services.errors import Forbidden

    async with services.uow_factory() as uow:
        if audience == INVOICE:
            if subject != public_id:
                raise Forbidden("Este token no corresponde a esa factura.")
            row = await uow.invoices.by_public_id(public_id)
        elif audience == MERCHANT:
            row = await uow.invoices.owned_by_public_id(int(subject), public_id)
        else:
            raise Forbidden("Esta operación requiere un token de factura o de comercio.")
    return invoice_view(services, row) if row is not None else None


async def list_invoices(
    services: Services, merchant_id: int, first: int, after: str | None, *, repository: str = issuing.INVOICE
):
    """A page of the merchant's invoices (or facturas globales), newest first."""
    cursor = sales_service.parse_cursor(after)
    async with services.uow_factory() as uow:
        rows = await getattr(uow, repository).page(merchant_id, first + 1, cursor)
    return [invoice_view(services, r) for r in rows[:first]], len(rows) > first


async def record_sale_and_notify(services: Services, merchant: MerchantRow, sale: sales_service.SaleInput):
    """recordSale: with customerEmail, the portal link and the three data are sent."""
    recorded = await sales_service.record_sale(
        services.uow_factory, merchant, sale,
        on_created=lambda uow, row: notifications.enqueue(uow, "ticket", row.customer_email, row.id) if row.customer_email else None,
    )
    if recorded.created and recorded.sale.customer_email:
        notifications.kick(services)
    return recorded
