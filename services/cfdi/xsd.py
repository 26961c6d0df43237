"""XSD validation of CFDI 4.0 XML (cfdv40.xsd + TFD 1.1 + Pagos 2.0) and strict parsing.

The bundle includes the 5 MB catCFDI.xsd: compiling it costs ~100-200 ms, so it is
compiled once per process, lazily, under a lock (performance-facts.md: satcfdi's
`to_xml(validate=True)` recompiles it on every call). Validation itself runs under the
same lock: lxml's XMLSchema keeps its error log on the object, so concurrent `validate`
calls on one instance would mix their errors. It costs a few ms per document.
"""
from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "sat_data" / "schemas"
BUNDLE_XSD = SCHEMAS_DIR / "cfdi40_bundle.xsd"

_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


class XmlParseError(ValueError):
    """The bytes are not one well-formed XML document we are willing to read."""


def _parser() -> etree.XMLParser:
    # Non-recovering (satcfdi's shared parser recovers, so a truncated document would
    # "parse"), no network, no entity expansion, no DTD loading: input may come from
    # outside (a PAC's response, an upload).
    return etree.XMLParser(
        recover=False, no_network=True, resolve_entities=False, load_dtd=False,
        dtd_validation=False, huge_tree=False, remove_comments=False,
    )


def parse_strict(xml: bytes) -> etree._ElementTree:
    """Parse `xml` or raise XmlParseError. Documents with a DOCTYPE are refused."""
    if not isinstance(xml, (bytes, bytearray)):
        raise XmlParseError("XML must be bytes")
    try:
        tree = etree.ElementTree(etree.fromstring(bytes(xml), _parser()))
    except etree.XMLSyntaxError as exc:
        raise XmlParseError(f"XML mal formado: {exc}") from exc
    if tree.docinfo.doctype:
        raise XmlParseError("XML con DOCTYPE no permitido")
    return tree


def schema() -> etree.XMLSchema:
    """The compiled bundle schema (compiled on first use, once per process)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                _schema = etree.XMLSchema(etree.parse(str(BUNDLE_XSD), _parser()))
    return _schema


def validate_tree(tree: etree._ElementTree | etree._Element) -> list[str]:
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
