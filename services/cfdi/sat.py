"""SAT's plumbing, written once: namespaces, the strict XML parser, SAT's data files
(catalogues, schemas, stylesheets), the two cadenas originales, the Sello, and
certificates (loading, NoCertificado).

Light on purpose: the PDF worker processes import it. At import time it needs only the
standard library and lxml; `cryptography` is imported inside the functions that use it,
and SAT's stylesheets are compiled on first use (per thread). The 5 MB bundle schema is
compiled and used by services.cfdi.xsd; nothing here imports satcfdi, WeasyPrint or the
database.

lxml XSLT objects are compiled once per thread (about 20 ms each) rather than shared,
because applying one stylesheet object from several threads at once is not documented
as safe in lxml.
"""
from __future__ import annotations

import base64
import binascii
import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree

if TYPE_CHECKING:  # pragma: no cover
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

# ---- namespaces --------------------------------------------------------------------

# Anexo 20 (cfdv40.xsd targetNamespace) and TimbreFiscalDigitalv11.xsd.
NS_CFDI = "http://www.sat.gob.mx/cfd/4"
NS_TFD = "http://www.sat.gob.mx/TimbreFiscalDigital"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"cfdi": NS_CFDI, "tfd": NS_TFD}  # prefixes for find()/iterfind()
COMPROBANTE = f"{{{NS_CFDI}}}Comprobante"
TFD_TAG = f"{{{NS_TFD}}}TimbreFiscalDigital"
TFD_PATH = f"{{{NS_CFDI}}}Complemento/{TFD_TAG}"  # where the TFD lives in a Comprobante
TFD_SCHEMA_LOCATION = (
    "http://www.sat.gob.mx/TimbreFiscalDigital "
    "http://www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd"
)
# Anexo 20, TimbreFiscalDigital (TimbreFiscalDigitalv11.xsd documentation): FechaTimbrado
# is in the time of the Zona Centro.
FECHA_TIMBRADO_ZONE = ZoneInfo("America/Mexico_City")

# ---- SAT's data files --------------------------------------------------------------

SAT_DATA_DIR = Path(__file__).resolve().parent.parent / "sat_data"
CATALOG_DIR = SAT_DATA_DIR / "catalogos"  # Anexo 20 catCFDI (each file names its "source")
SCHEMAS_DIR = SAT_DATA_DIR / "schemas"
BUNDLE_XSD = SCHEMAS_DIR / "cfdi40_bundle.xsd"  # cfdv40.xsd + TFD 1.1 + Pagos 2.0
_CFD = SCHEMAS_DIR / "www.sat.gob.mx" / "sitio_internet" / "cfd"
# Anexo 20, "Secuencia de formación de la cadena original" (cadenaoriginal_4_0.xslt)
# and the Timbre Fiscal Digital's (cadenaoriginal_TFD_1_1.xslt).
CADENA_XSLT = _CFD / "4" / "cadenaoriginal_4_0" / "cadenaoriginal_4_0.xslt"
TFD_XSLT = _CFD / "TimbreFiscalDigital" / "cadenaoriginal_TFD_1_1.xslt"


def catalog_rows(name: str) -> list[dict]:
    """The rows of catalogue `name` (e.g. "c_FormaPago"): sat_data/catalogos/<name>.json."""
    with open(CATALOG_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)["rows"]


