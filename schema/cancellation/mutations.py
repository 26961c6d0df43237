"""Cancellation mutations: a merchant cancels a self-invoice with SAT through the PAC."""
from __future__ import annotations

from typing import assert_never

import strawberry

from schema.cancellation import types as t
from schema.context import Info
from schema.fields import to_field_errors
from schema.invoicing.types import stamping_failed, to_invoice
from schema.permissions import CanCancelInvoices
from services.cancellation import service as cancellation
from services.kernel.results import Invalid


@strawberry.type
class CancellationMutation:
    @strawberry.mutation(
        permission_classes=[CanCancelInvoices],
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
                return t.InvoiceCancelled(invoice=to_invoice(outcome.invoice))
            case Invalid(problems=problems):
                return t.InvalidCancellation(errors=to_field_errors(problems))
            case cancellation.CancellationFailed():
                return stamping_failed(outcome)
            case _:
                assert_never(outcome)
