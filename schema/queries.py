"""Query resolvers: parse input, call one service function, map the result (match +
assert_never: an unmapped result is a type error, never a silent fallback)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Optional, assert_never

import strawberry

from schema import types as t
from schema.context import Info
from schema.errors import PublicError
from schema.pagination import page_info, page_or_error, page_size
from schema.permissions import IsMerchant
from services import catalogs
from services.invoicing import service as invoicing
from services.invoicing.views import InvoiceView
from services.kernel.results import Forbidden, NotFound
from services.merchants import service as merchants
from services.merchants.models import Merchant
from services.portal import lookup, results
from services.portal.issue import read_invoice
from services.sales import service as sales


async def current_merchant(info: Info) -> Merchant:
    ctx = info.context
    merchant = await merchants.get_merchant(ctx.services.uow_factory, ctx.merchant_id)
    if merchant is None:
        raise PublicError("El comercio de este token ya no existe.", "UNAUTHENTICATED")
    return merchant


def lookup_to_gql(result: results.LookupResult | results.NotInvoiceable | results.AlreadyInvoiced):
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
class Query:
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

    @strawberry.field(description="SAT régimenes fiscales, optionally only those valid for a person type.")
    def tax_regimes(self, person_type: Optional[t.PersonType] = None) -> list[t.CatalogEntry]:
        entries = catalogs.tax_regimes(person_type.value if person_type else None)
        return [t.CatalogEntry(code=e.code, description=e.description) for e in entries]

    @strawberry.field(description="SAT usos del CFDI valid for that régimen (and person type), as the SAT matrix allows.")
    def cfdi_uses(self, tax_regime: str, person_type: Optional[t.PersonType] = None) -> list[t.CatalogEntry]:
        entries = catalogs.cfdi_uses(tax_regime, person_type.value if person_type else None)
        return [t.CatalogEntry(code=e.code, description=e.description) for e in entries]

    @strawberry.field(description="SAT formas de pago (c_FormaPago), for the point of sale.")
    def payment_forms(self) -> list[t.CatalogEntry]:
        return [t.CatalogEntry(code=e.code, description=e.description) for e in catalogs.payment_forms()]

    @strawberry.field(description="Invoice token for that invoice, or the owning merchant's token.")
    async def invoice(self, info: Info, id: strawberry.ID) -> Optional[t.Invoice]:
        ctx = info.context
        principal = ctx.principal
        if principal is None:
            raise PublicError("Esta operación requiere un token de factura o de comercio.", "FORBIDDEN")
        result = await read_invoice(ctx.services, principal.audience, principal.subject, str(id))
        match result:
            case InvoiceView():
                return t.to_invoice(result)
            case NotFound():
                return None
            case Forbidden(message=message):
                raise PublicError(message, "FORBIDDEN")
            case _:
                assert_never(result)

    @strawberry.field(permission_classes=[IsMerchant])
    async def me(self, info: Info) -> t.Merchant:
        return t.to_merchant(await current_merchant(info))

    @strawberry.field(permission_classes=[IsMerchant], description="Newest first; first is capped at 100.")
    async def sales(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.SaleConnection:
        merchant = await current_merchant(info)
        page = page_or_error(await sales.list_sales(info.context.services, merchant, page_size(first), after))
        edges = [t.SaleEdge(node=t.to_sale(e.node), cursor=e.cursor) for e in page.edges]
        return t.SaleConnection(edges=edges, page_info=page_info(page))

    @strawberry.field(permission_classes=[IsMerchant], description="Newest first; first is capped at 100.")
    async def invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.InvoiceConnection:
        ctx = info.context
        page = page_or_error(await invoicing.list_invoices(ctx.services, ctx.merchant_id, page_size(first), after))
        edges = [t.InvoiceEdge(node=t.to_invoice(e.node), cursor=e.cursor) for e in page.edges]
        return t.InvoiceConnection(edges=edges, page_info=page_info(page))

    @strawberry.field(permission_classes=[IsMerchant], description="The merchant's facturas globales, newest first; first is capped at 100.")
    async def global_invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.GlobalInvoiceConnection:
        ctx = info.context
        page = page_or_error(await invoicing.list_global_invoices(ctx.services, ctx.merchant_id, page_size(first), after))
        edges = [t.GlobalInvoiceEdge(node=t.to_global_invoice(e.node), cursor=e.cursor) for e in page.edges]
        return t.GlobalInvoiceConnection(edges=edges, page_info=page_info(page))
