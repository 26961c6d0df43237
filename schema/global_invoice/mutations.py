"""Factura global mutations: the merchant issues a period's factura global."""
from __future__ import annotations

from typing import assert_never

import strawberry

from schema.context import Info
from schema.fields import to_field_errors
from schema.global_invoice import types as t
from schema.invoicing.types import stamping_failed
from schema.permissions import CanManageGlobalInvoices
from services.global_invoice import service as global_invoice
from services.invoicing.issuing import StampFailed
from services.kernel.results import Invalid


@strawberry.type
class GlobalInvoiceMutation:
    @strawberry.mutation(
        permission_classes=[CanManageGlobalInvoices],
        description="Issue (or return) the factura global to público en general of an ended period: every sale without a CFDI.",
    )
    async def issue_global_invoice(self, info: Info, input: t.GlobalInvoiceInput) -> t.IssueGlobalInvoiceResult:
        ctx = info.context
        outcome = await global_invoice.issue_global_invoice(
            ctx.services, ctx.merchant_id, input.periodicity, input.months, input.year, day=input.day
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
                return stamping_failed(outcome)
            case _:
                assert_never(outcome)