def catalog_csv(name: str) -> Iterator[dict[str, str]]:
    """The rows of a large catalogue kept as CSV (c_ClaveProdServ, c_CodigoPostal)."""
    with open(CATALOG_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def is_current(row: dict) -> bool:
    """A catalogue row without FechaFinVigencia (vigencia_hasta) is in force."""
    return not row.get("vigencia_hasta")


# ---- strict parsing ----------------------------------------------------------------


class XmlParseError(ValueError):
    """The bytes are not one well-formed XML document we are willing to read."""


def xml_parser() -> etree.XMLParser:
    """A new strict parser (lxml parsers are cheap and not meant to be shared across threads).

    Non-recovering (satcfdi's shared parser recovers, so a truncated document would
    "parse"), no network, no entity expansion, no DTD loading, no huge trees: input may
    come from outside (a PAC's response, an upload)."""
    return etree.XMLParser(
        recover=False, no_network=True, resolve_entities=False, load_dtd=False,
        dtd_validation=False, huge_tree=False, remove_comments=False,
    )


def parse_strict(xml: bytes) -> etree._ElementTree:
    """Parse `xml` or raise XmlParseError. Documents with a DOCTYPE are refused."""
    if not isinstance(xml, (bytes, bytearray)):
        raise XmlParseError("XML must be bytes")
    try:
        tree = etree.ElementTree(etree.fromstring(bytes(xml), xml_parser()))
    except etree.XMLSyntaxError as exc:
        raise XmlParseError(f"XML mal formado: {exc}") from exc
    if tree.docinfo.doctype:
        raise XmlParseError("XML con DOCTYPE no permitido")
    return tree


def as_tree(xml: bytes | etree._ElementTree | etree._Element) -> etree._ElementTree | etree._Element:
    """`xml` parsed with parse_strict when it is bytes; a tree or element as it is."""
    return parse_strict(bytes(xml)) if isinstance(xml, (bytes, bytearray)) else xml


# ---- SAT's stylesheets and the cadenas originales ----------------------------------

_local = threading.local()


def stylesheet(path: Path) -> etree.XSLT:
    """The compiled SAT stylesheet at `path`, compiled once per thread."""
    cache = getattr(_local, "xslt", None)
    if cache is None:
        cache = _local.xslt = {}
    compiled = cache.get(path)
    if compiled is None:
        # XSLT needs to read its xsl:include files from disk; no network access.
        access = etree.XSLTAccessControl(read_network=False, write_file=False,
                                         create_dir=False, write_network=False)
        compiled = cache[path] = etree.XSLT(etree.parse(str(path)), access_control=access)
    return compiled


def warm() -> None:
    """Compile both stylesheets for this thread now rather than on first use."""
    stylesheet(TFD_XSLT)
    stylesheet(CADENA_XSLT)


def cadena_original(xml: bytes | etree._ElementTree | etree._Element) -> str:
    """The CFDI 4.0 cadena original, exactly as SAT's cadenaoriginal_4_0.xslt makes it
    (bytes are parsed with parse_strict first)."""
    return str(stylesheet(CADENA_XSLT)(as_tree(xml)))


def tfd_cadena(tfd: etree._Element) -> str:
    """Cadena original del complemento de certificación digital del SAT (TFD 1.1):
    ||1.1|UUID|FechaTimbrado|RfcProvCertif|[Leyenda|]SelloCFD|NoCertificadoSAT||,
    each value normalize-space()d, Leyenda only when present (Anexo 20 rubro III.B),
    made by SAT's own cadenaoriginal_TFD_1_1.xslt.

    The stylesheet matches `/tfd:TimbreFiscalDigital`, i.e. the TFD as a document root,
    so the element is copied into a document of its own first: re-parsing the serialised
    element gives a clean document whose root carries every namespace declaration it
    needs (deepcopy can leave inherited ones behind)."""
    doc = parse_strict(etree.tostring(tfd))
    return str(stylesheet(TFD_XSLT)(doc))


# ---- Sello -------------------------------------------------------------------------


def sello(cadena: str, key: rsa.RSAPrivateKey) -> str:
    """Sello (Comprobante@Sello, TFD@SelloSAT): base64 of RSA PKCS#1 v1.5 over SHA-256
    of the UTF-8 cadena (Anexo 20, Comprobante@Sello)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = key.sign(cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def sello_verifies(cert: x509.Certificate, cadena: str, sello_b64: str) -> bool:
    """True when `sello_b64` is the Sello of `cadena` by the RSA key of `cert`; False for
    bad base64, a non-RSA key or a wrong signature."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        signature = base64.b64decode(sello_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


# ---- certificates ------------------------------------------------------------------


def load_certificate(data: bytes, *, pem: bool = True) -> x509.Certificate:
    """A certificate from DER (SAT's .cer, Comprobante@Certificado decoded) or, unless
    `pem=False`, PEM bytes. Raises ValueError (TypeError for non-bytes)."""
    from cryptography import x509

    if pem and data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def certificate_number(cert: x509.Certificate) -> str:
    """SAT's NoCertificado: the serial number's bytes are the ASCII digits of the number
    (Anexo 20, atributo NoCertificado: 20 digits)."""
    serial = cert.serial_number
    raw = serial.to_bytes((serial.bit_length() + 7) // 8 or 1, "big")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if len(text) == 20 and text.isascii() and text.isdigit():
        return text
    return str(serial)  # not a SAT certificate; never matches a 20-digit NoCertificado
