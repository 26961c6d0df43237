"""The free-text attributes of a CFDI 4.0 as cfdv40.xsd restricts them, read from the XSD.

Anexo 20's cfdv40.xsd gives each free-text attribute a simple type with
`xs:whiteSpace collapse`, a minLength/maxLength and a pattern: Concepto@Descripcion
`[^|]{1,1000}`, Concepto@NoIdentificacion `[^|]{1,100}`, Concepto@Unidad `[^|]{1,20}`,
Emisor@Nombre and Receptor@Nombre `[^|]{1,300}` (the pipe is the cadena original's
separator). On top of the XSD, XML 1.0 itself (§2.2 Char) cannot carry C0 control
characters other than tab, newline and carriage return, lone surrogates, U+FFFE or
U+FFFF: lxml refuses to write them, so a datum holding one can never become a CFDI.
C1 controls (U+007F-U+009F) are legal XML but "discouraged" (XML 1.0 §2.2) and invisible
on the printed representation: they are refused as well.

The limits are read once from the XSD in the package rather than retyped, so this module
and services.cfdi.xsd validate against the same file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lxml import etree

from services.cfdi.sat import SCHEMAS_DIR

CFDV40_XSD = SCHEMAS_DIR / "www.sat.gob.mx" / "sitio_internet" / "cfd" / "4" / "cfdv40.xsd"
_XS = "{http://www.w3.org/2001/XMLSchema}"

# (element, attribute) of the free-text attributes we write.
DESCRIPCION = ("Concepto", "Descripcion")
NO_IDENTIFICACION = ("Concepto", "NoIdentificacion")
UNIDAD = ("Concepto", "Unidad")
RECEPTOR_NOMBRE = ("Receptor", "Nombre")
EMISOR_NOMBRE = ("Emisor", "Nombre")

# XML 1.0 Char excludes these; C1 controls are excluded as "discouraged" (see docstring).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_XSD_SPACE = re.compile("[ \t\n\r]+")


@dataclass(frozen=True)
class TextRule:
    """One attribute's restriction: lengths and pattern after whitespace collapse."""

    min_length: int
    max_length: int
    pattern: re.Pattern[str]  # XSD patterns are anchored: fullmatch


def _xsd_pattern(value: str) -> re.Pattern[str]:
    # The patterns used here are plain character classes with a count ([^|]{1,1000}),
    # whose XSD and Python readings coincide.
    return re.compile(value)


@cache
def rules() -> dict[tuple[str, str], TextRule]:
    """Every (element, attribute) in cfdv40.xsd with a string restriction and a pattern.

    Where an attribute name repeats under one element name (Concepto and
    ACuentaTerceros... are distinct elements; Concepto@Descripcion appears once per
    Concepto and once per Parte), the strictest reading wins (identical today)."""
    tree = etree.parse(str(CFDV40_XSD))
    out: dict[tuple[str, str], TextRule] = {}
    for attribute in tree.iter(f"{_XS}attribute"):
        restriction = attribute.find(f"{_XS}simpleType/{_XS}restriction")
        if restriction is None or restriction.get("base") != "xs:string":
            continue
        facets = {child.tag[len(_XS):]: child.get("value") for child in restriction}
        if "pattern" not in facets or "maxLength" not in facets:
            continue
        element = next((a.get("name") for a in attribute.iterancestors(f"{_XS}element")), None)
        if element is None:
            continue
        rule = TextRule(int(facets.get("minLength", "0")), int(facets["maxLength"]), _xsd_pattern(facets["pattern"]))
        key = (element, attribute.get("name"))
        known = out.get(key)
        if known is None or rule.max_length < known.max_length:
            out[key] = rule
    return out


def rule(key: tuple[str, str]) -> TextRule:
    return rules()[key]


def collapse(value: str) -> str:
    """XSD whiteSpace collapse: runs of space, tab, CR and LF become one space; trimmed."""
    return _XSD_SPACE.sub(" ", value).strip(" ")


def unwritable(value: str) -> str | None:
    """The first character XML 1.0 cannot carry (or a C1 control), or None."""
    found = _NOT_XML.search(value)
    return found.group() if found else None


@dataclass(frozen=True)
class TextProblem:
    kind: str  # "EMPTY", "TOO_LONG", "CONTROL", "PATTERN" (a character the pattern excludes, e.g. "|")
    max_length: int


def text_problem(value: str, key: tuple[str, str]) -> TextProblem | None:
    """Why `value` cannot be written as that attribute of a CFDI 4.0 (None: it can).

    `value` is checked as it will be written: control characters on the raw text,
    lengths and pattern after the XSD's whitespace collapse."""
    r = rule(key)
    if unwritable(value) is not None:
        return TextProblem("CONTROL", r.max_length)
    collapsed = collapse(value)
    if len(collapsed) < max(r.min_length, 1):
        return TextProblem("EMPTY", r.max_length)
    if len(collapsed) > r.max_length:
        return TextProblem("TOO_LONG", r.max_length)
    if not r.pattern.fullmatch(collapsed):
        return TextProblem("PATTERN", r.max_length)
    return None
