"""Portal queries: a merchant's public face and the ticket lookup (anonymous callers)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Optional, assert_never

import strawberry

from schema.context import Info
from schema.errors import PublicError
from schema.portal import types as t
from services.portal import lookup, results


def lookup_to_gql(result: results.LookupResult | results.NotInvoiceable | results.AlreadyInvoiced) -> t.TicketLookup:
    match result:
        case results.Invoiceable():
            return t.InvoiceableTicket(
                reference=result.reference,
                total=result.total,
                sold_at=result.sold_at,
                deadline=result.deadline,
                concepts=[t.ConceptPreview(description=c.description, quantity=c.quantity, amount=c.amount)
                          for c in result.concepts],
                ticket_token=result.ticket_token,
                merchant_name=result.merchant_name,
            )
        case results.AlreadyInvoiced():
            return t.TicketAlreadyInvoiced(invoiced_at=result.invoiced_at, masked_rfc=result.masked_rfc, message=result.message)
        case results.NotInvoiceable():
            return t.TicketNotInvoiceable(reason=t.NotInvoiceableReason(result.reason.value), deadline=result.deadline,
                                          message=result.message)
        case results.TicketNotFound():
            return t.TicketNotFound(message=result.message, retry_after_seconds=result.retry_after_seconds)
        case results.TicketChallenge():
            return t.TicketChallenge(challenge=result.challenge, message=result.message)
        case _:
            assert_never(result)


@strawberry.type
class PortalQuery:
    @strawberry.field(description="Public face of a merchant's portal; null when the company number is unknown.")
    async def portal(self, info: Info, company_number: str) -> Optional[t.Portal]:
        merchant = await lookup.portal_page(info.context.services, company_number, info.context.client_address)
        if isinstance(merchant, results.PortalRefused):
            raise PublicError(merchant.message, "TOO_MANY_REQUESTS", retryAfterSeconds=merchant.retry_after_seconds)
        if merchant is None:
            return None
        return t.Portal(
            company_number=merchant.company_number,
            merchant_name=merchant.legal_name,
            self_invoicing_enabled=merchant.self_invoicing_enabled,
            merchant_id=merchant.id,
        )

    @strawberry.field(
        description="Find a sale ticket by the three data printed on it. Unknown company, unknown reference and wrong total answer alike."
    )
    async def ticket(
        self, info: Info, company_number: str, reference: str, total: Decimal,
        challenge: Annotated[Optional[str], strawberry.argument(description="A solved TicketChallenge: the ALTCHA payload (base64)")] = None,
    ) -> t.TicketLookup:
        ctx = info.context
        return lookup_to_gql(await lookup.lookup_ticket(ctx.services, company_number, reference, total, ctx.client_address, challenge))
