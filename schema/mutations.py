"""Mutation resolvers: parse input, call one service function, map the result."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema import types as t
from schema.permissions import HasTicketToken, IsMerchant
from schema.queries import portal_result_to_gql
from services import cancellation, global_invoice, merchants, portal
from services import sales as sales_service
from services.errors import ValidationFailed
from services.types import Customer

@strawberry.type
class Mutation:
    @strawberry.mutation
    async def login(self, info: Info, email: str, password: str) -> t.LoginResult:
        services = info.context.services
        session = await merchants.login(
            services.uow_factory, services.tokens, email, password, services.merchant_token_ttl,
            throttle=services.throttle, client=info.context.client_address,
        )
        if isinstance(session, merchants.LoginRefused):
            return t.InvalidCredentials(message=session.message, retry_after_seconds=session.retry_after_seconds)
        return t.LoginSucceeded(token=session.token, expires_at=session.expires_at)

    @strawberry.mutation(permission_classes=[HasTicketToken])
    async def issue_invoice(self, info: Info, input: t.IssueInvoiceInput) -> t.IssueInvoiceResult:
        ctx = info.context
        c = input.customer
        customer = Customer(
            rfc=c.rfc, legal_name=c.legal_name, zip_code=c.zip_code, tax_regime=c.tax_regime,
            cfdi_use=c.cfdi_use, email=c.email or None,
        )
        outcome = await portal.issue_invoice(ctx.services, ctx.require("ticket").claims, customer, input.idempotency_key)
        if isinstance(outcome, portal.Issued):
            return t.InvoiceIssued(
                invoice=t.to_invoice(outcome.view.row, outcome.view.xml_url, outcome.view.pdf_url),
                access_token=outcome.access_token,
            )
        if isinstance(outcome, portal.InvalidCustomer):
            return t.InvalidCustomerData(errors=t.to_field_errors(outcome.problems))
        if isinstance(outcome, portal.StampFailed):
            return t.StampingFailed(message=outcome.message, retryable=outcome.retryable)
        return portal_result_to_gql(outcome)

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def set_self_invoicing(self, info: Info, enabled: bool) -> t.SelfInvoicingSettings:
        ctx = info.context
        return t.to_settings(await merchants.set_self_invoicing(ctx.services.uow_factory, ctx.merchant_id, enabled))

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def update_self_invoicing_settings(self, info: Info, input: t.SelfInvoicingSettingsInput) -> t.UpdateSettingsResult:
        ctx = info.context
        try:
            row = await merchants.update_settings(
                ctx.services.uow_factory, ctx.merchant_id,
                month_end_limit=input.month_end_limit, deadline_days=input.deadline_days,
            )
        except ValidationFailed as exc:
            return t.InvalidSettings(errors=t.to_field_errors(exc.problems))
        return t.to_settings(row)

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def update_generic_concept(self, info: Info, input: t.GenericConceptInput) -> t.UpdateGenericConceptResult:
        ctx = info.context
        try:
            row = await merchants.update_generic_concept(
                ctx.services.uow_factory, ctx.merchant_id, enabled=input.enabled,
                product_key=input.product_key, unit_key=input.unit_key, description=input.description,
            )
        except ValidationFailed as exc:
            return t.InvalidSettings(errors=t.to_field_errors(exc.problems))
        return t.to_generic_concept(row)

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def record_sale(self, info: Info, input: t.RecordSaleInput) -> t.RecordSaleResult:
        ctx = info.context
        services = ctx.services
        merchant = await merchants.get_merchant(services.uow_factory, ctx.merchant_id)
        sale = sales_service.SaleInput(
            reference=input.reference,
            sold_at=input.sold_at,
            payment_form=input.payment_form,
            customer_email=input.customer_email,
            lines=tuple(
                sales_service.RawLine(
                    product_key=l.product_key, unit_key=l.unit_key, description=l.description,
                    quantity=l.quantity, unit_price=l.unit_price,
                    taxes=None if l.taxes is None else tuple(
                        sales_service.RawTax(x.type, x.rate, bool(x.exempt)) for x in l.taxes
                    ),
                )
                for l in input.lines[: sales_service.MAX_LINES + 1]
            ),
        )
        try:
            recorded = await portal.record_sale_and_notify(services, merchant, sale)
        except ValidationFailed as exc:
            return t.InvalidSale(errors=t.to_field_errors(exc.problems))
        return t.SaleRecorded(
            sale=t.to_sale(recorded.sale, merchant.company_number, services.public_url, None),
            created=recorded.created,
        )

    @strawberry.mutation(permission_classes=[IsMerchant], description="Void a sale (a return): its ticket can no longer be invoiced.")
    async def cancel_sale(self, info: Info, id: strawberry.ID) -> t.CancelSaleResult:
        ctx = info.context
        services = ctx.services
        merchant = await merchants.get_merchant(services.uow_factory, ctx.merchant_id)
        if not str(id).isdigit():
            return t.InvalidSale(errors=[t.FieldError(field="id", code="NOT_FOUND", message="No existe esa venta.")])
        try:
            row = await sales_service.cancel_sale(services.uow_factory, merchant.id, int(id))
        except ValidationFailed as exc:
            return t.InvalidSale(errors=t.to_field_errors(exc.problems))
        return t.SaleCancelled(sale=t.to_sale(row, merchant.company_number, services.public_url, None))

    @strawberry.mutation(
        permission_classes=[IsMerchant],
        description="Cancel a self-invoice with SAT through the PAC (c_MotivoCancelacion 01-04). "
        "Idempotent: an already cancelled invoice is returned as it is.",
    )
    async def cancel_invoice(self, info: Info, input: t.CancelInvoiceInput) -> t.CancelInvoiceResult:
        ctx = info.context
        outcome = await cancellation.cancel_invoice(
            ctx.services, ctx.merchant_id, str(input.id), input.reason, input.replacement_uuid
        )
        if isinstance(outcome, cancellation.Cancelled):
            return t.InvoiceCancelled(invoice=t.to_invoice(outcome.view.row, outcome.view.xml_url, outcome.view.pdf_url))
        if isinstance(outcome, cancellation.InvalidCancellation):
            return t.InvalidCancellation(errors=t.to_field_errors(outcome.problems))
        return t.StampingFailed(message=outcome.message, retryable=outcome.retryable)

    @strawberry.mutation(
        permission_classes=[IsMerchant],
        description="Issue (or return) the factura global to público en general for a period's tickets nobody self-invoiced.",
    )
    async def issue_global_invoice(self, info: Info, input: t.GlobalInvoiceInput) -> t.IssueGlobalInvoiceResult:
        ctx = info.context
        outcome = await global_invoice.issue_global_invoice(
            ctx.services, ctx.merchant_id, input.periodicity, input.months, input.year
        )
        if isinstance(outcome, global_invoice.GlobalIssued):
            return t.GlobalInvoiceIssued(
                global_invoice=t.to_global_invoice(outcome.view.row, outcome.view.xml_url, outcome.view.pdf_url),
                included_sales=outcome.included,
                left_out_sales=outcome.left_out,
            )
        if isinstance(outcome, global_invoice.InvalidGlobal):
            return t.InvalidGlobalInvoice(errors=t.to_field_errors(outcome.problems))
        if isinstance(outcome, global_invoice.NothingToInvoice):
            return t.NothingToInvoice(message=outcome.message, left_out_sales=outcome.left_out)
        return t.StampingFailed(message=outcome.message, retryable=outcome.retryable)
