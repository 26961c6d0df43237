"""Printed representation (representación impresa) of a stamped CFDI 4.0, as PDF.

    pdf = render_invoice_pdf(xml_bytes, sandbox=False, merchant_display_name=None)

Our own WeasyPrint template instead of satcfdi's renderer: satcfdi lays its seals out in an
auto-sized table around unbreakable strings, which costs ~2.5 s a page. Here every table
has `table-layout: fixed`, the seals may break between any two characters, the QR code is
inline SVG, the only font is one pre-subset family loaded once per process together with
the stylesheet, and WeasyPrint's cache dict is reused across renders
(notes/performance-facts.md). Concept rows carry no markup inside their cells: WeasyPrint's
cost grows with the number of elements.

Everything printed comes from the XML, parsed with services.cfdi.sat's strict parser: a
document that is truncated, malformed or carries a DOCTYPE (external entities) is refused
(PdfRenderError) instead of printing half an invoice or a file from this machine. The TFD's
cadena original printed is sat.tfd_cadena (SAT's cadenaoriginal_TFD_1_1.xslt, compiled
lazily in each worker).

CPU-bound and synchronous: call it from a worker (services.pdf.pool.PdfRenderer), never
inside a coroutine.
"""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from urllib.parse import quote

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import etree

from services.kernel.folio import serie_folio as written_folio
from services.cfdi import sat
from services.cfdi.sat import NS, XmlParseError, parse_strict, tfd_cadena

from .amount_words import amount_in_words

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"

# Anexo 20, "Especificación técnica del código de barras bidimensional" (CFDI 3.3 and 4.0).
VERIFY_URL = "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx"

# SAT's test certification authority (AC UAT) issues CSD serial numbers starting with
# 30001000000; production CSDs start with 00001000000. An invoice sealed with a test CSD
# has no fiscal validity whatever flag the caller passes.
_TEST_CSD_PREFIX = "30001000000"

SANDBOX_LEGEND = "SANDBOX — SIN VALIDEZ FISCAL"
# The only data: URIs the fetcher opens: the merchant's logo, sanitised when it was uploaded.
LOGO_DATA_PREFIXES = ("data:image/png;base64,", "data:image/svg+xml;base64,")

_TAX_NAMES = {"001": "ISR", "002": "IVA", "003": "IEPS"}


class PdfRenderError(ValueError):
    """The XML cannot be printed as a CFDI 4.0 invoice. `code` is stable for programs."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code

    def __reduce__(self):  # crosses the process pool boundary intact
        return (type(self), (self.code, str(self)))


# ---- catalogues -----------------------------------------------------------------------


@cache
def _catalog(name: str) -> dict[str, str]:
    """c_* catalogue id -> texto. Expired rows are kept: an old invoice may use them."""
    out: dict[str, str] = {}
    for row in sorted(sat.catalog_rows(name), key=sat.is_current):  # current rows win
        out[row["id"]] = row["texto"]
    return out


def describe(catalog: str, code: str | None) -> str:
    """'601 - General de Ley Personas Morales'; the bare code when the catalogue lacks it."""
    if not code:
        return ""
    text = _catalog(catalog).get(code)
    return f"{code} - {text.rstrip('.')}" if text else code


# ---- number formatting ----------------------------------------------------------------


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise PdfRenderError("invalid_amount", f"Importe no numérico en el CFDI: {value!r}") from None


def money(value: str | Decimal | None, places: int | None = 2) -> str:
    """'3824.15' -> '3,824.15'. places=None keeps the XML's own decimals (at least two)."""
    d = value if isinstance(value, Decimal) else _decimal(value)
    if places is None:
        exponent = -d.as_tuple().exponent if isinstance(d.as_tuple().exponent, int) else 2
        places = max(2, exponent)
    return f"{d:,.{places}f}"


def quantity(value: str | None) -> str:
    """Cantidad as printed: '4' stays '4', '1.000000' becomes '1', '2.500' becomes '2.5'."""
    d = _decimal(value)
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def rate_label(tax: str, factor: str, rate: str | None) -> str:
    """'IVA 16 %', 'IVA 0 %', 'IVA exento', 'IEPS 26.5 %', 'IEPS cuota 0.3521'."""
    name = _TAX_NAMES.get(tax, tax)
    if factor == "Exento":
        return f"{name} exento"
    r = _decimal(rate)
    if factor == "Cuota":
        return f"{name} cuota {r.normalize():f}"
    pct = (r * 100).normalize()
    return f"{name} {pct:f} %"


