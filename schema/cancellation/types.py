"""Strawberry types of cancelling a self-invoice with SAT (c_MotivoCancelacion 01-04)."""
from __future__ import annotations

from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from schema.invoicing.types import Invoice, StampingFailed


@strawberry.input
class CancelInvoiceInput:
    id: strawberry.ID = strawberry.field(description="The invoice's id (Invoice.id)")
    reason: str = strawberry.field(
        description="SAT c_MotivoCancelacion: 01 errores con relación (needs replacementUuid), 02 errores sin "
        "relación, 03 no se llevó a cabo la operación, 04 operación nominativa relacionada en una factura global"
    )
    replacement_uuid: Optional[str] = strawberry.field(
        default=None, description="Only with reason 01: UUID of another ISSUED invoice of the merchant that replaces this one"
    )


@strawberry.type
class InvoiceCancelled:
    invoice: Invoice = strawberry.field(
        description="CANCELLED (or CANCELLATION_PENDING while SAT waits for the receptor). With 03 the sale is "
        "cancelled; with 01, 02 or 04 its ticket can be invoiced again (a new folio)."
    )


@strawberry.type
class InvalidCancellation:
    errors: list[FieldError]


CancelInvoiceResult = Annotated[
    Union[InvoiceCancelled, InvalidCancellation, StampingFailed],
    strawberry.union("CancelInvoiceResult"),
]
