"""Bench-only ASGI app: the production app plus one bare Starlette route (never shipped).

    uvicorn bench.server:app

`POST /bench/ticket` with JSON {"c": company number, "r": reference, "t": total} does the
same repository lookup as services.portal.lookup_ticket (`uow.sales.ticket(company,
reference_key)` then `uow.invoices.by_sale`) and answers JSON: the baseline the GraphQL
`ticket` query is compared with (the GraphQL overhead ratio). It skips the throttle, the
policy check and the ticket token, which is why it is a floor, not an equivalent.
"""
from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from services import sales as sales_service
from services.money import cents

app = create_app()
services = app.state.services


async def bare_ticket(request: Request) -> JSONResponse:
    body = await request.json()
    company, reference = str(body["c"]).strip(), str(body["r"])
    async with services.uow_factory() as uow:
        found = await uow.sales.ticket(company, sales_service.reference_key(reference))
        invoice = await uow.invoices.by_sale(found[0].id) if found else None
    if found is None or sales_service.total_of(found[0]) != cents(Decimal(str(body["t"]))):
        return JSONResponse({"__typename": "TicketNotFound"})
    sale, merchant = found
    if invoice is not None and invoice.status != "PENDING":
        return JSONResponse({"__typename": "TicketAlreadyInvoiced"})
    return JSONResponse({"__typename": "InvoiceableTicket", "reference": sale.reference,
                         "total": str(sales_service.total_of(sale)), "merchant": merchant.legal_name})


app.router.routes.insert(0, Route("/bench/ticket", bare_ticket, methods=["POST"]))


def _stable_rules_schema():
    """The schema as schema/app_schema.build_schema makes it, with the one change the
    profile asks for (recommended in BENCHMARKS.md, measured here as a variant only):
    QueryDepthLimiter and MaxAliasesLimiter build a new rule *class* per instance, and as
    per-request factories they give ValidationCache a new cache key on every request, so it
    never hits. Building the rules once and adding them with one AddValidationRules keeps
    the key stable."""
    import strawberry
    from strawberry.extensions import (AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, ParserCache,
                                       QueryDepthLimiter, ValidationCache)
    from strawberry.schema.config import StrawberryConfig

    from api.settings import get_settings
    from schema.errors import mask_errors
    from schema.mutations import Mutation
    from schema.queries import Query
    from schema.scalars import SCALAR_MAP

    s = get_settings()
    rules = [*QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=s.max_aliases).validation_rules]
    extensions = [
        lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        mask_errors,
    ]
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions,
                             config=StrawberryConfig(scalar_map=SCALAR_MAP))


if __import__("os").environ.get("BENCH_SCHEMA") == "stable-rules":
    for route in app.router.routes:
        if getattr(route, "path", None) == "/graphql":
            route.endpoint.schema = _stable_rules_schema()