def qr_total(total: str) -> str:
    """tt of the QR: the total with six decimals, trailing zeros dropped but one kept.

    Anexo 20 (CFDI 3.3/4.0 QR spec): up to 18 integer digits and 6 decimals, without
    non-significant zeros; phpcfdi/cfdi-expresiones (FormatTotal18x6) prints 1000.00 as
    "1000.0" and 2010.01 as "2010.01". The 10-digit zero padding was CFDI 3.2 only.
    """
    text = f"{_decimal(total).quantize(Decimal('0.000001')):f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def verification_url(uuid: str, rfc_emisor: str, rfc_receptor: str, total: str, sello: str) -> str:
    # An RFC may hold "&" (e.g. Ñ&A010101AAA): percent-encode so the query stays parseable.
    return (
        f"{VERIFY_URL}?id={uuid}&re={quote(rfc_emisor, safe='')}&rr={quote(rfc_receptor, safe='')}"
        f"&tt={qr_total(total)}&fe={quote(sello[-8:], safe='')}"
    )


# ---- view model -----------------------------------------------------------------------


@dataclass
class TaxLine:
    label: str
    amount: str  # formatted; '' for exento
    retention: bool = False


@dataclass
class ConceptView:
    clave_prod_serv: str
    no_identificacion: str
    cantidad: str
    clave_unidad: str
    unidad: str
    descripcion: str
    valor_unitario: str
    descuento: str
    importe: str
    objeto_imp: str
    taxes: list[TaxLine] = field(default_factory=list)

    # Each table cell is one string (see the template: no markup inside rows).
    @property
    def clave_cell(self) -> str:
        return " ".join(p for p in (self.clave_prod_serv, self.clave_unidad, self.unidad) if p)

    @property
    def desc_cell(self) -> str:
        if self.no_identificacion:
            return f"{self.descripcion} · No. ident. {self.no_identificacion}"
        return self.descripcion

    @property
    def taxes_cell(self) -> str:
        parts = [self.objeto_imp]
        parts += [f"{t.label} {t.amount}" if t.amount else t.label for t in self.taxes]
        return " · ".join(p for p in parts if p)


@dataclass
class InvoiceView:
    title: str
    heading: str
    legal_name: str
    emisor_rfc: str
    emisor_regimen: str
    receptor_nombre: str
    receptor_rfc: str
    receptor_domicilio: str
    receptor_regimen: str
    uso_cfdi: str
    serie_folio: str
    fecha: str
    lugar_expedicion: str
    tipo_comprobante: str
    forma_pago: str
    metodo_pago: str
    moneda: str
    tipo_cambio: str
    exportacion: str
    conceptos: list[ConceptView]
    has_discounts: bool
    subtotal: str
    descuento: str
    tax_totals: list[TaxLine]
    total: str
    total_words: str
    no_certificado: str
    uuid: str
    fecha_timbrado: str
    fecha_timbrado_iso: str  # W3C date with offset: PDF CreationDate/ModDate, fixed per document
    timbrado_epoch: int  # SOURCE_DATE_EPOCH for the embedded fonts
    rfc_prov_certif: str
    no_certificado_sat: str
    sello_cfd: str
    sello_sat: str
    tfd_cadena: str
    qr_url: str
    qr_svg: str
    sandbox: bool
    logo_src: str | None = None  # the merchant's sanitised logo as a data: URI (services/merchants/branding.py)
    sandbox_legend: str = SANDBOX_LEGEND
    cancelled: bool = False  # cancelled at SAT: printed with a CANCELADO mark
    # cfdi:CfdiRelacionados: (c_TipoRelacion described, [UUID, ...]) per node (issue 15:
    # a customer's correction substitutes the earlier CFDI, TipoRelacion 04).
    relacionados: list[tuple[str, list[str]]] = field(default_factory=list)


