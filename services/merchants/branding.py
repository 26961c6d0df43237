"""The merchant's brand on its portal page and its PDFs: display name, accent colour, logo.

A logo is untrusted input that browsers and WeasyPrint will draw, so it is rebuilt, never
stored as sent:

- PNG: decoded with Pillow (bounded dimensions) and encoded again, which keeps the pixels
  and drops every ancillary chunk (text, metadata, anything appended after IEND).
- SVG: parsed with lxml (no DTD, no entities, no network) and copied element by element
  from a whitelist of drawing elements and presentation attributes. Whatever is not on it
  goes: <script>, <foreignObject>, <style>, <image>, <a>, every on* event handler, every
  href that is not a "#fragment" inside the document, every url(...) that is not url(#id).
  A document with a DOCTYPE is refused outright (entity tricks).

The logo is then served from our own origin (api/app.py) with its exact content type,
X-Content-Type-Options: nosniff and a Content-Security-Policy that forbids scripts, so even
a sanitiser miss could not run in the portal's origin.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from persistence.tables import MerchantBrandingRow
from persistence.uow import UowFactory
from services.kernel.codes import MerchantErrorCode as Code
from services.kernel.results import Invalid
from services.kernel.types import FieldProblem

MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_PIXELS = 2048  # per side, PNG
MAX_DISPLAY_NAME = 120
PNG = "image/png"
SVG = "image/svg+xml"
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_LOCAL_URL = re.compile(r"^url\(\s*#[A-Za-z_][\w.-]*\s*\)$")

SVG_ELEMENTS = frozenset({
    "svg", "g", "defs", "title", "desc", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "text", "tspan", "linearGradient", "radialGradient", "stop", "clipPath", "mask", "symbol", "use",
})
SVG_ATTRIBUTES = frozenset({
    "id", "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "width", "height",
    "viewBox", "preserveAspectRatio", "points", "transform", "version", "offset", "pathLength",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "opacity",
    "clip-path", "clip-rule", "clipPathUnits", "mask", "maskUnits", "maskContentUnits", "stop-color",
    "stop-opacity", "gradientUnits", "gradientTransform", "spreadMethod", "display", "visibility",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline",
    "letter-spacing", "dx", "dy",
})


@dataclass(frozen=True)
class Branding:
    display_name: str | None
    accent_color: str | None
    logo_media_type: str | None
    logo_sha256: str | None


@dataclass(frozen=True)
class Logo:
    body: bytes
    media_type: str
    sha256: str


NO_BRANDING = Branding(None, None, None, None)


def _branding(row: MerchantBrandingRow | None) -> Branding:
    if row is None:
        return NO_BRANDING
    return Branding(row.display_name, row.accent_color, row.logo_media_type, row.logo_sha256)


class LogoRefused(Exception):
    pass


def _sanitize_png(data: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise LogoRefused
            width, height = probe.size
            if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
                raise LogoRefused
            probe.load()
            image = probe.convert("RGBA") if probe.mode not in ("RGB", "RGBA", "L", "LA") else probe.copy()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise LogoRefused from exc
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _clean_attr_value(value: str) -> str | None:
    lowered = value.strip().lower()
    if "url(" in lowered and not _LOCAL_URL.match(value.strip()):
        return None
    if "javascript:" in lowered or "data:" in lowered:
        return None
    return value


def _copy_svg(source: etree._Element) -> etree._Element | None:
    if not isinstance(source.tag, str):
        return None  # comments, processing instructions
    qname = etree.QName(source)
    if qname.namespace != _SVG_NS or qname.localname not in SVG_ELEMENTS:
        return None  # <script>, <foreignObject>, <style>, <image>, <a>, other namespaces ...
    clean = etree.Element(f"{{{_SVG_NS}}}{qname.localname}", nsmap={None: _SVG_NS} if qname.localname == "svg" else None)
    for name, value in source.attrib.items():
        attr = etree.QName(name)
        if attr.localname == "href" and attr.namespace in (None, _XLINK_NS):
            # <use href="#id"> only: never a file, a URL, javascript: or data:
            if qname.localname == "use" and re.match(r"^#[A-Za-z_][\w.-]*$", value.strip()):
                clean.set("href", value.strip())
            continue
        if attr.namespace is not None or attr.localname not in SVG_ATTRIBUTES:
            continue  # on* handlers, style, xml:base, foreign attributes ...
        kept = _clean_attr_value(value)
        if kept is not None:
            clean.set(attr.localname, kept)
    clean.text = source.text
    for child in source:
        copied = _copy_svg(child)
        if copied is not None:
            clean.append(copied)
        # The text after a dropped element belongs to the parent's content.
        if child.tail:
            if copied is not None:
                copied.tail = child.tail
            elif len(clean):
                clean[-1].tail = (clean[-1].tail or "") + child.tail
            else:
                clean.text = (clean.text or "") + child.tail
    return clean


def _sanitize_svg(data: bytes) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        raise LogoRefused from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise LogoRefused  # entities and external subsets: refused, not expanded
    root = tree.getroot()
    if etree.QName(root).namespace != _SVG_NS or etree.QName(root).localname != "svg":
        raise LogoRefused
    clean = _copy_svg(root)
    assert clean is not None
    return etree.tostring(clean, encoding="utf-8", xml_declaration=False)


def sanitize_logo(data: bytes) -> Logo:
    """The logo as it will be stored and served. Raises LogoRefused."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        body, media_type = _sanitize_png(data), PNG
    elif b"<svg" in data[:4096]:
        body, media_type = _sanitize_svg(data), SVG
    else:
        raise LogoRefused
    return Logo(body, media_type, hashlib.sha256(body).hexdigest())


