"""Strawberry types of the merchant: login, settings, generic concept, and their converters."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from services.merchants.models import Merchant as MerchantModel


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
