"""Catalogue queries: SAT's c_RegimenFiscal, c_UsoCFDI and c_FormaPago for forms, and the
search of c_ClaveProdServ and c_ClaveUnidad for the console's generic concept."""
from __future__ import annotations

from typing import Optional

import strawberry

from schema.catalogs.types import CatalogEntry, PersonType
from schema.errors import PublicError
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

    @strawberry.field(description="Search SAT c_ClaveProdServ by code or words (accents and case ignored): the exact "
                      "code first, then codes and descriptions starting with it. first: 1-50.")
    def product_keys(self, search: str, first: Optional[int] = 20) -> list[CatalogEntry]:
        entries = catalogs.search_product_keys(_bounded(search), _search_size(first))
        return [CatalogEntry(code=e.code, description=e.description) for e in entries]

    @strawberry.field(description="Search SAT c_ClaveUnidad by code or words, as productKeys does. first: 1-50.")
    def unit_keys(self, search: str, first: Optional[int] = 20) -> list[CatalogEntry]:
        entries = catalogs.search_unit_keys(_bounded(search), _search_size(first))
        return [CatalogEntry(code=e.code, description=e.description) for e in entries]


def _search_size(first: int | None) -> int:
    if first is None:
        return 20
    if not 1 <= first <= catalogs.MAX_SEARCH_RESULTS:
        raise PublicError(f"first debe estar entre 1 y {catalogs.MAX_SEARCH_RESULTS}.", "BAD_REQUEST")
    return first


def _bounded(search: str) -> str:
    if len(search) > 100:
        raise PublicError("La búsqueda admite hasta 100 caracteres.", "BAD_REQUEST")
    return search
