"""Catalogue queries: SAT's c_RegimenFiscal, c_UsoCFDI and c_FormaPago for forms."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.catalogs.types import CatalogEntry, PersonType
from services import catalogs


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="SAT régimenes fiscales, optionally only those valid for a person type.")
    def tax_regimes(self, person_type: Optional[PersonType] = None) -> list[CatalogEntry]:
        entries = catalogs.tax_regimes(person_type.value if person_type else None)
        return [CatalogEntry(code=e.code, description=e.description) for e in entries]

    @strawberry.field(description="SAT usos del CFDI valid for that régimen (and person type), as the SAT matrix allows.")
    def cfdi_uses(self, tax_regime: str, person_type: Optional[PersonType] = None) -> list[CatalogEntry]:
        entries = catalogs.cfdi_uses(tax_regime, person_type.value if person_type else None)
        return [CatalogEntry(code=e.code, description=e.description) for e in entries]

    @strawberry.field(description="SAT formas de pago (c_FormaPago), for the point of sale.")
    def payment_forms(self) -> list[CatalogEntry]:
        return [CatalogEntry(code=e.code, description=e.description) for e in catalogs.payment_forms()]
