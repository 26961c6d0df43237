"""Query resolvers: parse input, call one service function, map to a Strawberry type."""
from __future__ import annotations

from decimal import Decimal
from typing import Optional

import strawberry
from strawberry.types import Info

from schema import types as t
from schema.permissions import IsMerchant
from services import catalogs, global_invoice, merchants, portal
from services import sales as sales_service
from services.errors import Forbidden, ValidationFailed
from schema.errors import PublicError

MAX_PAGE = sales_service.MAX_PAGE


def _page_size(first: int | None) -> int:
    if first is None:
        return 50
    if first < 1 or first > MAX_PAGE:
        raise PublicError(f"first debe estar entre 1 y {MAX_PAGE}.", "BAD_REQUEST")
    return first


async def _fetch_page(fetch, first: int | None, after: str | None):
    """Call a service's page function; a bad cursor is the client's error, not a bug."""
    try:
        return await fetch(_page_size(first), after)
    except ValidationFailed as exc:
        raise PublicError(exc.problems[0].message, "BAD_REQUEST") from None


def _page_info(edges: list, has_next: bool) -> t.PageInfo:
    return t.PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)


@strawberry.type
class Query:
    @strawberry.field(description="Public face of a merchant's portal; null when the company number is unknown.")
    async def portal(self, info: Info, company_number: str) -> Optional[t.Portal]:
        merchant = await merchants.get_by_company_number(info.context.services.uow_factory, company_number.strip())
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
    async def ticket(self, info: Info, company_number: str, reference: str, total: Decimal) -> t.TicketLookup:
        ctx = info.context
        result = await portal.lookup_ticket(ctx.services, company_number, reference, total, ctx.client_address)
        return portal_result_to_gql(result)

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
        try:
            view = await portal.read_invoice(ctx.services, principal.audience, principal.subject, str(id))
        except Forbidden as exc:
            raise PublicError(str(exc), "FORBIDDEN") from None
        if view is None:
            return None
        return t.to_invoice(view.row, view.xml_url, view.pdf_url)

    @strawberry.field(permission_classes=[IsMerchant])
    async def me(self, info: Info) -> t.Merchant:
        ctx = info.context
        return t.to_merchant(await merchants.get_merchant(ctx.services.uow_factory, ctx.merchant_id))

    @strawberry.field(permission_classes=[IsMerchant], description="Newest first; first is capped at 100.")
    async def sales(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.SaleConnection:
        ctx = info.context
        services = ctx.services
        merchant = await merchants.get_merchant(services.uow_factory, ctx.merchant_id)
        rows, has_next, invoices = await _fetch_page(
            lambda n, cursor: sales_service.list_sales(services.uow_factory, merchant.id, n, cursor), first, after)
        edges = [
            t.SaleEdge(
                node=t.to_sale(
                    row, merchant.company_number, services.public_url,
                    t.to_invoice(invoices[row.id]) if row.id in invoices else None,
                ),
                cursor=sales_service.encode_cursor(row.sold_at, row.id),
            )
            for row in rows
        ]
        return t.SaleConnection(edges=edges, page_info=_page_info(edges, has_next))

    @strawberry.field(permission_classes=[IsMerchant], description="Newest first; first is capped at 100.")
    async def invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.InvoiceConnection:
        ctx = info.context
        rows, has_next = await _fetch_page(
            lambda n, cursor: portal.list_invoices(ctx.services, ctx.merchant_id, n, cursor), first, after)
        edges = [
            t.InvoiceEdge(
                node=t.to_invoice(view.row, view.xml_url, view.pdf_url),
                cursor=sales_service.encode_cursor(view.row.created_at, view.row.id),
            )
            for view in rows
        ]
        return t.InvoiceConnection(edges=edges, page_info=_page_info(edges, has_next))

    @strawberry.field(permission_classes=[IsMerchant], description="The merchant's facturas globales, newest first; first is capped at 100.")
    async def global_invoices(self, info: Info, first: Optional[int] = 50, after: Optional[str] = None) -> t.GlobalInvoiceConnection:
        ctx = info.context
        rows, has_next = await _fetch_page(
            lambda n, cursor: global_invoice.list_global_invoices(ctx.services, ctx.merchant_id, n, cursor), first, after)
        edges = [
            t.GlobalInvoiceEdge(
                node=t.to_global_invoice(view.row, view.xml_url, view.pdf_url),
                cursor=sales_service.encode_cursor(view.row.created_at, view.row.id),
            )
            for view in rows
        ]
        return t.GlobalInvoiceConnection(edges=edges, page_info=_page_info(edges, has_next))


def portal_result_to_gql(result):
    if isinstance(result, portal.Invoiceable):
        return t.InvoiceableTicket(
            reference=result.reference,
            total=result.total,
            sold_at=result.sold_at,
            deadline=result.deadline,
            concepts=[t.ConceptPreview(description=c.description, quantity=c.quantity, amount=c.amount) for c in result.concepts],
            ticket_token=result.ticket_token,
            merchant_name=result.merchant_name,
        )
    if isinstance(result, portal.AlreadyInvoiced):
        return t.TicketAlreadyInvoiced(invoiced_at=result.invoiced_at, masked_rfc=result.masked_rfc, message=result.message)
    if isinstance(result, portal.NotInvoiceable):
        return t.TicketNotInvoiceable(reason=t.NotInvoiceableReason(result.reason), deadline=result.deadline, message=result.message)
    return t.TicketNotFound(message=result.message, retry_after_seconds=result.retry_after_seconds)
