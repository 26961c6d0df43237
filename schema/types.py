"""Strawberry types of the contract, and explicit converters from service data (CONVENTIONS 2)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import ErrorCode, FieldError, to_field_errors
from schema.pagination import PageInfo
from services.invoicing.views import GlobalInvoiceView, InvoiceView
from services.merchants.models import Merchant as MerchantModel
from services.sales.service import SaleListing


@strawberry.enum
class PersonType(Enum):
    PHYSICAL = "PHYSICAL"
    MORAL = "MORAL"


@strawberry.type
class CatalogEntry:
    code: str
    description: str


# ---------------- portal ----------------


@strawberry.type
class Portal:
    company_number: str
    merchant_name: str
    self_invoicing_enabled: bool


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


@strawberry.enum
class InvoiceStatus(Enum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"
    CANCELLATION_PENDING = "CANCELLATION_PENDING"
    CANCELLED = "CANCELLED"


@strawberry.type
class Invoice:
    id: strawberry.ID
    uuid: Optional[str] = strawberry.field(description="Folio fiscal from the TimbreFiscalDigital; null while PENDING")
    series: Optional[str]
    folio: Optional[str]
    status: InvoiceStatus
    issued_at: Optional[datetime]
    total: Decimal
    customer_rfc: str
    customer_name: str
    xml_url: Optional[str] = strawberry.field(description="Short-lived absolute URLs; a plain GET downloads the file")
    pdf_url: Optional[str]
    sandbox: bool = strawberry.field(default=True, description="True when stamped by the sandbox PAC: no fiscal validity")
    cancellation_reason: Optional[str] = strawberry.field(
        default=None, description="c_MotivoCancelacion (01-04) once CANCELLATION_PENDING or CANCELLED"
    )
    replacement_uuid: Optional[str] = strawberry.field(
        default=None, description="With motivo 01: the UUID of the invoice that replaces this one (FolioSustitucion)"
    )
    cancelled_at: Optional[datetime] = strawberry.field(default=None, description="When SAT reported it cancelled")


@strawberry.type
class InvoiceIssued:
    invoice: Invoice
    access_token: str = strawberry.field(description="JWT (audience invoice) for invoice(id) and the downloads")


@strawberry.type
class InvalidCustomerData:
    errors: list[FieldError]


@strawberry.type
class StampingFailed:
    message: str
    retryable: bool = strawberry.field(description="True when the same request may be retried later")


IssueInvoiceResult = Annotated[
    Union[InvoiceIssued, InvalidCustomerData, TicketAlreadyInvoiced, TicketNotInvoiceable, StampingFailed],
    strawberry.union("IssueInvoiceResult"),
]


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

# ---------------- merchant ----------------


@strawberry.type
class LoginSucceeded:
    token: str
    expires_at: datetime


@strawberry.type
class InvalidCredentials:
    message: str
    retry_after_seconds: Optional[int] = strawberry.field(
        default=None, description="Set after too many failed logins: wait this long."
    )


@strawberry.type(description="Too many failed logins for this e-mail: solve this proof of work, then repeat the login with login(challenge:).")
class LoginChallenge:
    challenge: str = strawberry.field(description="ALTCHA challenge (PoW v2) as JSON")
    message: str


LoginResult = Annotated[Union[LoginSucceeded, InvalidCredentials, LoginChallenge], strawberry.union("LoginResult")]


@strawberry.type
class GenericConcept:
    enabled: bool
    product_key: Optional[str]
    unit_key: Optional[str]
    description: Optional[str]


@strawberry.type
class SelfInvoicingSettings:
    enabled: bool
    month_end_limit: bool = strawberry.field(
        description="Utilizar fin de mes natural como límite de factura: only during the calendar month of the sale"
    )
    deadline_days: int = strawberry.field(description="Otherwise the ticket may be invoiced until this many days after the sale")
    generic_concept: GenericConcept
    series: str = "AF"


@strawberry.type
class Merchant:
    company_number: str
    rfc: str
    legal_name: str
    tax_regime: str
    zip_code: str
    self_invoicing: SelfInvoicingSettings
    email: str = ""
    certificate_number: str = ""
    certificate_valid_to: Optional[datetime] = None


@strawberry.input
class SelfInvoicingSettingsInput:
    month_end_limit: Optional[bool] = None
    deadline_days: Optional[int] = None


@strawberry.type
class InvalidSettings:
    errors: list[FieldError]


UpdateSettingsResult = Annotated[Union[SelfInvoicingSettings, InvalidSettings], strawberry.union("UpdateSettingsResult")]


@strawberry.input
class GenericConceptInput:
    enabled: bool
    product_key: Optional[str] = strawberry.field(default=None, description="c_ClaveProdServ, e.g. 01010101")
    unit_key: Optional[str] = strawberry.field(default=None, description="c_ClaveUnidad, e.g. ACT")
    description: Optional[str] = None


UpdateGenericConceptResult = Annotated[Union[GenericConcept, InvalidSettings], strawberry.union("UpdateGenericConceptResult")]


@strawberry.input
class TaxInput:
    type: str = strawberry.field(description="IVA or IEPS")
    rate: Optional[Decimal] = strawberry.field(default=None, description="0.16, 0.08, 0 ...; omit with exempt")
    exempt: Optional[bool] = False


@strawberry.input
class SaleLineInput:
    product_key: str = strawberry.field(description="c_ClaveProdServ")
    unit_key: str = strawberry.field(description="c_ClaveUnidad")
    description: str
    quantity: Decimal
    unit_price: Decimal = strawberry.field(
        description="Price per unit the customer paid, taxes included (as printed on a retail ticket)"
    )
    taxes: Optional[list[TaxInput]] = strawberry.field(default=None, description="Defaults to IVA 16 %")


@strawberry.input
class RecordSaleInput:
    reference: str = strawberry.field(description="The merchant's reference printed on the ticket; unique per merchant")
    sold_at: Optional[datetime] = strawberry.field(default=None, description="Defaults to now")
    payment_form: str = strawberry.field(description="c_FormaPago, e.g. 01 efectivo, 04 tarjeta de crédito, 28 tarjeta de débito")
    lines: list[SaleLineInput] = strawberry.field(description="At most 500 lines")
    customer_email: Optional[str] = strawberry.field(
        default=None, description="When given, the portal link and the ticket data are sent there"
    )


@strawberry.enum
class SaleStatus(Enum):
    OPEN = "OPEN"
    INVOICED = "INVOICED"
    IN_GLOBAL_INVOICE = "IN_GLOBAL_INVOICE"
    CANCELLED = "CANCELLED"


@strawberry.type
class InvoicingData:
    company_number: str
    reference: str
    total: Decimal
    portal_url: str = strawberry.field(description="Portal address with the three data filled in; printable as a QR code")


@strawberry.type
class Sale:
    id: strawberry.ID
    reference: str
    total: Decimal
    sold_at: datetime
    status: SaleStatus
    invoice: Optional[Invoice]
    invoicing_data: InvoicingData = strawberry.field(description="The data printed on the ticket for self-invoicing")


@strawberry.type
class SaleRecorded:
    sale: Sale
    created: bool = strawberry.field(default=True, description="False when the same sale had been recorded before (idempotent replay)")


@strawberry.type
class InvalidSale:
    errors: list[FieldError]


RecordSaleResult = Annotated[Union[SaleRecorded, InvalidSale], strawberry.union("RecordSaleResult")]


@strawberry.type
class SaleCancelled:
    sale: Sale


CancelSaleResult = Annotated[Union[SaleCancelled, InvalidSale], strawberry.union("CancelSaleResult")]


@strawberry.type
class SaleEdge:
    node: Sale
    cursor: str


@strawberry.type
class SaleConnection:
    edges: list[SaleEdge]
    page_info: PageInfo


@strawberry.type
class InvoiceEdge:
    node: Invoice
    cursor: str


@strawberry.type
class InvoiceConnection:
    edges: list[InvoiceEdge]
    page_info: PageInfo


# ---------------- converters ----------------


def to_generic_concept(m: MerchantModel) -> GenericConcept:
    return GenericConcept(
        enabled=m.generic_concept_enabled,
        product_key=m.generic_product_key,
        unit_key=m.generic_unit_key,
        description=m.generic_description,
    )


def to_settings(m: MerchantModel) -> SelfInvoicingSettings:
    return SelfInvoicingSettings(
        enabled=m.self_invoicing_enabled,
        month_end_limit=m.month_end_limit,
        deadline_days=m.deadline_days,
        generic_concept=to_generic_concept(m),
        series=m.series,
    )


def to_merchant(m: MerchantModel) -> Merchant:
    return Merchant(
        company_number=m.company_number,
        rfc=m.rfc,
        legal_name=m.legal_name,
        tax_regime=m.tax_regime,
        zip_code=m.zip_code,
        self_invoicing=to_settings(m),
        email=m.email,
        certificate_number=m.certificate_number,
        certificate_valid_to=m.certificate_valid_to,
    )


def to_invoice(v: InvoiceView) -> Invoice:
    return Invoice(
        id=strawberry.ID(v.public_id),
        uuid=v.uuid,
        series=v.series,
        folio=str(v.folio),
        status=InvoiceStatus(v.status.value),
        issued_at=v.issued_at,
        total=v.total,
        customer_rfc=v.customer_rfc,
        customer_name=v.customer_name,
        xml_url=v.downloads.xml_url,
        pdf_url=v.downloads.pdf_url,
        sandbox=v.sandbox,
        cancellation_reason=v.cancellation_reason,
        replacement_uuid=v.replacement_uuid,
        cancelled_at=v.cancelled_at,
    )


def to_sale(listing: SaleListing) -> Sale:
    sale, data = listing.sale, listing.invoicing
    return Sale(
        id=strawberry.ID(str(sale.id)),
        reference=sale.reference,
        total=sale.total,
        sold_at=sale.sold_at,
        status=SaleStatus(sale.status.value),
        invoice=to_invoice(listing.invoice) if listing.invoice is not None else None,
        invoicing_data=InvoicingData(
            company_number=data.company_number, reference=data.reference, total=data.total, portal_url=data.portal_url,
        ),
    )


# ---------------- factura global ----------------


@strawberry.input
class GlobalInvoiceInput:
    periodicity: str = strawberry.field(description="c_Periodicidad: 04 mensual, 05 bimestral (Régimen 621 only)")
    months: str = strawberry.field(description="c_Meses: 01-12 with mensual, 13 (enero-febrero) to 18 with bimestral")
    year: int = strawberry.field(description="InformacionGlobal@Año: the year of issue or the one before")


@strawberry.enum
class GlobalInvoiceStatus(Enum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"


@strawberry.type
class GlobalInvoice:
    id: strawberry.ID
    uuid: Optional[str] = strawberry.field(description="Folio fiscal from the TimbreFiscalDigital; null while PENDING")
    series: str
    folio: str
    periodicity: str = strawberry.field(description="c_Periodicidad")
    months: str = strawberry.field(description="c_Meses")
    year: int
    total: Decimal = strawberry.field(description="Sum of the tickets it covers, to the cent")
    sale_count: int
    status: GlobalInvoiceStatus
    issued_at: Optional[datetime]
    xml_url: Optional[str] = strawberry.field(description="Short-lived absolute URLs; a plain GET downloads the file")
    pdf_url: Optional[str]
    sandbox: bool = strawberry.field(default=True, description="True when stamped by the sandbox PAC: no fiscal validity")


@strawberry.type
class GlobalInvoiceIssued:
    global_invoice: GlobalInvoice
    included_sales: int = strawberry.field(description="Tickets in this factura global")
    left_out_sales: int = strawberry.field(
        description="Tickets of the period not in it: still inside their self-invoicing deadline, so still self-invoiceable"
    )


@strawberry.type
class InvalidGlobalInvoice:
    errors: list[FieldError]


@strawberry.type
class NothingToInvoice:
    message: str
    left_out_sales: int = strawberry.field(default=0, description="Tickets of the period still inside their deadline")


IssueGlobalInvoiceResult = Annotated[
    Union[GlobalInvoiceIssued, InvalidGlobalInvoice, NothingToInvoice, StampingFailed],
    strawberry.union("IssueGlobalInvoiceResult"),
]


@strawberry.type
class GlobalInvoiceEdge:
    node: GlobalInvoice
    cursor: str


@strawberry.type
class GlobalInvoiceConnection:
    edges: list[GlobalInvoiceEdge]
    page_info: PageInfo


def to_global_invoice(v: GlobalInvoiceView) -> GlobalInvoice:
    return GlobalInvoice(
        id=strawberry.ID(v.public_id),
        uuid=v.uuid,
        series=v.series,
        folio=str(v.folio),
        periodicity=v.periodicity,
        months=v.months,
        year=v.year,
        total=v.total,
        sale_count=v.sale_count,
        status=GlobalInvoiceStatus(v.status.value),
        issued_at=v.issued_at,
        xml_url=v.downloads.xml_url,
        pdf_url=v.downloads.pdf_url,
        sandbox=v.sandbox,
    )
