"""What the merchants domain returns: read models, never rows (CONVENTIONS 6a)."""
from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime

from persistence.tables import MerchantRow
from services.cfdi.sat import load_certificate


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
    certificate_valid_from: datetime
    # self-invoicing settings
    self_invoicing_enabled: bool
    month_end_limit: bool
    deadline_days: int
    series: str
    generic_concept_enabled: bool
    generic_product_key: str | None
    generic_unit_key: str | None
    generic_description: str | None
    # the fiscal clock: c_Periodicidad of the facturas globales, and issued by the worker
    global_invoice_periodicity: str = "04"
    global_invoice_automatic: bool = True


@lru_cache(maxsize=1024)
def _valid_from(certificate_der: bytes) -> datetime:
    # Every ticket lookup builds its merchant: parsing the same DER each time showed in the
    # lookup's profile (issue 16). Keyed by the bytes themselves: a renewed CSD is a new key.
    return load_certificate(certificate_der, pem=False).not_valid_before_utc


def merchant_from_row(row: MerchantRow) -> Merchant:
    assert row.id is not None
    return Merchant(
        id=row.id, company_number=row.company_number, email=row.email, rfc=row.rfc, legal_name=row.legal_name,
        tax_regime=row.tax_regime, zip_code=row.zip_code, certificate_number=row.certificate_number,
        certificate_valid_to=row.certificate_valid_to,
        # Read from the stored certificate (a DER parse costs microseconds): no column to drift.
        certificate_valid_from=_valid_from(row.certificate_der),
        self_invoicing_enabled=row.self_invoicing_enabled,
        month_end_limit=row.month_end_limit, deadline_days=row.deadline_days, series=row.series,
        generic_concept_enabled=row.generic_concept_enabled, generic_product_key=row.generic_product_key,
        generic_unit_key=row.generic_unit_key, generic_description=row.generic_description,
        global_invoice_periodicity=row.global_invoice_periodicity, global_invoice_automatic=row.global_invoice_automatic,
    )


@dataclass(frozen=True)
class Csd:
    """The merchant's CSD as the API shows it (Merchant.csd, replaceCsd)."""

    serial_number: str  # NoCertificado (Anexo 20), 20 digits
    valid_from: datetime
    valid_until: datetime

    def days_left(self, now: datetime) -> int:
        """Whole days until the certificate expires (0 on its last day; negative once expired)."""
        return math.floor((self.valid_until - now).total_seconds() / 86400)


def csd_of(merchant: Merchant) -> Csd:
    return Csd(merchant.certificate_number, merchant.certificate_valid_from, merchant.certificate_valid_to)
