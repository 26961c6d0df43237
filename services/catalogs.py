"""SAT catalogues (Anexo 20, catCFDI), loaded once per process from services/sat_data
(the files are read by services.cfdi.sat).

The data are SAT's published catalogues (see services/sat_data/catalogos/*.json "source").
Everything here is read-only and cached; lookups are O(1).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from services.cfdi.sat import catalog_csv, catalog_rows as _rows, is_current as _current

PHYSICAL = "PHYSICAL"  # persona física
MORAL = "MORAL"  # persona moral

# c_CodigoPostal.huso_horario -> IANA zone. Mexico has no DST since 2022 except the
# northern border strip ("en Frontera"), which follows the US rules.
_HUSO_TO_ZONE = {
    "Tiempo del Centro": "America/Mexico_City",
    "Tiempo del Centro en Frontera": "America/Matamoros",
    "Tiempo del Noroeste": "America/Tijuana",
    "Tiempo del Pacífico": "America/Mazatlan",
    "Tiempo del Sureste": "America/Cancun",
}
DEFAULT_ZONE = "America/Mexico_City"

# c_UsoCFDI keys that never apply to a CFDI de ingreso (TipoDeComprobante I): CP01 "Pagos"
# is the UsoCFDI of a CFDI de tipo P (Guía de llenado del complemento para recepción de
# pagos 2.0, Receptor@UsoCFDI "CP01") and CN01 "Nómina" that of a CFDI de tipo N (Guía de
# llenado del complemento de nómina 1.2, Receptor@UsoCFDI "CN01"). SAT's c_UsoCFDI matrix
# lists them for the régimenes but not per tipo de comprobante, so the catalogue offers them.
NOT_FOR_INCOME_USES = frozenset({"CP01", "CN01"})


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    description: str


@dataclass(frozen=True)
class PostalCode:
    code: str
    state: str
    time_zone: str
    border_region: bool  # estímulo franja fronteriza (IVA 8 %)


@cache
def _regimes() -> dict[str, dict]:
    return {r["id"]: r for r in _rows("c_RegimenFiscal") if _current(r)}


@cache
def _uses() -> dict[str, dict]:
    return {r["id"]: r for r in _rows("c_UsoCFDI") if _current(r)}


@cache
def _payment_forms() -> dict[str, str]:
    return {r["id"]: r["texto"] for r in _rows("c_FormaPago") if _current(r)}


@cache
def _unit_keys() -> dict[str, str]:
    return {r["id"]: r["texto"] for r in _rows("c_ClaveUnidad") if _current(r)}


@cache
def _product_keys() -> dict[str, str]:
    return {row["c_ClaveProdServ"]: row["descripcion"] for row in catalog_csv("c_ClaveProdServ")}


@cache
def _postal_codes() -> dict[str, PostalCode]:
    out: dict[str, PostalCode] = {}
    for row in catalog_csv("c_CodigoPostal"):
        out[row["c_CodigoPostal"]] = PostalCode(
            code=row["c_CodigoPostal"],
            state=row["c_Estado"],
            time_zone=_HUSO_TO_ZONE.get(row["huso_horario"], DEFAULT_ZONE),
            border_region=row["estimulo_franja_fronteriza"] == "1",
        )
    return out


@cache
def _transfer_rates() -> dict[str, frozenset[Decimal]]:
    """c_TasaOCuota: the fixed Tasa values allowed as traslado, per impuesto (IVA, IEPS)."""
    rates: dict[str, set[Decimal]] = {"IVA": set(), "IEPS": set()}
    for r in _rows("c_TasaOCuota"):
        if not (_current(r) and r["traslado"] and r["factor"] == "Tasa" and r["tipo"] == "Fijo"):
            continue
        tax = "IVA" if r["impuesto"].startswith("IVA") else r["impuesto"]
        if tax in rates:
            rates[tax].add(Decimal(r["valor"]).normalize())
    return {k: frozenset(v) for k, v in rates.items()}


def _applies(row: dict, person_type: str | None) -> bool:
    if person_type is None:
        return True
    return bool(row["aplica_fisica"] if person_type == PHYSICAL else row["aplica_moral"])


# ---- public API ---------------------------------------------------------------------


def tax_regimes(person_type: str | None = None) -> list[CatalogEntry]:
    return [CatalogEntry(c, r["texto"]) for c, r in sorted(_regimes().items()) if _applies(r, person_type)]


def cfdi_uses(tax_regime: str, person_type: str | None = None) -> list[CatalogEntry]:
    """c_UsoCFDI rows allowed on a CFDI de ingreso for a régimen (and person type): SAT's
    matrix (CFDI40161/40162) without the uses of pagos and nómina (NOT_FOR_INCOME_USES)."""
    return [
        CatalogEntry(c, r["texto"])
        for c, r in _uses().items()
        if tax_regime in r["regimenes_fiscales_receptores"] and _applies(r, person_type)
        and c not in NOT_FOR_INCOME_USES
    ]


def tax_regime(code: str) -> CatalogEntry | None:
    r = _regimes().get(code)
    return CatalogEntry(code, r["texto"]) if r else None


def regime_applies_to(code: str, person_type: str) -> bool:
    r = _regimes().get(code)
    return r is not None and _applies(r, person_type)


def cfdi_use(code: str) -> CatalogEntry | None:
    r = _uses().get(code)
    return CatalogEntry(code, r["texto"]) if r else None


def cfdi_use_allowed(use: str, tax_regime_code: str, person_type: str) -> bool:
    r = _uses().get(use)
    return r is not None and tax_regime_code in r["regimenes_fiscales_receptores"] and _applies(r, person_type)


def payment_form(code: str) -> str | None:
    return _payment_forms().get(code)


def payment_forms() -> list[CatalogEntry]:
    return [CatalogEntry(c, t) for c, t in sorted(_payment_forms().items())]


def product_key(code: str) -> str | None:
    return _product_keys().get(code)


def unit_key(code: str) -> str | None:
    return _unit_keys().get(code)


# The console's catalogue search (productKeys / unitKeys): a linear scan of a prepared
# in-memory list (c_ClaveProdServ has ~52 000 rows: a few milliseconds), capped.
MAX_SEARCH_RESULTS = 50


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Café" and "cafe" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _searchable(catalog: str) -> tuple[tuple[str, str, str], ...]:
    entries = _product_keys() if catalog == "c_ClaveProdServ" else _unit_keys()
    return tuple((code, text, _fold(f"{code} {text}")) for code, text in sorted(entries.items()))


def _search(catalog: str, search: str, first: int) -> list[CatalogEntry]:
    """Entries whose code or description contains every word of the search: the exact
    code first, then codes starting with it, then descriptions starting with it, then the
    rest, each in code order; at most ``first``."""
    words = _fold(search).split()
    if not words:
        return []
    first = max(1, min(first, MAX_SEARCH_RESULTS))
    whole = " ".join(words)
    ranked: list[tuple[int, str, str]] = []
    for code, text, folded in _searchable(catalog):
        if not all(w in folded for w in words):
            continue
        code_folded = code.casefold()
        rank = (0 if code_folded == whole else 1 if code_folded.startswith(whole)
                else 2 if folded[len(code) + 1:].startswith(whole) else 3)
        ranked.append((rank, code, text))
    ranked.sort()
    return [CatalogEntry(code, text) for _, code, text in ranked[:first]]


def search_product_keys(search: str, first: int = 20) -> list[CatalogEntry]:
    """c_ClaveProdServ (Anexo 20, Concepto@ClaveProdServ) by code prefix or words."""
    return _search("c_ClaveProdServ", search, first)


def search_unit_keys(search: str, first: int = 20) -> list[CatalogEntry]:
    """c_ClaveUnidad (Anexo 20, Concepto@ClaveUnidad) by code prefix or words."""
    return _search("c_ClaveUnidad", search, first)


def postal_code(code: str) -> PostalCode | None:
    return _postal_codes().get(code)


@cache
def _periodicities() -> dict[str, str]:
    return {r["id"]: r["texto"] for r in _rows("c_Periodicidad") if _current(r)}


@cache
def _months() -> dict[str, str]:
    return {r["id"]: r["texto"] for r in _rows("c_Meses") if _current(r)}


def periodicity(code: str) -> str | None:
    """c_Periodicidad description (InformacionGlobal@Periodicidad), or None."""
    return _periodicities().get(code)


def month(code: str) -> str | None:
    """c_Meses description (InformacionGlobal@Meses), or None."""
    return _months().get(code)


def time_zone_for(zip_code: str) -> ZoneInfo:
    pc = _postal_codes().get(zip_code)
    return ZoneInfo(pc.time_zone if pc else DEFAULT_ZONE)


def transfer_rate_allowed(tax: str, rate: Decimal) -> bool:
    """Whether a Tasa is in c_TasaOCuota for that impuesto as traslado (CFDI40114 family)."""
    return rate.normalize() in _transfer_rates().get(tax, frozenset())


def warm() -> None:
    """Load every catalogue now (at start-up) instead of on the first request."""
    _regimes(), _uses(), _payment_forms(), _unit_keys(), _product_keys(), _postal_codes(), _transfer_rates()
    _searchable("c_ClaveProdServ"), _searchable("c_ClaveUnidad")