def _parse(xml: bytes) -> etree._Element:
    try:
        root = parse_strict(xml).getroot()
    except XmlParseError as exc:
        raise PdfRenderError("invalid_xml", f"El XML del CFDI no es válido: {exc}") from None
    if root.tag != sat.COMPROBANTE or root.get("Version") != "4.0":
        raise PdfRenderError("not_cfdi40", "El documento no es un CFDI versión 4.0.")
    return root


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    node = parent.find(path, NS)
    if node is None:
        raise PdfRenderError("incomplete_cfdi", f"Falta el nodo {what} en el CFDI.")
    return node


def _taxes(impuestos: etree._Element | None) -> list[TaxLine]:
    if impuestos is None:
        return []
    lines = [
        TaxLine(
            rate_label(t.get("Impuesto", ""), t.get("TipoFactor", ""), t.get("TasaOCuota")),
            money(t.get("Importe"), None) if t.get("Importe") else "",  # as the XML has it
        )
        for t in impuestos.iterfind("cfdi:Traslados/cfdi:Traslado", NS)
    ]
    lines += [
        TaxLine(
            "Ret. " + rate_label(t.get("Impuesto", ""), t.get("TipoFactor", ""), t.get("TasaOCuota")),
            money(t.get("Importe"), None),
            retention=True,
        )
        for t in impuestos.iterfind("cfdi:Retenciones/cfdi:Retencion", NS)
    ]
    return lines


def _tax_totals(root: etree._Element) -> list[TaxLine]:
    """Comprobante/Impuestos grouped by impuesto and tasa: IVA 16 %, IVA 8 %, IVA 0 %, IEPS…"""
    impuestos = root.find("cfdi:Impuestos", NS)
    if impuestos is None:
        return []
    traslados: dict[str, Decimal] = {}
    exentos: set[str] = set()
    for t in impuestos.iterfind("cfdi:Traslados/cfdi:Traslado", NS):
        label = rate_label(t.get("Impuesto", ""), t.get("TipoFactor", ""), t.get("TasaOCuota"))
        if t.get("TipoFactor") == "Exento":
            exentos.add(label)
        else:
            traslados[label] = traslados.get(label, Decimal(0)) + _decimal(t.get("Importe"))
    retenciones: dict[str, Decimal] = {}
    for r in impuestos.iterfind("cfdi:Retenciones/cfdi:Retencion", NS):
        label = "Retención " + _TAX_NAMES.get(r.get("Impuesto", ""), r.get("Impuesto", ""))
        retenciones[label] = retenciones.get(label, Decimal(0)) + _decimal(r.get("Importe"))

    def order(label: str) -> tuple:  # IVA before IEPS, higher rates first
        name, _, rest = label.partition(" ")
        number = re.match(r"[\d.]+", rest)
        return (name != "IVA", -Decimal(number.group()) if number else Decimal(0), label)

    lines = [TaxLine(label, money(amount)) for label, amount in sorted(traslados.items(), key=lambda i: order(i[0]))]
    lines += [TaxLine(label, "") for label in sorted(exentos)]
    lines += [TaxLine(label, money(amount), retention=True) for label, amount in sorted(retenciones.items())]
    return lines


