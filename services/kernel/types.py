"""Plain data shared by the services layer.

No GraphQL, no SQL: the schema layer maps its inputs to these, the persistence layer
maps its rows to these. Amounts are `Decimal`, never float.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field: path, stable English code, Spanish message."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class LineTax:
    """A tax a sale line carries. type is "IVA" or "IEPS"; rate is a fraction (0.16)."""

    type: str
    rate: Decimal | None = None
    exempt: bool = False


IVA_16 = LineTax("IVA", Decimal("0.16"))


@dataclass(frozen=True)
class SaleLine:
    product_key: str  # c_ClaveProdServ
    unit_key: str  # c_ClaveUnidad
    description: str
    quantity: Decimal
    unit_price: Decimal  # taxes included, as printed on the ticket
    taxes: tuple[LineTax, ...] = (IVA_16,)

    @property
    def amount(self) -> Decimal:
        """What the customer paid for this line, taxes included, to the cent."""
        from services.kernel.money import cents

        return cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class GenericConceptConfig:
    product_key: str
    unit_key: str
    description: str


@dataclass(frozen=True)
class Issuer:
    rfc: str
    legal_name: str
    tax_regime: str
    zip_code: str  # LugarExpedicion


@dataclass(frozen=True)
class Customer:
    rfc: str
    legal_name: str
    zip_code: str  # DomicilioFiscalReceptor
    tax_regime: str  # RegimenFiscalReceptor
    cfdi_use: str  # UsoCFDI
    email: str | None = None


@dataclass(frozen=True)
class InvoiceRequest:
    """Everything the engine needs to build one CFDI 4.0 de ingreso from one ticket."""

    issuer: Issuer
    customer: Customer
    lines: tuple[SaleLine, ...]
    payment_form: str  # c_FormaPago
    series: str
    folio: str
    ticket_total: Decimal
    generic_concept: GenericConceptConfig | None = None
    issued_at: datetime | None = None  # defaults to now in LugarExpedicion's zone
    # cfdi:CfdiRelacionados (Anexo 20): the UUID this CFDI relates to and c_TipoRelacion;
    # "04" (Sustitución de los CFDI previos) for a customer's correction (issue 15).
    related_uuid: str | None = None
    relation_type: str = "04"


@dataclass(frozen=True)
class GlobalTicket:
    """One ticket (sale) inside a factura global: its reference becomes NoIdentificacion."""

    reference: str
    lines: tuple[SaleLine, ...]
    total: Decimal  # what the customer paid, to the cent
    payment_form: str  # c_FormaPago of the sale


@dataclass(frozen=True)
class GlobalInvoiceRequest:
    """Everything the engine needs to build one CFDI global to público en general
    (RMF 2.7.1.24; Anexo 20, Guía de llenado del CFDI global)."""

    issuer: Issuer
    periodicity: str  # c_Periodicidad: 01 diario ... 05 bimestral
    months: str  # c_Meses: 01-12, or 13-18 with bimestral
    year: int  # InformacionGlobal@Año
    tickets: tuple[GlobalTicket, ...]
    series: str
    folio: str
    issued_at: datetime | None = None  # defaults to now in LugarExpedicion's zone
    # CfdiRelacionados with TipoRelacion 04 (sustitución de los CFDI previos): the UUID of
    # the global this one replaces (Guía de llenado del CFDI global: a ticket invoiced
    # nominatively after its global; the global is cancelled with motivo 04).
    replaces_uuid: str | None = None


@dataclass(frozen=True)
class CsdMaterial:
    """A CSD as the engine needs it: DER certificate, DER PKCS#8 encrypted key, password.

    The password and key live only in memory for the time of a seal.
    """

    certificate_der: bytes
    private_key_der: bytes
    password: bytes = field(repr=False)
