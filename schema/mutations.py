"""Mutation resolvers: parse input, call one service function, map the result (match +
assert_never: an unmapped result is a type error, never a silent fallback)."""
from __future__ import annotations

from typing import Annotated, Optional, assert_never

import strawberry

from schema import types as t
from schema.context import Info
from schema.fields import to_field_errors
from schema.permissions import HasTicketToken, IsMerchant
from schema.queries import current_merchant, lookup_to_gql
from services.cancellation import service as cancellation
from services.global_invoice import service as global_invoice
from services.invoicing.issuing import StampFailed
from services.kernel.results import Invalid
from services.kernel.types import Customer
from services.merchants import service as merchants
from services.merchants.models import Merchant
from services.portal import issue, results
from services.sales import service as sales
from services.sales import validation
from schema.errors import PublicError


def _stamping_failed(failure: StampFailed | cancellation.CancellationFailed) -> t.StampingFailed:
    return t.StampingFailed(message=failure.message, retryable=failure.retryable)


def _merchant_or_gone(result: Merchant | None) -> Merchant:
    if result is None:
        raise PublicError("El comercio de este token ya no existe.", "UNAUTHENTICATED")
    return result


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def login(
        self, info: Info, email: str, password: str,
        challenge: Annotated[Optional[str], strawberry.argument(description="A solved LoginChallenge: the ALTCHA payload (base64)")] = None,
    ) -> t.LoginResult:
        services = info.context.services
        session = await merchants.login(
            services.uow_factory, services.tokens, email, password, services.merchant_token_ttl,
            throttle=services.throttle, client=info.context.client_address, challenges=services.challenges,
            challenge=challenge,
        )
        match session:
            case merchants.LoginRefused():
                return t.InvalidCredentials(message=session.message, retry_after_seconds=session.retry_after_seconds)
            case merchants.LoginChallenge():
                return t.LoginChallenge(challenge=session.challenge, message=session.message)
            case merchants.Session():
                return t.LoginSucceeded(token=session.token, expires_at=session.expires_at)
            case _:
                assert_never(session)

    @strawberry.mutation(permission_classes=[HasTicketToken])
    async def issue_invoice(self, info: Info, input: t.IssueInvoiceInput) -> t.IssueInvoiceResult:
        ctx = info.context
        c = input.customer
        customer = Customer(
            rfc=c.rfc, legal_name=c.legal_name, zip_code=c.zip_code, tax_regime=c.tax_regime,
            cfdi_use=c.cfdi_use, email=c.email or None,
        )
        outcome = await issue.issue_invoice(ctx.services, ctx.require("ticket").claims, customer, input.idempotency_key)
        match outcome:
            case results.Issued():
                return t.InvoiceIssued(invoice=t.to_invoice(outcome.invoice), access_token=outcome.access_token)
            case Invalid(problems=problems):
                return t.InvalidCustomerData(errors=to_field_errors(problems))
            case StampFailed():
                return _stamping_failed(outcome)
            case results.AlreadyInvoiced() | results.NotInvoiceable():
                return lookup_to_gql(outcome)
            case _:
                assert_never(outcome)

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def set_self_invoicing(self, info: Info, enabled: bool) -> t.SelfInvoicingSettings:
        ctx = info.context
        merchant = await merchants.set_self_invoicing(ctx.services.uow_factory, ctx.merchant_id, enabled)
        return t.to_settings(_merchant_or_gone(merchant))

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def update_self_invoicing_settings(self, info: Info, input: t.SelfInvoicingSettingsInput) -> t.UpdateSettingsResult:
        ctx = info.context
        result = await merchants.update_settings(
            ctx.services.uow_factory, ctx.merchant_id,
            month_end_limit=input.month_end_limit, deadline_days=input.deadline_days,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case _:
                return t.to_settings(_merchant_or_gone(result))

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def update_generic_concept(self, info: Info, input: t.GenericConceptInput) -> t.UpdateGenericConceptResult:
        ctx = info.context
        result = await merchants.update_generic_concept(
            ctx.services.uow_factory, ctx.merchant_id, enabled=input.enabled,
            product_key=input.product_key, unit_key=input.unit_key, description=input.description,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case _:
                return t.to_generic_concept(_merchant_or_gone(result))

    @strawberry.mutation(permission_classes=[IsMerchant])
    async def record_sale(self, info: Info, input: t.RecordSaleInput) -> t.RecordSaleResult:
        merchant = await current_merchant(info)
        sale = validation.SaleInput(
            reference=input.reference,
            sold_at=input.sold_at,
            payment_form=input.payment_form,
            customer_email=input.customer_email,
            lines=tuple(
                validation.RawLine(
                    product_key=l.product_key, unit_key=l.unit_key, description=l.description,
                    quantity=l.quantity, unit_price=l.unit_price,
                    taxes=None if l.taxes is None else tuple(
                        validation.RawTax(x.type, x.rate, bool(x.exempt)) for x in l.taxes
                    ),
                )
                for l in input.lines[: validation.MAX_LINES + 1]
            ),
        )
        result = await sales.record_sale(info.context.services, merchant, sale)
        match result:
            case Invalid(problems=problems):
                return t.InvalidSale(errors=to_field_errors(problems))
            case sales.Recorded():
                listing = sales.SaleListing(result.sale, None, result.invoicing)
                return t.SaleRecorded(sale=t.to_sale(listing), created=result.created)
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[IsMerchant], description="Void a sale (a return): its ticket can no longer be invoiced.")
    async def cancel_sale(self, info: Info, id: strawberry.ID) -> t.CancelSaleResult:
        merchant = await current_merchant(info)
        if not str(id).isdigit():
            return t.InvalidSale(errors=[t.FieldError(field="id", code="NOT_FOUND", message="No existe esa venta.",
                                                      error_code=t.ErrorCode("NOT_FOUND"))])
        result = await sales.cancel_sale(info.context.services, merchant, int(id))
        match result:
            case Invalid(problems=problems):
                return t.InvalidSale(errors=to_field_errors(problems))
            case sales.SaleListing():
                return t.SaleCancelled(sale=t.to_sale(result))
            case _:
                assert_never(result)

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
        match outcome:
            case cancellation.Cancelled():
                return t.InvoiceCancelled(invoice=t.to_invoice(outcome.invoice))
            case Invalid(problems=problems):
                return t.InvalidCancellation(errors=to_field_errors(problems))
            case cancellation.CancellationFailed():
                return _stamping_failed(outcome)
            case _:
                assert_never(outcome)

    @strawberry.mutation(
        permission_classes=[IsMerchant],
        description="Issue (or return) the factura global to público en general for a period's tickets nobody self-invoiced.",
    )
    async def issue_global_invoice(self, info: Info, input: t.GlobalInvoiceInput) -> t.IssueGlobalInvoiceResult:
        ctx = info.context
        outcome = await global_invoice.issue_global_invoice(
            ctx.services, ctx.merchant_id, input.periodicity, input.months, input.year
        )
        match outcome:
            case global_invoice.GlobalIssued():
                return t.GlobalInvoiceIssued(
                    global_invoice=t.to_global_invoice(outcome.invoice),
                    included_sales=outcome.included,
                    left_out_sales=outcome.left_out,
                )
            case Invalid(problems=problems):
                return t.InvalidGlobalInvoice(errors=to_field_errors(problems))
            case global_invoice.NothingToInvoice():
                return t.NothingToInvoice(message=outcome.message, left_out_sales=outcome.left_out)
            case StampFailed():
                return _stamping_failed(outcome)
            case _:
                assert_never(outcome)
