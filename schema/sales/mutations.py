"""Sales mutations: the point of sale records and voids sales (merchant token)."""
from __future__ import annotations

from typing import assert_never

import strawberry

from schema.context import Info
from schema.fields import ErrorCode, FieldError, to_field_errors
from schema.merchants.queries import current_merchant
from schema.permissions import CanWriteSales
from schema.sales import types as t
from services.kernel.ids import parse_row_id
from services.kernel.results import Invalid
from services.sales import service as sales
from services.sales import validation

MAX_BATCH = 200  # recordSales inputs per call (CONVENTIONS 10: lists are capped)


def _sale_input(input: t.RecordSaleInput) -> validation.SaleInput:
    return validation.SaleInput(
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


@strawberry.type
class SalesMutation:
    @strawberry.mutation(permission_classes=[CanWriteSales])
    async def record_sale(self, info: Info, input: t.RecordSaleInput) -> t.RecordSaleResult:
        merchant = await current_merchant(info)
        result = await sales.record_sale(info.context.services, merchant, _sale_input(input))
        match result:
            case Invalid(problems=problems):
                return t.InvalidSale(errors=to_field_errors(problems))
            case sales.Recorded():
                listing = sales.SaleListing(result.sale, None, result.invoicing)
                return t.SaleRecorded(sale=t.to_sale(listing), created=result.created)
            case _:
                assert_never(result)

    @strawberry.mutation(
        permission_classes=[CanWriteSales],
        description=f"Record up to {MAX_BATCH} sales at once (a point of sale syncing its offline tickets). Each is "
        "recorded on its own and idempotent by reference, so a retried batch records nothing twice.",
    )
    async def record_sales(self, info: Info, inputs: list[t.RecordSaleInput]) -> t.RecordSalesResult:
        if len(inputs) > MAX_BATCH:
            return t.InvalidSale(errors=[FieldError(
                field="inputs", code="TOO_MANY", message=f"Envía como máximo {MAX_BATCH} ventas por llamada.",
                error_code=ErrorCode("TOO_MANY"))])
        merchant = await current_merchant(info)
        results: list[t.SaleRecorded | t.InvalidSale] = []
        created = replayed = refused = 0
        for item in inputs:
            result = await sales.record_sale(info.context.services, merchant, _sale_input(item))
            match result:
                case Invalid(problems=problems):
                    refused += 1
                    results.append(t.InvalidSale(errors=to_field_errors(problems)))
                case sales.Recorded():
                    created, replayed = created + result.created, replayed + (not result.created)
                    listing = sales.SaleListing(result.sale, None, result.invoicing)
                    results.append(t.SaleRecorded(sale=t.to_sale(listing), created=result.created))
                case _:
                    assert_never(result)
        return t.SalesRecorded(results=results, created=created, replayed=replayed, refused=refused)

    @strawberry.mutation(permission_classes=[CanWriteSales], description="Void a sale (a return): its ticket can no longer be invoiced.")
    async def cancel_sale(self, info: Info, id: strawberry.ID) -> t.CancelSaleResult:
        merchant = await current_merchant(info)
        sale_id = parse_row_id(str(id))  # "²" and 26 digits name no sale (were "Error interno")
        if sale_id is None:
            return t.InvalidSale(errors=[FieldError(field="id", code="NOT_FOUND", message="No existe esa venta.",
                                                    error_code=ErrorCode("NOT_FOUND"))])
        result = await sales.cancel_sale(info.context.services, merchant, sale_id)
        match result:
            case Invalid(problems=problems):
                return t.InvalidSale(errors=to_field_errors(problems))
            case sales.SaleListing():
                return t.SaleCancelled(sale=t.to_sale(result))
            case _:
                assert_never(result)