def _stamped_at(value: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise PdfRenderError("incomplete_cfdi", f"FechaTimbrado no válida en el timbre: {value!r}") from None
    return naive if naive.tzinfo else naive.replace(tzinfo=sat.FECHA_TIMBRADO_ZONE)


def _qr_svg(url: str) -> str:
    # Error correction M: the level SAT's QR specification asks for.
    return segno.make(url, error="m", boost_error=False).svg_inline(
        border=0, omitsize=True, svgclass="qr-code", lineclass=None, title="Verificación SAT"
    )


def build_view(xml: bytes, *, sandbox: bool = False, merchant_display_name: str | None = None,
               merchant_logo: str | None = None, cancelled: bool = False) -> InvoiceView:
    root = _parse(xml)
    emisor = _one(root, "cfdi:Emisor", "Emisor")
    receptor = _one(root, "cfdi:Receptor", "Receptor")
    tfd = root.find("cfdi:Complemento/tfd:TimbreFiscalDigital", NS)
    if tfd is None:
        raise PdfRenderError(
            "cfdi_not_stamped", "El CFDI no está timbrado: falta el Timbre Fiscal Digital del PAC."
        )

    conceptos = []
    for c in root.iterfind("cfdi:Conceptos/cfdi:Concepto", NS):
        conceptos.append(
            ConceptView(
                clave_prod_serv=c.get("ClaveProdServ", ""),
                no_identificacion=c.get("NoIdentificacion", ""),
                cantidad=quantity(c.get("Cantidad")),
                clave_unidad=c.get("ClaveUnidad", ""),
                unidad=c.get("Unidad", ""),
                descripcion=c.get("Descripcion", ""),
                valor_unitario=money(c.get("ValorUnitario"), None),
                descuento=money(c.get("Descuento"), None) if c.get("Descuento") else "",
                importe=money(c.get("Importe"), None),
                objeto_imp=c.get("ObjetoImp", ""),
                taxes=_taxes(c.find("cfdi:Impuestos", NS)),
            )
        )

    moneda = root.get("Moneda", "MXN")
    total = root.get("Total", "0")
    uuid = tfd.get("UUID", "")  # as stamped: the QR and the printout must match the XML
    sello = root.get("Sello", "")
    url = verification_url(uuid, emisor.get("Rfc", ""), receptor.get("Rfc", ""), total, sello)
    no_certificado = root.get("NoCertificado", "")
    tipo = root.get("TipoDeComprobante", "")
    legal_name = emisor.get("Nombre", "")
    heading = (merchant_display_name or "").strip() or legal_name
    serie_folio = written_folio(root.get("Serie"), root.get("Folio"))
    stamped_at = _stamped_at(tfd.get("FechaTimbrado", ""))

    return InvoiceView(
        title={"I": "Factura", "E": "Nota de crédito"}.get(tipo, "CFDI"),
        heading=heading,
        legal_name=legal_name,
        emisor_rfc=emisor.get("Rfc", ""),
        emisor_regimen=describe("c_RegimenFiscal", emisor.get("RegimenFiscal")),
        receptor_nombre=receptor.get("Nombre", ""),
        receptor_rfc=receptor.get("Rfc", ""),
        receptor_domicilio=receptor.get("DomicilioFiscalReceptor", ""),
        receptor_regimen=describe("c_RegimenFiscal", receptor.get("RegimenFiscalReceptor")),
        uso_cfdi=describe("c_UsoCFDI", receptor.get("UsoCFDI")),
        serie_folio=serie_folio or "—",
        fecha=root.get("Fecha", "").replace("T", " "),
        lugar_expedicion=root.get("LugarExpedicion", ""),
        tipo_comprobante=describe("c_TipoDeComprobante", tipo),
        forma_pago=describe("c_FormaPago", root.get("FormaPago")),
        metodo_pago=describe("c_MetodoPago", root.get("MetodoPago")),
        moneda=describe("c_Moneda", moneda),
        tipo_cambio=root.get("TipoCambio", "") if moneda not in ("MXN", "XXX") else "",
        exportacion=describe("c_Exportacion", root.get("Exportacion")),
        conceptos=conceptos,
        has_discounts=any(c.descuento for c in conceptos),
        subtotal=money(root.get("SubTotal"), None),
        descuento=money(root.get("Descuento"), None) if root.get("Descuento") else "",
        tax_totals=_tax_totals(root),
        total=money(total, None),
        total_words=amount_in_words(_decimal(total), moneda),
        no_certificado=no_certificado,
        uuid=uuid,
        fecha_timbrado=tfd.get("FechaTimbrado", "").replace("T", " "),
        fecha_timbrado_iso=stamped_at.isoformat(),
        timbrado_epoch=int(stamped_at.timestamp()),
        rfc_prov_certif=tfd.get("RfcProvCertif", ""),
        no_certificado_sat=tfd.get("NoCertificadoSAT", ""),
        sello_cfd=tfd.get("SelloCFD", "") or sello,
        sello_sat=tfd.get("SelloSAT", ""),
        tfd_cadena=tfd_cadena(tfd),
        relacionados=[
            (describe("c_TipoRelacion", node.get("TipoRelacion")),
             [r.get("UUID", "") for r in node.findall("cfdi:CfdiRelacionado", NS)])
            for node in root.findall("cfdi:CfdiRelacionados", NS)
        ],
        qr_url=url,
        qr_svg=_qr_svg(url),
        logo_src=merchant_logo if merchant_logo and merchant_logo.startswith(LOGO_DATA_PREFIXES) else None,
        sandbox=sandbox or no_certificado.startswith(_TEST_CSD_PREFIX),
        cancelled=cancelled,
    )


# ---- HTML and PDF ---------------------------------------------------------------------


@cache
def _jinja() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_invoice_html(xml: bytes, *, sandbox: bool = False, merchant_display_name: str | None = None,
                        merchant_logo: str | None = None, cancelled: bool = False) -> str:
    """The HTML that render_invoice_pdf lays out (handy for tests and previews)."""
    view = build_view(xml, sandbox=sandbox, merchant_display_name=merchant_display_name, merchant_logo=merchant_logo,
                      cancelled=cancelled)
    return _jinja().get_template("invoice.html").render(inv=view)


class _Engine:
    """WeasyPrint objects that are costly to build and safe to reuse in one process:
    the font configuration (fontconfig + our @font-face), the parsed stylesheet, and the
    image/font cache dict that write_pdf fills."""

    def __init__(self) -> None:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.weasyprint = weasyprint
        self.fetcher = _local_fetcher()
        self.font_config = FontConfiguration()
        self.stylesheet = weasyprint.CSS(
            filename=str(TEMPLATES_DIR / "invoice.css"),
            font_config=self.font_config,
            url_fetcher=self.fetcher,
        )
        self.cache: dict = {}
        self.lock = threading.Lock()

    def layout(self, html: str):
        """The laid-out weasyprint.Document (pages, boxes) for our HTML."""
        doc = self.weasyprint.HTML(
            string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=self.fetcher
        )
        # One render at a time per process: the cache dict and the font configuration
        # are shared state (the pool runs one render per worker process anyway).
        with self.lock:
            return doc.render(stylesheets=[self.stylesheet], font_config=self.font_config, cache=self.cache)

    def write_pdf(self, html: str, epoch: int) -> bytes:
        document = self.layout(html)
        with self.lock, _source_date_epoch(epoch):
            # Reproducible output: pydyf derives the /ID from a hash of the content, the
            # Info dates come from the HTML's dcterms meta (FechaTimbrado), and fontTools
            # stamps each embedded font subset with SOURCE_DATE_EPOCH instead of "now".
            return document.write_pdf(pdf_identifier=True)


@contextmanager
def _source_date_epoch(epoch: int):
    # Process-wide for the length of one write: only reproducible-build-aware code reads
    # it (here fontTools' head.modified), and renders in one process are serialised.
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def _local_fetcher():
    """A URL fetcher that serves only this package's files (fonts, stylesheet): never the
    network, never a path taken from the XML. Built lazily: importing this module does not
    import WeasyPrint (the pool's parent process never needs it)."""
    from weasyprint.urls import URLFetcher

    allowed = HERE.as_uri() + "/"

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(LOGO_DATA_PREFIXES):
                return super().fetch(url, headers)  # the merchant's logo, inlined by build_view
            if not url.startswith(allowed) or ".." in url:
                raise ValueError(f"recurso no permitido en la representación impresa: {url}")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols={"file", "data"})


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def engine() -> _Engine:
    """The per-process WeasyPrint engine; the pool calls this once per worker to warm up."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
    return _engine


def layout_invoice(xml: bytes, *, sandbox: bool = False, merchant_display_name: str | None = None):
    """The laid-out weasyprint.Document: tests count its pages without a PDF reader."""
    html = render_invoice_html(xml, sandbox=sandbox, merchant_display_name=merchant_display_name)
    return engine().layout(html)


def render_invoice_pdf(xml: bytes, *, sandbox: bool = False, merchant_display_name: str | None = None,
                       merchant_logo: str | None = None, cancelled: bool = False) -> bytes:
    """PDF bytes of the printed representation of a stamped CFDI 4.0.

    Same input, same bytes: the PDF dates come from the FechaTimbrado and its /ID from
    a hash of its content. Raises PdfRenderError (code: invalid_xml, not_cfdi40,
    incomplete_cfdi, cfdi_not_stamped, invalid_amount) for XML it cannot print.
    """
    view = build_view(xml, sandbox=sandbox, merchant_display_name=merchant_display_name, merchant_logo=merchant_logo,
                      cancelled=cancelled)
    html = _jinja().get_template("invoice.html").render(inv=view)
    return engine().write_pdf(html, view.timbrado_epoch)
