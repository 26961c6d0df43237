"""The portal's first step: find a ticket by the three data printed on it."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from persistence.repositories.tickets import FoundTicket
from persistence.tables import DocumentStatus, InvoiceRow
from services.kernel.container import Services
from services.kernel.money import cents, is_money, to_cents
from services.kernel.security import TICKET
from services.kernel.throttle import (
    Admitted, ChallengeRequired, Hit, Refused, admit, attempt_keys, decide, hits_from_rows, lookup_keys, wait_message,
)
from services.merchants import service as merchants
from services.merchants.models import Merchant, merchant_from_row
from services.portal import policy
from services.portal.results import (
    AlreadyInvoiced, ConceptLine, Invoiceable, LookupResult, NotInvoiceable, PortalRefused, TicketChallenge, TicketNotFound,
)
from services.sales.models import Sale, sale_from_row
from services.sales.ticket import reference_key

NOT_FOUND_MESSAGE = (
    "No encontramos un ticket con esos datos. Revisa el número de comercio, la referencia y el total "
    "tal como aparecen impresos en tu ticket."
)
CHALLENGE_MESSAGE = (
    "Este comercio recibió muchas búsquedas fallidas. Tu navegador resolverá una verificación "
    "automática (unos segundos) antes de buscar tu ticket."
)
CHALLENGE_FAILED_MESSAGE = "La verificación no es válida, ya se usó o expiró: resuelve esta nueva."


def mask_rfc(rfc: str) -> str:
    """XAXX010101000 -> XAXX0101****0: enough to recognise, not enough to reuse."""
    return rfc[:-5] + "****" + rfc[-1:] if len(rfc) > 5 else "****"


def already_invoiced(invoice: InvoiceRow) -> AlreadyInvoiced:
    return AlreadyInvoiced(
        invoiced_at=invoice.issued_at or invoice.created_at,
        masked_rfc=mask_rfc(invoice.customer_rfc),
        message="Este ticket ya fue facturado.",
    )


def not_invoiceable(refusal: policy.Refusal) -> NotInvoiceable:
    return NotInvoiceable(refusal.reason, refusal.deadline, refusal.message)


def concept_preview(sale: Sale, merchant: Merchant) -> tuple[ConceptLine, ...]:
    if not merchant.generic_concept_enabled:
        return tuple(ConceptLine(line.description, line.quantity, line.amount) for line in sale.lines)
    # One generic concept per distinct tax treatment: a concept cannot carry two IVA rates.
    groups: dict[tuple, Decimal] = {}
    for line in sale.lines:
        groups[line.taxes] = groups.get(line.taxes, Decimal(0)) + line.amount
    return tuple(ConceptLine(merchant.generic_description or "", Decimal(1), cents(v)) for v in groups.values())


async def lookup_ticket(
    services: Services, company_number: str, reference: str, total: Decimal, client: str, challenge: str | None = None,
) -> LookupResult:
    """``challenge``: a solved TicketChallenge (ALTCHA payload), needed once this company's
    burst of failed lookups is spent."""
    now = datetime.now(UTC)
    company_number = company_number.strip()[:20]
    per_client, per_client_company, per_company = lookup_keys(client, company_number)
    limits = services.throttle.limits
    purpose = f"ticket:{company_number}"
    solved = bool(challenge) and await services.challenges.redeem(services.throttle, challenge, purpose, now)
    # Counted before it is answered, in one step with the check: even the right data waits
    # while this client is blocked (that is what stops guessing), and a burst of concurrent
    # guesses cannot all pass on the same old count. The company's own counter never
    # refuses anybody (an attacker could lock every customer out); past its burst, a
    # solved challenge is the price of each lookup.
    hard = {per_client: limits.per_client, per_client_company: limits.per_client_company}
    burst = (per_company, limits.company_burst)
    # Not an amount a ticket can have (1e309, 39 digits, 3 decimals, <= 0): it matches no
    # ticket and is counted like any failed guess, alike for every reference. Comparing
    # such a total with a found ticket raised (cents() overflows), which told existing
    # references from unknown ones.
    total_cents = to_cents(total) if is_money(total) else None
    key = reference_key(reference)[:200]
    found: FoundTicket | None
    if services.throttle.in_database:
        # One statement reads the ticket and counts the attempt unless the ticket was
        # found (the right data is no guess: the counters are then only read): one round
        # trip on PostgreSQL, nothing to refund (issue 16).
        found, rows = await services.tickets.counted_ticket(
            company_number, key, total_cents, attempt_keys(hard, burst), now, services.throttle.window)
        hits = {h.key: h for h in hits_from_rows(rows, now, services.throttle.window)}
        if found is not None:  # decided as if counted, like every attempt
            hits = {k: Hit(k, h.count + 1, h.retry_after) for k, h in hits.items()}
        admission, refund = decide(hits, hard=hard, burst=burst, solved=solved)
        if refund and found is None:
            await services.throttle.refund(refund, now)
    else:
        admission = await admit(services.throttle, now, hard=hard, burst=burst, solved=solved)
        found = None
        if isinstance(admission, Admitted):
            found = await services.tickets.ticket(company_number, key, total_cents)
            if found is not None:
                await services.throttle.refund(admission.keys, now)  # the right data is no guess
    match admission:
        case Refused(retry_after=wait):
            return TicketNotFound(wait_message(wait), retry_after_seconds=wait)
        case ChallengeRequired():
            return TicketChallenge(services.challenges.create(purpose, now),
                                   CHALLENGE_FAILED_MESSAGE if challenge else CHALLENGE_MESSAGE)
        case Admitted():
            pass
    if found is None:
        return TicketNotFound(NOT_FOUND_MESSAGE)  # the attempt stays counted: a failed guess
    sale_row, merchant_row, invoice = found.sale, found.merchant, found.invoice
    if invoice is not None and invoice.status != DocumentStatus.PENDING:
        return already_invoiced(invoice)
    sale, merchant = sale_from_row(sale_row), merchant_from_row(merchant_row)
    refusal = policy.refusal(sale, merchant, now)
    if refusal is not None:
        return not_invoiceable(refusal)
    token, _ = services.tokens.issue(TICKET, str(sale.id), services.ticket_token_ttl, m=merchant.id)
    return Invoiceable(
        reference=sale.reference,
        total=sale.total,
        sold_at=sale.sold_at,
        deadline=policy.deadline(sale.sold_at, merchant),
        concepts=concept_preview(sale, merchant),
        ticket_token=token,
        merchant_name=merchant.legal_name,
    )


async def portal_page(services: Services, company_number: str, client: str) -> Merchant | None | PortalRefused:
    """The merchant behind a company number, or None. Unknown numbers count against the
    address's lookup limit (the same counter as failed ticket lookups), so company numbers
    cannot be enumerated; a known one is not counted."""
    now = datetime.now(UTC)
    per_client, _, _ = lookup_keys(client, "")
    admission = await admit(services.throttle, now, hard={per_client: services.throttle.limits.per_client})
    match admission:
        case Refused(retry_after=wait):
            return PortalRefused(wait_message(wait), wait)
        case ChallengeRequired():
            raise AssertionError("no burst limit was given")
        case Admitted():
            pass
    merchant = await merchants.get_by_company_number(services.uow_factory, company_number.strip())
    if merchant is not None:
        await services.throttle.refund(admission.keys, now)
    return merchant
