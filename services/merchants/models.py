"""What the merchants domain returns: read models, never rows (CONVENTIONS 6a)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from persistence.tables import MerchantRow


@dataclass(frozen=True)
class Merchant:
    id: int
    company_number: str
    email: str
    rfc: str
    legal_name: str
    tax_regime: str
    zip_code: str  # LugarExpedicion
    certificate_number: str
    certificate_valid_to: datetime
    # self-invoicing settings
    self_invoicing_enabled: bool
    month_end_limit: bool
    deadline_days: int
    series: str
    generic_concept_enabled: bool
    generic_product_key: str | None
    generic_unit_key: str | None
    generic_description: str | None


def merchant_from_row(row: MerchantRow) -> Merchant:
    assert row.id is not None
    return Merchant(
        id=row.id, company_number=row.company_number, email=row.email, rfc=row.rfc, legal_name=row.legal_name,
        tax_regime=row.tax_regime, zip_code=row.zip_code, certificate_number=row.certificate_number,
        certificate_valid_to=row.certificate_valid_to, self_invoicing_enabled=row.self_invoicing_enabled,
        month_end_limit=row.month_end_limit, deadline_days=row.deadline_days, series=row.series,
        generic_concept_enabled=row.generic_concept_enabled, generic_product_key=row.generic_product_key,
        generic_unit_key=row.generic_unit_key, generic_description=row.generic_description,
    )
