"""XML plumbing shared by the stamping modules: a strict parser, SAT's stylesheets and
the CFDI 4.0 bundle schema, each compiled once per process.

The compiled objects are shared with services/cfdi, which keeps the XSD under a lock
and the XSLTs per thread (lxml does not promise they are safe across threads).
"""
from __future__ import annotations

from lxml import etree

CFDI_NS = "http://www.sat.gob.mx/cfd/4"
TFD_NS = "http://www.sat.gob.mx/TimbreFiscalDigital"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
TFD_SCHEMA_LOCATION = (
    "http://www.sat.gob.mx/TimbreFiscalDigital "
    "http://www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd"
)

# One strict parser, one compiled bundle schema and one set of SAT stylesheets per
# process: they live in services/cfdi (xsd.py, verify.py); stamping reuses them rather
# than compiling the 5 MB catalogue schema a second time.
from services.cfdi import verify as _cfdi_verify  # noqa: E402
from services.cfdi import xsd as _cfdi_xsd  # noqa: E402

parse_strict = _cfdi_xsd.parse_strict  # raises XmlParseError (a ValueError)


def tfd_cadena(tfd_element: etree._Element) -> str:
    """Cadena original of a TimbreFiscalDigital element (SAT cadenaoriginal_TFD_1_1.xslt).

    The stylesheet matches `/tfd:TimbreFiscalDigital`, i.e. the TFD as a document root,
    so the element is copied into a document of its own first."""
    doc = etree.ElementTree(_detached_copy(tfd_element))
    return str(_cfdi_verify.stylesheet(_cfdi_verify.TFD_XSLT)(doc))


def cfdi_cadena(tree: etree._ElementTree | etree._Element) -> str:
    """Cadena original of a Comprobante (SAT cadenaoriginal_4_0.xslt)."""
    return _cfdi_verify.cadena_original(tree)


def schema_errors(tree: etree._ElementTree | etree._Element) -> list[str]:
    """Problems against cfdi40_bundle.xsd (CFDI 4.0 + TFD 1.1 + Pagos 2.0); [] when valid."""
    return _cfdi_xsd.validate_tree(tree)


def _detached_copy(element: etree._Element) -> etree._Element:
    # Re-parse the serialised element: a clean document whose root carries every
    # namespace declaration it needs (deepcopy can leave inherited ones behind).
    return parse_strict(etree.tostring(element)).getroot()


def warm() -> None:
    """Compile the stylesheets and the schema now (start-up) rather than on first use."""
    _cfdi_xsd.schema()
    _cfdi_verify.stylesheet(_cfdi_verify.TFD_XSLT)
    _cfdi_verify.stylesheet(_cfdi_verify.CADENA_XSLT)
