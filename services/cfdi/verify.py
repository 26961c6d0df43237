"""Cadena original and Sello verification with SAT's own XSLTs (no satcfdi).

Anexo 20, "Secuencia de formación de la cadena original" (cadenaoriginal_4_0.xslt) and
the Timbre Fiscal Digital's (cadenaoriginal_TFD_1_1.xslt). Sello = base64 of RSA
PKCS#1 v1.5 over SHA-256 of the UTF-8 cadena (Anexo 20, Comprobante@Sello);
NoCertificado = the certificate's serial number as ASCII digits (Comprobante@NoCertificado).
The stylesheets, the parser and the certificate rules are services.cfdi.sat's.
"""
from __future__ import annotations

import base64
import binascii

from lxml import etree

from services.cfdi import sat
from services.cfdi.sat import XmlParseError, cadena_original, parse_strict


def tfd_cadena(xml: bytes | etree._ElementTree | etree._Element) -> str:
    """The Timbre Fiscal Digital 1.1 cadena (||1.1|UUID|...||) of a stamped CFDI."""
    tree = sat.as_tree(xml)
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    tfd = root.find(sat.TFD_PATH)
    if tfd is None:
        raise ValueError("El CFDI no tiene TimbreFiscalDigital")
    return sat.tfd_cadena(tfd)


def verify_seal(xml: bytes) -> bool:
    """True when Comprobante@Sello verifies over the cadena original with the embedded
    Certificado and NoCertificado is that certificate's number. False for any defect
    (malformed XML, missing attributes, bad base64, wrong signature)."""
    try:
        tree = parse_strict(xml)
    except XmlParseError:
        return False
    root = tree.getroot()
    if root.tag != sat.COMPROBANTE:
        return False
    sello, cert_b64, number = root.get("Sello"), root.get("Certificado"), root.get("NoCertificado")
    if not (sello and cert_b64 and number):
        return False
    try:
        cert = sat.load_certificate(base64.b64decode(cert_b64, validate=True), pem=False)
    except (binascii.Error, ValueError):
        return False
    if sat.certificate_number(cert) != number:
        return False
    return sat.sello_verifies(cert, cadena_original(tree), sello)


def verify_tfd_seal(xml: bytes, sat_certificate_der: bytes) -> bool:
    """True when the TFD's SelloSAT verifies with SAT's certificate (NoCertificadoSAT)."""
    try:
        tree = parse_strict(xml)
    except XmlParseError:
        return False
    tfd = tree.getroot().find(sat.TFD_PATH)
    if tfd is None:
        return False
    cert = sat.load_certificate(sat_certificate_der, pem=False)
    if sat.certificate_number(cert) != tfd.get("NoCertificadoSAT"):
        return False
    return sat.sello_verifies(cert, sat.tfd_cadena(tfd), tfd.get("SelloSAT") or "")
