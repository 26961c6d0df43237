"""XSD validation of CFDI 4.0 XML (cfdv40.xsd + TFD 1.1 + Pagos 2.0).

The bundle includes the 5 MB catCFDI.xsd: compiling it costs ~100-200 ms, so it is
compiled once per process, lazily, under a lock (performance-facts.md: satcfdi's
`to_xml(validate=True)` recompiles it on every call). Validation itself runs under the
same lock: lxml's XMLSchema keeps its error log on the object, so concurrent `validate`
calls on one instance would mix their errors. It costs a few ms per document.
Parsing is services.cfdi.sat's strict parser.
"""
from __future__ import annotations

import threading

from lxml import etree

from services.cfdi.sat import BUNDLE_XSD, XmlParseError, parse_strict, xml_parser

_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def schema() -> etree.XMLSchema:
    """The compiled bundle schema (compiled on first use, once per process)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                _schema = etree.XMLSchema(etree.parse(str(BUNDLE_XSD), xml_parser()))
    return _schema


def validate_tree(tree: etree._ElementTree | etree._Element) -> list[str]:
    """Problems against cfdi40_bundle.xsd (CFDI 4.0 + TFD 1.1 + Pagos 2.0); [] when valid."""
    compiled = schema()
    with _lock:
        if compiled.validate(tree):
            return []
        return [f"line {e.line}: {e.message}" for e in compiled.error_log]


def validate_xml(xml: bytes) -> list[str]:
    """[] when `xml` is well formed and valid against cfdv40.xsd (+TFD/Pagos); else errors."""
    try:
        tree = parse_strict(xml)
    except XmlParseError as exc:
        return [str(exc)]
    return validate_tree(tree)