def _check_logo(logo: str) -> Logo | FieldProblem:
    compact = "".join(logo.split())
    if len(compact) > (MAX_LOGO_BYTES * 4) // 3 + 4:
        return FieldProblem("logo", Code.LOGO_TOO_LARGE, "El logotipo puede pesar hasta 200 kB.")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return FieldProblem("logo", Code.NOT_BASE64, "Envía el logotipo (PNG o SVG) codificado en base64.")
    if len(data) > MAX_LOGO_BYTES:
        return FieldProblem("logo", Code.LOGO_TOO_LARGE, "El logotipo puede pesar hasta 200 kB.")
    try:
        return sanitize_logo(data)
    except LogoRefused:
        return FieldProblem(
            "logo", Code.LOGO_INVALID,
            f"El logotipo debe ser una imagen PNG (hasta {MAX_LOGO_PIXELS}×{MAX_LOGO_PIXELS} píxeles) o un SVG "
            "sin DOCTYPE. Exporta tu logotipo de nuevo en uno de esos formatos.",
        )


async def update_branding(
    uow_factory: UowFactory, merchant_id: int, *, display_name: str | None, logo: str | None, accent_color: str | None,
) -> Branding | Invalid:
    """Each argument: None keeps the current value, "" removes it."""
    problems: list[FieldProblem] = []
    name: str | None = None
    if display_name is not None:
        name = " ".join(display_name.split())
        if len(name) > MAX_DISPLAY_NAME or not name.isprintable():
            problems.append(FieldProblem("displayName", Code.DISPLAY_NAME_INVALID,
                                         f"El nombre comercial admite hasta {MAX_DISPLAY_NAME} caracteres visibles."))
    color: str | None = None
    if accent_color is not None:
        color = accent_color.strip().upper()
        if color and not _COLOR.match(color):
            problems.append(FieldProblem("accentColor", Code.COLOR_INVALID,
                                         "El color de acento se escribe #RRGGBB, por ejemplo #0B5ED7."))
    new_logo: Logo | None = None
    if logo:
        checked = _check_logo(logo)
        if isinstance(checked, FieldProblem):
            problems.append(checked)
        else:
            new_logo = checked
    if problems:
        return Invalid(tuple(problems))
    async with uow_factory(write=True) as uow:
        row = await uow.branding.for_merchant(merchant_id, with_logo=True)
        if row is None:
            row = MerchantBrandingRow(merchant_id=merchant_id, updated_at=datetime.now(UTC))
        if display_name is not None:
            row.display_name = name or None
        if accent_color is not None:
            row.accent_color = color or None
        if logo is not None:
            row.logo = new_logo.body if new_logo else None
            row.logo_media_type = new_logo.media_type if new_logo else None
            row.logo_sha256 = new_logo.sha256 if new_logo else None
        row.updated_at = datetime.now(UTC)
        await uow.branding.save(row)
        await uow.commit()
    return _branding(row)


async def get_branding(uow_factory: UowFactory, merchant_id: int) -> Branding:
    async with uow_factory() as uow:
        return _branding(await uow.branding.for_merchant(merchant_id))


async def get_logo(uow_factory: UowFactory, merchant_id: int) -> Logo | None:
    async with uow_factory() as uow:
        row = await uow.branding.for_merchant(merchant_id, with_logo=True)
    if row is None or row.logo is None or row.logo_media_type is None or row.logo_sha256 is None:
        return None
    return Logo(row.logo, row.logo_media_type, row.logo_sha256)


def logo_url(public_url: str, company_number: str, branding: Branding) -> str | None:
    """Where the portal and API clients fetch the logo; the version makes a new logo a new URL."""
    if branding.logo_sha256 is None:
        return None
    return f"{public_url.rstrip('/')}/logos/{company_number}?v={branding.logo_sha256[:16]}"


async def get_logo_by_company(uow_factory: UowFactory, company_number: str) -> Logo | None:
    if not (company_number.isascii() and company_number.isdigit()) or len(company_number) > 12:
        return None
    async with uow_factory() as uow:
        merchant = await uow.merchants.by_company_number(company_number)
    if merchant is None or merchant.id is None:
        return None
    return await get_logo(uow_factory, merchant.id)
