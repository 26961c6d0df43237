"""recoverInvoice (issue 15): a customer who lost the invoice's e-mail or link gets it back
with the three data printed on the ticket plus the full RFC the invoice went to.

Throttled exactly like the ticket lookup, on the same counters (services/kernel/throttle.py
lookup_keys): a wrong RFC is a failed guess like a wrong total, and the right data are
refunded. Every way of not matching (unknown company, reference, total, no invoice, another
RFC) answers the same TicketNotFound, so the RFC of somebody else's invoice cannot be
probed; the masked RFC the lookup shows (XAXX0101****0) is not enough to pass.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from services.cfdi.rules import normalize_rfc
from services.kernel.container import Services
from services.kernel.money import cents, from_cents
from services.kernel.throttle import Admitted, ChallengeRequired, Refused, admit, lookup_keys, wait_message
from services.portal.issue import _issued
from services.portal.results import Issued, TicketNotFound
from services.sales.ticket import reference_key

NOT_FOUND_MESSAGE = (
    "No encontramos una factura con esos datos. Revisa el número de comercio, la referencia y el total "
    "como aparecen en tu ticket, y el RFC completo con el que facturaste."
)


async def recover_invoice(
    services: Services, company_number: str, reference: str, total: Decimal, rfc: str, client: str,
) -> Issued | TicketNotFound:
    now = datetime.now(UTC)
    company_number = company_number.strip()[:20]
    per_client, per_client_company, _ = lookup_keys(client, company_number)
    limits = services.throttle.limits
    # Counted before it is answered (as the lookup): even the right data wait while this
    # address is blocked. Only the per-address limits: the company's shared counter asks
    # for a challenge in the lookup, and the lookup is where a customer solves it.
    admission = await admit(services.throttle, now,
                            hard={per_client: limits.per_client, per_client_company: limits.per_client_company})
    match admission:
        case Refused(retry_after=wait):
            return TicketNotFound(wait_message(wait), retry_after_seconds=wait)
        case ChallengeRequired():
            raise AssertionError("no burst limit was given")
        case Admitted():
            pass
    wanted = normalize_rfc(rfc or "")
    async with services.uow_factory() as uow:
        found = await uow.sales.ticket_with_invoice(company_number, reference_key(reference)[:200])
        invoice = None
        if found is not None and from_cents(found[0].total_cents) == cents(total) and found[0].id is not None:
            invoice = await uow.invoices.by_receptor(found[1].id or 0, found[0].id, wanted)
    if invoice is None:
        return TicketNotFound(NOT_FOUND_MESSAGE)  # the attempt stays counted: a failed guess
    await services.throttle.refund(admission.keys, now)
    return _issued(services, invoice)
