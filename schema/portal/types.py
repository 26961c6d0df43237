"""Strawberry types of the customer portal: the ticket lookup and issuing a self-invoice."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.catalogs.types import CatalogEntry
from schema.context import Info
from schema.fields import FieldError
from schema.merchants.types import Branding, to_branding
from services.merchants import branding as branding_service
from schema.invoicing.types import Invoice, StampingFailed


@strawberry.type
class Portal:
    company_number: str
    merchant_name: str
    self_invoicing_enabled: bool
    merchant_id: strawberry.Private[int]

    @strawberry.field(description="The merchant's display name, accent colour and logo for this page")
    async def branding(self, info: Info) -> Optional[Branding]:
        services = info.context.services
        found = await branding_service.get_branding(services.uow_factory, self.merchant_id)
        return to_branding(found, services.public_url, self.company_number)


@strawberry.type
class ConceptPreview:
    description: str
    quantity: Decimal
    amount: Decimal


@strawberry.type
class InvoiceableTicket:
    reference: str
    total: Decimal
    sold_at: datetime
    deadline: datetime = strawberry.field(description="Last moment the customer may self-invoice this ticket.")
    concepts: list[ConceptPreview] = strawberry.field(
        description="What the invoice will list: the ticket's lines, or the generic concept when enabled."
    )
    ticket_token: str = strawberry.field(description="Short-lived JWT (audience ticket) that issueInvoice requires.")
    merchant_name: str = ""


@strawberry.type
class TicketAlreadyInvoiced:
    invoiced_at: datetime
    masked_rfc: str = strawberry.field(description="RFC the invoice went to, masked: XAXX0101****0")
    message: str


@strawberry.enum
class NotInvoiceableReason(Enum):
    SELF_INVOICING_DISABLED = "SELF_INVOICING_DISABLED"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    IN_GLOBAL_INVOICE = "IN_GLOBAL_INVOICE"
    CANCELLED = "CANCELLED"


@strawberry.type
class TicketNotInvoiceable:
    reason: NotInvoiceableReason
    deadline: Optional[datetime]
    message: str


@strawberry.type
class TicketNotFound:
    message: str
    retry_after_seconds: Optional[int] = strawberry.field(
        default=None, description="Set when too many failed lookups came from this client: wait this long."
    )


@strawberry.type(description="Too many failed lookups of this company: solve this proof of work, then repeat the lookup with ticket(challenge:).")
class TicketChallenge:
    challenge: str = strawberry.field(description="ALTCHA challenge (PoW v2) as JSON")
    message: str


TicketLookup = Annotated[
    Union[InvoiceableTicket, TicketAlreadyInvoiced, TicketNotInvoiceable, TicketNotFound, TicketChallenge],
    strawberry.union("TicketLookup"),
]


@strawberry.input
class CustomerInput:
    rfc: str
    legal_name: str = strawberry.field(description="Nombre o razón social exactly as in the Constancia de Situación Fiscal")
    zip_code: str = strawberry.field(description="Código postal of the fiscal address (DomicilioFiscalReceptor)")
    tax_regime: str
    cfdi_use: str
    email: Optional[str] = strawberry.field(default=None, description="Where to send the XML and PDF")


@strawberry.input
class IssueInvoiceInput:
    customer: CustomerInput
    idempotency_key: Optional[str] = strawberry.field(
        default=None, description="Retrying with the same key returns the same result and never issues twice."
    )
    additional_ticket_tokens: Optional[list[str]] = strawberry.field(
        default=None,
        description="More tickets of the same merchant (their ticketToken, at most 20) for one invoice whose concepts "
        "are all the tickets' lines and whose Total is their sum; every ticket must be invoiceable.",
    )


@strawberry.type
class InvoiceIssued:
    invoice: Invoice
    access_token: str = strawberry.field(description="JWT (audience invoice) for invoice(id) and the downloads")


@strawberry.type
class InvalidCustomerData:
    errors: list[FieldError]


@strawberry.type(description="Some of the tickets cannot go into one invoice; nothing was issued. Each error's field "
                 "is additionalTicketTokens.<i> (the ticket's position in the list).")
class TicketsNotCombinable:
    errors: list[FieldError]
    references: list[str] = strawberry.field(description="The references of the tickets that cannot go in")


IssueInvoiceResult = Annotated[
    Union[InvoiceIssued, InvalidCustomerData, TicketAlreadyInvoiced, TicketNotInvoiceable, StampingFailed,
          TicketsNotCombinable],
    strawberry.union("IssueInvoiceResult"),
]


@strawberry.type
class ConstanciaRead:
    """What the Constancia de Situación Fiscal says, for the customer to confirm: any
    field may be null when the PDF did not show it."""

    rfc: Optional[str]
    legal_name: Optional[str] = strawberry.field(description="As registered, without the régimen capital")
    zip_code: Optional[str]
    tax_regimes: list[CatalogEntry] = strawberry.field(description="The régimenes the Constancia lists (c_RegimenFiscal)")


@strawberry.type
class InvalidConstancia:
    errors: list[FieldError]


ReadConstanciaResult = Annotated[Union[ConstanciaRead, InvalidConstancia], strawberry.union("ReadConstanciaResult")]


@strawberry.type
class InvoiceResent:
    email: str = strawberry.field(description="Where the XML and PDF are being sent")


@strawberry.type
class InvalidResend:
    errors: list[FieldError]


ResendInvoiceResult = Annotated[Union[InvoiceResent, InvalidResend], strawberry.union("ResendInvoiceResult")]


RecoverInvoiceResult = Annotated[Union[InvoiceIssued, TicketNotFound], strawberry.union("RecoverInvoiceResult")]


@strawberry.input
class CorrectInvoiceInput:
    customer: CustomerInput = strawberry.field(description="The receptor's corrected data (all of it)")


@strawberry.type(description="The corrected CFDI (related to the old one by CfdiRelacionados TipoRelacion 04) and the "
                 "old one, cancelled with motivo 01 naming the new UUID (or CANCELLATION_PENDING; still ISSUED if the "
                 "PAC failed: repeat correctInvoice to retry the cancellation).")
class InvoiceCorrected:
    invoice: Invoice
    access_token: str = strawberry.field(description="JWT (audience invoice) of the new invoice")
    replaced: Invoice
    message: str


@strawberry.enum
class CorrectionRefusedCode(Enum):
    CORRECTION_NOT_ALLOWED = "CORRECTION_NOT_ALLOWED"
    CORRECTION_LIMIT = "CORRECTION_LIMIT"
    CORRECTION_DEADLINE_PASSED = "CORRECTION_DEADLINE_PASSED"
    CORRECTION_SAME_DATA = "CORRECTION_SAME_DATA"


@strawberry.type
class CorrectionRefused:
    code: CorrectionRefusedCode
    message: str


CorrectInvoiceResult = Annotated[
    Union[InvoiceCorrected, InvalidCustomerData, CorrectionRefused, StampingFailed],
    strawberry.union("CorrectInvoiceResult"),
]
