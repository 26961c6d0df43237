"""Bench-only ASGI app: the production app plus one bare Starlette route (never shipped).

    uvicorn bench.server:app

`POST /bench/ticket` with JSON {"c": company number, "r": reference, "t": total} does the
same database work as services.portal.lookup.lookup_ticket (the throttle counters counted
and checked in one statement, then `uow.sales.ticket_with_invoice(company, reference_key)`,
then the refund of a successful lookup) and answers
JSON: the baseline the GraphQL `ticket` query is compared with (the GraphQL overhead
ratio). It skips the policy check, the concept preview and the ticket token, which is why
it is a floor, not an equivalent.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from services.kernel.money import from_cents
from services.sales.ticket import reference_key
from services.kernel.money import cents
from services.kernel.throttle import Admitted, admit, lookup_keys

app = create_app()
services = app.state.services


async def bare_ticket(request: Request) -> JSONResponse:
    body = await request.json()
    company, reference = str(body["c"]).strip(), str(body["r"])
    now = datetime.now(UTC)
    # The same database work as the GraphQL path: the throttle counters (counted and
    # checked in one statement), the ticket, and the refund of a successful lookup.
    limits = services.throttle.limits
    per_client, per_client_company, per_company = lookup_keys(request.client.host, company)
    admission = await admit(
        services.throttle, now, hard={per_client: limits.per_client, per_client_company: limits.per_client_company},
        burst=(per_company, limits.company_burst),
    )
    if not isinstance(admission, Admitted):
        return JSONResponse({"__typename": "TicketNotFound"})
    async with services.uow_factory() as uow:
        found = await uow.sales.ticket_with_invoice(company, reference_key(reference))
    if found is None or from_cents(found[0].total_cents) != cents(Decimal(str(body["t"]))):
        return JSONResponse({"__typename": "TicketNotFound"})
    await services.throttle.refund(admission.keys, now)
    sale, merchant, invoice = found
    if invoice is not None and invoice.status != "PENDING":
        return JSONResponse({"__typename": "TicketAlreadyInvoiced"})
    return JSONResponse({"__typename": "InvoiceableTicket", "reference": sale.reference,
                         "total": str(from_cents(sale.total_cents)), "merchant": merchant.legal_name})


app.router.routes.insert(0, Route("/bench/ticket", bare_ticket, methods=["POST"]))

