"""Several tickets in one invoice (issue 15): issueInvoice with additionalTicketTokens.

One CFDI whose concepts are every ticket's lines (or the generic concept per tax
treatment) and whose Total is the sum of the tickets. Exactly once per ticket is
structural: the invoice row belongs to the first ticket (the partial unique index on
invoice.sale_id), and the other tickets point to it (sale.invoice_id), set by one
conditional UPDATE in the claim's transaction (only OPEN tickets with neither an invoice
of their own nor a covering one), after row-locking every ticket in id order. Two
customers racing over overlapping sets, or a one-ticket issue racing a combined one,
therefore serialise on the shared ticket's lock and exactly one covers it; the loser is
told which ticket was taken, and nothing is issued for it.

After the claim, sealing and stamping are those of a one-ticket invoice
(services/portal/issue.py), which reads the covered tickets (services/portal/combined.py).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import DocumentStatus, InvoiceRow, MerchantRow, SaleRow, SaleStatus
from persistence.uow import UnitOfWork
from services.cfdi.engine import lines_problems
from services.cfdi.rules import check_customer
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed, lease_for
from services.kernel.codes import PortalErrorCode as Code
from services.kernel.container import Services
from services.kernel.results import Invalid
from services.kernel.security import TICKET, Claims, TokenError
from services.kernel.types import Customer, FieldProblem
from services.merchants.models import merchant_from_row
from services.portal import issue, policy
from services.portal.lookup import already_invoiced
from services.portal.results import AlreadyInvoiced, IssueResult, NotInvoiceable
from services.sales.models import sale_from_row
from services.sales.ticket import lines_from_json

# Tickets besides the first that one invoice may combine (a list input is capped,
# CONVENTIONS 10): 21 tickets in all.
MAX_ADDITIONAL_TICKETS = 20

FIELD = "additionalTicketTokens"


@dataclass(frozen=True)
class NotCombinable:
    """Some tickets cannot go into this invoice: one problem per ticket, whose field is
    additionalTicketTokens.<i> (or `ticket`, the token's own), and their references."""

    problems: tuple[FieldProblem, ...]
    references: tuple[str, ...]


def _field(index: int) -> str:
    return "ticket" if index < 0 else f"{FIELD}.{index}"


def _taken(index: int, reference: str) -> FieldProblem:
    return FieldProblem(_field(index), Code.TICKET_ALREADY_INVOICED,
                        f"El ticket {reference} ya fue facturado: quítalo de esta factura.")


async def issue_combined(
    services: Services, ticket: Claims, additional_tokens: list[str], customer: Customer, idempotency_key: str | None,
) -> IssueResult | NotCombinable:
    sale_id, merchant_id = int(ticket.subject), int(ticket.extra["m"])
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    if len(additional_tokens) > MAX_ADDITIONAL_TICKETS:
        return NotCombinable((FieldProblem(
            FIELD, Code.TOO_MANY_TICKETS,
            f"Una factura puede juntar hasta {MAX_ADDITIONAL_TICKETS + 1} tickets; haz otra factura con los demás."),), ())
    # The tokens first: each must be a ticket token of this merchant, once.
    problems: list[FieldProblem] = []
    index_of: dict[int, int] = {}
    for i, token in enumerate(additional_tokens):
        try:
            claims = services.tokens.decode(token, TICKET)
        except TokenError:
            problems.append(FieldProblem(_field(i), Code.TICKET_TOKEN_INVALID,
                                         "Este ticket ya no es válido (la búsqueda expiró): búscalo de nuevo."))
            continue
        if int(claims.extra.get("m", -1)) != merchant_id:
            problems.append(FieldProblem(_field(i), Code.TICKET_OTHER_MERCHANT,
                                         "Este ticket es de otro comercio: una factura solo junta tickets del mismo comercio."))
            continue
        other = int(claims.subject)
        if other == sale_id or other in index_of:
            problems.append(FieldProblem(_field(i), Code.TICKET_REPEATED, "Este ticket ya está en la lista."))
            continue
        index_of[other] = i
    if problems:
        return NotCombinable(tuple(problems), ())
    ids = sorted(index_of)

    now = datetime.now(UTC)
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        sale = await uow.sales.owned(merchant_id, sale_id)
        others = await uow.sales.by_ids(merchant_id, ids)
        invoice = await uow.invoices.by_sale(sale_id)
        covered = {s.id for s in await uow.sales.covered_by(invoice.id)} if invoice is not None and invoice.id else set()
        their_invoices = {s.id: await uow.invoices.by_sale(s.id) for s in others}
    if merchant is None or sale is None or len(others) != len(ids):
        return NotInvoiceable(policy.CANCELLED, None, "La venta ya no existe.")
    if invoice is not None and (invoice.sale_id != sale_id or covered != set(ids)):
        # This ticket went into another invoice: the customer sees it like a one-ticket request.
        return already_invoiced(invoice)
    if invoice is not None and invoice.status != DocumentStatus.PENDING:
        return issue._for_caller(services, invoice, idempotency_key)
    if invoice is None:
        if (refused := issue._refused(sale, merchant, now)) is not None:
            return refused
        problems = _refusals(merchant, others, their_invoices, index_of, now)
        if problems:
            return NotCombinable(tuple(problems), tuple(_reference(others, p, index_of) for p in problems))
    # As for one ticket: invalid customer data or lines never take a folio.
    invalid = check_customer(customer, global_invoice=False, issuer_zip=merchant.zip_code)
    invalid += lines_problems(tuple(line for s in (sale, *others) for line in lines_from_json(s.lines_json)),
                              issue._generic(merchant))
    if invalid:
        return Invalid(tuple(invalid))
    customer = issue._normalized(customer)

    claimed = await _claim(services, merchant, sale, ids, index_of, customer, idempotency_key, now)
    if not isinstance(claimed, InvoiceRow):
        return claimed
    if claimed.status != DocumentStatus.PENDING:
        return issue._for_caller(services, claimed, idempotency_key)
    return await issue._seal_and_stamp(services, merchant, sale, claimed, customer)


def _refusals(
    merchant: MerchantRow, others: list[SaleRow], invoices: dict, index_of: dict[int, int], now: datetime,
) -> list[FieldProblem]:
    """Why each additional ticket may not go into the invoice (policy, or already invoiced)."""
    terms = merchant_from_row(merchant)
    problems = []
    for s in others:
        assert s.id is not None
        i = index_of[s.id]
        if invoices.get(s.id) is not None or s.invoice_id is not None:
            problems.append(_taken(i, s.reference))
            continue
        refusal = policy.refusal(sale_from_row(s), terms, now)
        if refusal is not None or s.status != SaleStatus.OPEN:
            text = refusal.message if refusal is not None else "Este ticket ya no se puede facturar."
            problems.append(FieldProblem(_field(i), Code.TICKET_NOT_INVOICEABLE, f"Ticket {s.reference}: {text}"))
    return problems


def _reference(others: list[SaleRow], problem: FieldProblem, index_of: dict[int, int]) -> str:
    by_index = {index_of[s.id]: s.reference for s in others if s.id is not None}
    return by_index.get(int(problem.field.rsplit(".", 1)[1]), "") if "." in problem.field else ""


async def _claim(
    services: Services, merchant: MerchantRow, sale: SaleRow, ids: list[int], index_of: dict[int, int],
    customer: Customer, idempotency_key: str | None, now: datetime,
) -> InvoiceRow | NotCombinable | NotInvoiceable | AlreadyInvoiced | StampFailed:
    """Take every ticket for one new invoice, in one transaction, or none of them."""
    assert merchant.id is not None and sale.id is not None
    try:
        async with services.uow_factory(write=True) as uow:
            locked = {s.id: s for s in await uow.sales.lock_many(merchant.id, sorted([sale.id, *ids]))}
            row = await uow.invoices.by_sale(sale.id)
            if row is None:
                current = locked.get(sale.id)
                if current is None or current.status != SaleStatus.OPEN:
                    refused = issue._refused(current, merchant, now)
                    return refused or NotInvoiceable(policy.CANCELLED, None, "La venta ya no se puede facturar.")
                others = [locked[i] for i in ids if i in locked]
                theirs = {s.id: await uow.invoices.by_sale(s.id) for s in others}
                problems = _refusals(merchant, others, theirs, index_of, now)
                if len(others) != len(ids) or problems:
                    return NotCombinable(tuple(problems), tuple(_reference(others, p, index_of) for p in problems))
                folio = await uow.counters.next(f"folio:{merchant.id}:{merchant.series}")
                row = await uow.invoices.add(InvoiceRow(
                    public_id=secrets.token_hex(16), merchant_id=merchant.id, sale_id=sale.id,
                    series=merchant.series, folio=folio, status=DocumentStatus.PENDING,
                    total_cents=sale.total_cents + sum(s.total_cents for s in others),
                    customer_rfc=customer.rfc, customer_name=customer.legal_name, customer_zip=customer.zip_code,
                    customer_regime=customer.tax_regime, customer_use=customer.cfdi_use, customer_email=customer.email,
                    idempotency_key=idempotency_key, lease_until=now + lease_for(services), attempts=1,
                    created_at=now, updated_at=now,
                ))
                assert row.id is not None
                if await uow.sales.cover(merchant.id, ids, row.id) != len(ids):
                    # Cannot happen under the locks above; if it did, nothing is kept.
                    return NotCombinable((FieldProblem(FIELD, Code.TICKET_ALREADY_INVOICED,
                                                       "Otro cliente acaba de facturar uno de estos tickets."),), ())
                await uow.commit()
                return row
            if row.sale_id != sale.id:
                return already_invoiced(row)
    except IntegrityError:
        pass  # a concurrent one-ticket request inserted this ticket's invoice first

    async def adopt(uow: UnitOfWork, row: InvoiceRow) -> None:
        if not issue._same_customer(row, customer) and row.signed_xml is None:
            issue._set_customer(row, customer)
        row.customer_email = customer.email
        row.idempotency_key = idempotency_key or row.idempotency_key
        row.updated_at = datetime.now(UTC)
        await uow.invoices.save(row)

    async def find(uow: UnitOfWork) -> InvoiceRow | None:
        return await uow.invoices.by_sale(sale_id)

    sale_id = sale.id
    async with services.uow_factory() as uow:
        existing = await uow.invoices.by_sale(sale_id)
        same_set = existing is not None and existing.id is not None and existing.sale_id == sale_id and {
            s.id for s in await uow.sales.covered_by(existing.id)} == set(ids)
    if existing is None:
        return StampFailed("Otra solicitud está facturando estos tickets. Intenta de nuevo en un minuto.", True)
    if not same_set:
        return already_invoiced(existing)
    return await issuing.wait_for_lease(
        services, issue._invoices, find, on_leased=adopt,
        busy_text="Otra solicitud está facturando estos tickets. Intenta de nuevo en un minuto.",
    )
