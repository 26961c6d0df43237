"""XML plumbing shared by the stamping modules: a strict parser, SAT's stylesheets and
the CFDI 4.0 bundle schema, each compiled once per process.

lxml's XSLT and XMLSchema objects are not documented as safe for concurrent use from
several threads, and the CPU work runs in worker threads (asyncio.to_thread), so each
compiled object is used under its own lock. One transform takes well under a
millisecond; an XSD validation ~4 ms (performance-facts.md).
"""
from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from lxml import etree

CFDI_NS = "http://www.sat.gob.mx/cfd/4"
TFD_NS = "http://www.sat.gob.mx/TimbreFiscalDigital"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
TFD_SCHEMA_LOCATION = (
    "http://www.sat.gob.mx/TimbreFiscalDigital "
    "http://www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd"
)

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "sat_data" / "schemas"
_CFD_DIR = SCHEMAS_DIR / "www.sat.gob.mx" / "sitio_internet" / "cfd"
TFD_XSLT_PATH = _CFD_DIR / "TimbreFiscalDigital" / "cadenaoriginal_TFD_1_1.xslt"
CFDI_XSLT_PATH = _CFD_DIR / "4" / "cadenaoriginal_4_0" / "cadenaoriginal_4_0.xslt"
BUNDLE_XSD_PATH = SCHEMAS_DIR / "cfdi40_bundle.xsd"

# Documents from outside: no recovery (a truncated file is an error, not half a tree),
# no entity expansion, no network, no DTD loading.
_STRICT = dict(
    recover=False,
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)
_parser_local = threading.local()


def strict_parser() -> etree.XMLParser:
    # XMLParser instances are not thread-safe; one per thread.
    parser = getattr(_parser_local, "parser", None)
    if parser is None:
        parser = _parser_local.parser = etree.XMLParser(**_STRICT)
    return parser


def parse_strict(xml: bytes) -> etree._ElementTree:
    """Parse untrusted XML. Raises etree.XMLSyntaxError or ValueError."""
    tree = etree.ElementTree(etree.fromstring(xml, parser=strict_parser()))
    if tree.docinfo.doctype:
        # A CFDI never has a DOCTYPE; refusing it closes the door on entity tricks.
        raise ValueError("El XML no debe declarar DOCTYPE.")
    return tree


def _local_file_parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False)


class _Locked:
    def __init__(self, obj) -> None:
        self.obj = obj
        self.lock = threading.Lock()


@cache
def _tfd_xslt() -> _Locked:
    return _Locked(etree.XSLT(etree.parse(str(TFD_XSLT_PATH), _local_file_parser())))


@cache
def _cfdi_xslt() -> _Locked:
    return _Locked(etree.XSLT(etree.parse(str(CFDI_XSLT_PATH), _local_file_parser())))


@cache
def _bundle_schema() -> _Locked:
    return _Locked(etree.XMLSchema(etree.parse(str(BUNDLE_XSD_PATH), _local_file_parser())))


def tfd_cadena(tfd_element: etree._Element) -> str:
    """Cadena original of a TimbreFiscalDigital element (SAT cadenaoriginal_TFD_1_1.xslt).

    The stylesheet matches `/tfd:TimbreFiscalDigital`, i.e. the TFD as a document root,
    so the element is copied into a document of its own first."""
    doc = etree.ElementTree(_detached_copy(tfd_element))
    xslt = _tfd_xslt()
    with xslt.lock:
        return str(xslt.obj(doc))


def cfdi_cadena(tree: etree._ElementTree | etree._Element) -> str:
    """Cadena original of a Comprobante (SAT cadenaoriginal_4_0.xslt)."""
    xslt = _cfdi_xslt()
    with xslt.lock:
        return str(xslt.obj(tree))


def schema_errors(tree: etree._ElementTree | etree._Element) -> list[str]:
    """Problems against cfdi40_bundle.xsd (CFDI 4.0 + TFD 1.1 + Pagos 2.0); [] when valid."""
    schema = _bundle_schema()
    with schema.lock:
        if schema.obj.validate(tree):
            return []
        return [f"línea {e.line}: {e.message}" for e in schema.obj.error_log]


def _detached_copy(element: etree._Element) -> etree._Element:
    # Re-parse the serialised element: a clean document whose root carries every
    # namespace declaration it needs (deepcopy can leave inherited ones behind).
    return etree.fromstring(etree.tostring(element), parser=strict_parser())


def warm() -> None:
    """Compile the stylesheets and the schema now (start-up) rather than on first use."""
    _tfd_xslt(), _cfdi_xslt(), _bundle_schema()
