"""Strawberry types of the merchant: login, settings, generic concept, and their converters."""
from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from services.merchants.branding import Branding as BrandingModel
from services.merchants.branding import logo_url
from services.merchants.models import Csd as CsdModel
from services.merchants.models import Merchant as MerchantModel
from services.merchants.models import csd_of


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


@strawberry.enum(description="c_Periodicidad of the facturas globales (Guía de llenado del CFDI global)")
class GlobalInvoicePeriodicity(Enum):
    DAILY = "01"
    WEEKLY = "02"
    FORTNIGHTLY = "03"
    MONTHLY = "04"
    BIMONTHLY = "05"  # only RegimenFiscal 621


@strawberry.type
class SelfInvoicingSettings:
    enabled: bool
    month_end_limit: bool = strawberry.field(
        description="Utilizar fin de mes natural como límite de factura: only during the calendar month of the sale"
    )
    deadline_days: int = strawberry.field(description="Otherwise the ticket may be invoiced until this many days after the sale")
    generic_concept: GenericConcept
    series: str = "AF"
    global_invoice_periodicity: GlobalInvoicePeriodicity = strawberry.field(
        default=GlobalInvoicePeriodicity.MONTHLY,
        description="Period of the facturas globales (c_Periodicidad 01-05); BIMONTHLY only for régimen 621",
    )
    global_invoice_automatic: bool = strawberry.field(
        default=True, description="The worker issues each factura global within 24 hours after its period ends (RMF 2.7.1.21)"
    )


@strawberry.type(description="The merchant's Certificado de Sello Digital")
class Csd:
    serial_number: str = strawberry.field(description="NoCertificado (Anexo 20), 20 digits")
    valid_from: datetime
    valid_until: datetime
    days_left: int = strawberry.field(description="Whole days until validUntil; negative once expired")


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
    csd: Csd


@strawberry.input
class SelfInvoicingSettingsInput:
    month_end_limit: Optional[bool] = None
    deadline_days: Optional[int] = None
    global_invoice_periodicity: Optional[GlobalInvoicePeriodicity] = None
    global_invoice_automatic: Optional[bool] = None


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
class RegisterMerchantInput:
    email: str
    password: str = strawberry.field(description="At least 10 characters")
    certificate: str = strawberry.field(description="The CSD certificate (.cer, DER) in base64")
    private_key: str = strawberry.field(description="The CSD private key (.key, encrypted DER) in base64")
    key_password: str = strawberry.field(description="The password of the CSD's .key (not the e.firma's)")
    tax_regime: str = strawberry.field(description="c_RegimenFiscal, e.g. 601 or 612")
    zip_code: str = strawberry.field(description="LugarExpedicion: a c_CodigoPostal code")


@strawberry.type
class MerchantRegistered:
    merchant: Merchant
    token: str = strawberry.field(description="A merchant token, as login returns")


@strawberry.type
class InvalidMerchantData:
    errors: list[FieldError]


@strawberry.type
class SignupThrottled:
    message: str
    retry_after_seconds: int


RegisterMerchantResult = Annotated[
    Union[MerchantRegistered, InvalidMerchantData, SignupThrottled], strawberry.union("RegisterMerchantResult")
]


@strawberry.input
class ReplaceCsdInput:
    certificate: str = strawberry.field(description="The new CSD certificate (.cer, DER) in base64; same RFC")
    private_key: str = strawberry.field(description="The new CSD private key (.key, encrypted DER) in base64")
    key_password: str


@strawberry.type
class CsdReplaced:
    csd: Csd


ReplaceCsdResult = Annotated[Union[CsdReplaced, InvalidMerchantData], strawberry.union("ReplaceCsdResult")]


@strawberry.type(description="How the merchant's portal page and PDFs look")
class Branding:
    display_name: Optional[str] = strawberry.field(description="Trade name shown instead of the legal name; null: the legal name")
    accent_color: Optional[str] = strawberry.field(description="#RRGGBB")
    logo_url: Optional[str] = strawberry.field(description="The sanitised logo (PNG or SVG) served by this server")


@strawberry.input
class UpdateBrandingInput:
    display_name: Optional[str] = strawberry.field(default=None, description="Up to 120 characters; \"\" removes it; null keeps it")
    logo: Optional[str] = strawberry.field(
        default=None, description="PNG or SVG in base64, at most 200 kB; SVGs are sanitised (no scripts, event handlers "
        "nor external references); \"\" removes it; null keeps it")
    accent_color: Optional[str] = strawberry.field(default=None, description="#RRGGBB; \"\" removes it; null keeps it")


UpdateBrandingResult = Annotated[Union[Branding, InvalidSettings], strawberry.union("UpdateBrandingResult")]


def to_branding(branding: BrandingModel, public_url: str, company_number: str) -> Branding:
    return Branding(display_name=branding.display_name, accent_color=branding.accent_color,
                    logo_url=logo_url(public_url, company_number, branding))


def to_csd(csd: CsdModel) -> Csd:
    return Csd(serial_number=csd.serial_number, valid_from=csd.valid_from, valid_until=csd.valid_until,
               days_left=csd.days_left(datetime.now(UTC)))


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
        global_invoice_periodicity=GlobalInvoicePeriodicity(m.global_invoice_periodicity),
        global_invoice_automatic=m.global_invoice_automatic,
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
        csd=to_csd(csd_of(m)),
    )
