"""The receipt QR: the portal address with the ticket's three data filled in, as a code the
customer's phone opens. As SVG (InvoicingData.qrSvg, for a POS that prints vector images)
and as PNG (GET /qr/{companyNumber}.png, for thermal printers that need a raster image).

Error correction M (15 % of the code may be smudged: thermal paper fades) and the quiet
zone of 4 modules ISO/IEC 18004 asks for, so a printed code scans without a margin of its
own.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import segno

from services.kernel.codes import SaleErrorCode as Code
from services.kernel.results import Invalid
from services.kernel.types import FieldProblem
from services.sales.ticket import portal_url

QUIET_ZONE = 4
PNG_SIZE_RANGE = (64, 1024)  # pixels; a 58 mm thermal printer is 384 dots wide
PNG_DEFAULT_SIZE = 256
MAX_REFERENCE = 100  # as stored (sale.reference)
_COMPANY = re.compile(r"^[0-9]{1,12}$")
_TOTAL = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", boost_error=False)


def qr_svg(url: str) -> str:
    """A standalone SVG document (with its namespace; no XML declaration, so it also embeds
    in HTML as it is) that scales to any size; 4 user units per module."""
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=4, border=QUIET_ZONE, xmldecl=False, svgns=True, nl=False,
                    title="Factura tu compra", svgclass=None, lineclass=None, encoding="utf-8")
    return out.getvalue().decode("utf-8")


@dataclass(frozen=True)
class QrPng:
    body: bytes
    url: str


def ticket_qr_png(public_url: str, company_number: str, reference: str, total: str, size: str | None) -> QrPng | Invalid:
    """The ticket's QR as a PNG at most `size` pixels wide (a whole number of pixels per
    module: the sharpest a printer can print), or every problem with the input."""
    problems: list[FieldProblem] = []
    if not _COMPANY.match(company_number):
        problems.append(FieldProblem("companyNumber", Code.INVALID, "El número de empresa son solo dígitos (hasta 12)."))
    reference = " ".join(reference.split())
    if not reference:
        problems.append(FieldProblem("reference", Code.REQUIRED, "Indica la referencia del ticket."))
    elif len(reference) > MAX_REFERENCE or not reference.isprintable():
        problems.append(FieldProblem("reference", Code.TOO_LONG if len(reference) > MAX_REFERENCE else Code.INVALID,
                                     f"La referencia admite hasta {MAX_REFERENCE} caracteres visibles."))
    amount: Decimal | None = None
    if _TOTAL.match(total):
        try:
            amount = Decimal(total)
        except InvalidOperation:
            amount = None
    if amount is None or amount <= 0:
        problems.append(FieldProblem("total", Code.INVALID, "El total es un importe positivo con hasta dos decimales, por ejemplo 1160.00."))
    lo, hi = PNG_SIZE_RANGE
    pixels = PNG_DEFAULT_SIZE
    if size is not None:
        pixels = int(size) if size.isascii() and size.isdigit() and len(size) <= 5 else -1
        if not lo <= pixels <= hi:
            problems.append(FieldProblem("size", Code.INVALID, f"El tamaño es un número de píxeles entre {lo} y {hi}."))
    if problems:
        return Invalid(tuple(problems))
    assert amount is not None
    url = portal_url(public_url, company_number, reference, amount)
    code = _code(url)
    width = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    scale = pixels // width
    if scale < 1:
        return Invalid((FieldProblem("size", Code.INVALID,
                                     f"Este código necesita al menos {width} píxeles de ancho; pide un tamaño mayor."),))
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return QrPng(out.getvalue(), url)
