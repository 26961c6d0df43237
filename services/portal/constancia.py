"""Pre-fill the customer's fiscal data from their Constancia de Situación Fiscal (CSF).

Optional and never required: CFF art. 83 fr. IX forbids making a CFDI conditional on the
customer handing over the Constancia. The customer may drop the PDF SAT gives them; its
text is read here (pypdf, pure Python: no native parser exposed to uploads), nothing is
stored, and the portal shows what was found for the customer to confirm.

What the Constancia prints (SAT's "Cédula de identificación fiscal" and "Datos de
identificación del contribuyente"): ``RFC:``, for a persona física ``Nombre (s):``,
``Primer Apellido:``, ``Segundo Apellido:``; for a persona moral ``Denominación/Razón
Social:`` and ``Régimen Capital:``; ``Código Postal:`` in the address; and a table of
``Regímenes`` by name (not by code), which is matched to c_RegimenFiscal. CFDI 4.0 wants
the name exactly as registered and without the régimen capital (Anexo 20, Receptor
Nombre; Guía de llenado), which is how the Constancia separates them.
"""
from __future__ import annotations

import asyncio
import io
import re
import unicodedata
from dataclasses import dataclass

from services import catalogs
from services.cfdi.rules import rfc_problem
from services.kernel.codes import ConstanciaErrorCode as Code
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem

MAX_BYTES = 700 * 1024  # a real Constancia is 1-3 pages, well under 200 kB
MAX_PAGES = 6
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Regime:
    code: str
    description: str


@dataclass(frozen=True)
class ConstanciaData:
    rfc: str | None
    legal_name: str | None
    zip_code: str | None
    tax_regimes: tuple[Regime, ...]


def _fold(text: str) -> str:
    """Upper case without accents, single spaces: how the labels and names are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).upper().split())


def _after(label: str, text: str) -> str | None:
    """The value printed after ``label:`` on the same line."""
    match = re.search(rf"(?im)^\s*{label}\s*:\s*(.+?)\s*$", text)
    return " ".join(match.group(1).split()) if match else None


def _regimes(text: str) -> tuple[Regime, ...]:
    folded = _fold(text)
    # Only the "Regímenes" table: the activities listed before it ("Arrendamiento de
    # inmuebles" …) would otherwise read as régimenes.
    start = folded.find("REGIMENES")
    if start >= 0:
        end = folded.find("OBLIGACIONES", start)
        folded = folded[start:end if end > start else None]
    found: list[Regime] = []
    # Longest descriptions first, so "Personas Morales con Fines no Lucrativos" is not
    # also read as "General de Ley Personas Morales".
    for entry in sorted(catalogs.tax_regimes(), key=lambda e: -len(e.description)):
        name = _fold(entry.description)
        name = name.removeprefix("REGIMEN DE ").removeprefix("REGIMEN ")
        if name and name in folded and not any(name in _fold(r.description) for r in found):
            found.append(Regime(entry.code, entry.description))
    return tuple(sorted(found, key=lambda r: r.code))


def read_text(text: str) -> ConstanciaData:
    """The fields of a Constancia's text (what pypdf extracted)."""
    rfc = _after("RFC", text)
    rfc = rfc.split()[0].upper() if rfc else None
    if rfc is not None and rfc_problem(rfc) is not None:
        rfc = None
    company = _after("Denominaci[oó]n\\s*/\\s*Raz[oó]n\\s+Social", text)
    if company:
        name = company
    else:
        parts = [_after(label, text) for label in ("Nombre\\s*\\(s\\)", "Primer\\s+Apellido", "Segundo\\s+Apellido")]
        name = " ".join(p for p in parts if p) or None
    zip_code = _after("C[oó]digo\\s+Postal", text)
    zip_match = re.match(r"\d{5}", zip_code or "")
    zip_code = zip_match.group(0) if zip_match and catalogs.postal_code(zip_match.group(0)) else None
    return ConstanciaData(rfc, name.upper() if name else None, zip_code, _regimes(text))


def _extract(pdf: bytes) -> str:
    from pypdf import PdfReader  # imported here: only this path needs it

    reader = PdfReader(io.BytesIO(pdf), strict=False)
    if reader.is_encrypted or len(reader.pages) > MAX_PAGES:
        raise ValueError("encrypted or too long")
    return "\n".join(page.extract_text() or "" for page in reader.pages)


async def read_constancia(pdf: bytes) -> ConstanciaData | Invalid:
    """Read a Constancia PDF off the event loop, with a size cap and a time limit."""
    if len(pdf) > MAX_BYTES:
        return invalid(FieldProblem("file", Code.FILE_TOO_LARGE, "El archivo es demasiado grande: la Constancia pesa menos de 700 kB."))
    if not pdf.startswith(b"%PDF-"):
        return invalid(FieldProblem("file", Code.NOT_A_PDF, "Sube la Constancia de Situación Fiscal en PDF, tal como la descargaste del SAT."))
    try:
        text = await asyncio.wait_for(asyncio.to_thread(_extract, pdf), TIMEOUT_SECONDS)
    except Exception:  # a damaged, encrypted or hostile PDF: the customer types the data instead
        return invalid(FieldProblem("file", Code.UNREADABLE, "No pudimos leer ese PDF. Escribe tus datos a mano."))
    data = read_text(text)
    if data.rfc is None and data.legal_name is None:
        return invalid(FieldProblem(
            "file", Code.NOT_A_CONSTANCIA,
            "No parece una Constancia de Situación Fiscal. Escribe tus datos a mano o sube la Constancia del SAT."))
    return data
