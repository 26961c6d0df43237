"""Cadena original and Sello verification with SAT's own XSLTs (no satcfdi).

Anexo 20, "Secuencia de formación de la cadena original" (cadenaoriginal_4_0.xslt) and
the Timbre Fiscal Digital's (cadenaoriginal_TFD_1_1.xslt). Sello = base64 of RSA
PKCS#1 v1.5 over SHA-256 of the UTF-8 cadena (Anexo 20, Comprobante@Sello);
NoCertificado = the certificate's serial number as ASCII digits (Comprobante@NoCertificado).

lxml XSLT objects are compiled once per thread (about 20 ms each) rather than shared,
because applying one stylesheet object from several threads at once is not documented
as safe in lxml.
"""
from __future__ import annotations

import base64
import binascii
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from services.cfdi.csd import certificate_number
from services.cfdi.xsd import SCHEMAS_DIR, XmlParseError, parse_strict

_CFD = SCHEMAS_DIR / "www.sat.gob.mx" / "sitio_internet" / "cfd"
CADENA_XSLT = _CFD / "4" / "cadenaoriginal_4_0" / "cadenaoriginal_4_0.xslt"
TFD_XSLT = _CFD / "TimbreFiscalDigital" / "cadenaoriginal_TFD_1_1.xslt"
NS_CFDI = "http://www.sat.gob.mx/cfd/4"
NS_TFD = "http://www.sat.gob.mx/TimbreFiscalDigital"

_local = threading.local()


def _xslt(path: Path) -> etree.XSLT:
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


stylesheet = _xslt  # public name: the compiled SAT stylesheet at path, per thread


def _tree(xml: bytes | etree._ElementTree | etree._Element):
    if isinstance(xml, (bytes, bytearray)):
        return parse_strict(bytes(xml))
    return xml


def cadena_original(xml: bytes | etree._ElementTree | etree._Element) -> str:
    """The CFDI 4.0 cadena original, exactly as SAT's cadenaoriginal_4_0.xslt makes it."""
    return str(_xslt(CADENA_XSLT)(_tree(xml)))


def tfd_cadena(xml: bytes | etree._ElementTree | etree._Element) -> str:
    """The Timbre Fiscal Digital 1.1 cadena (||1.1|UUID|...||) of a stamped CFDI."""
    tree = _tree(xml)
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    tfd = root.find(f"{{{NS_CFDI}}}Complemento/{{{NS_TFD}}}TimbreFiscalDigital")
    if tfd is None:
        raise ValueError("El CFDI no tiene TimbreFiscalDigital")
    return str(_xslt(TFD_XSLT)(etree.ElementTree(tfd)))


def _verify_rsa_sha256(cert: x509.Certificate, data: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def verify_seal(xml: bytes) -> bool:
    """True when Comprobante@Sello verifies over the cadena original with the embedded
    Certificado and NoCertificado is that certificate's number. False for any defect
    (malformed XML, missing attributes, bad base64, wrong signature)."""
    try:
        tree = parse_strict(xml)
    except XmlParseError:
        return False
    root = tree.getroot()
    if root.tag != f"{{{NS_CFDI}}}Comprobante":
        return False
    sello, cert_b64, number = root.get("Sello"), root.get("Certificado"), root.get("NoCertificado")
    if not (sello and cert_b64 and number):
        return False
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64, validate=True))
    except (binascii.Error, ValueError):
        return False
    if certificate_number(cert) != number:
        return False
    return _verify_rsa_sha256(cert, cadena_original(tree).encode("utf-8"), sello)


def verify_tfd_seal(xml: bytes, sat_certificate_der: bytes) -> bool:
    """True when the TFD's SelloSAT verifies with SAT's certificate (NoCertificadoSAT)."""
    try:
        tree = parse_strict(xml)
    except XmlParseError:
        return False
    tfd = tree.getroot().find(f"{{{NS_CFDI}}}Complemento/{{{NS_TFD}}}TimbreFiscalDigital")
    if tfd is None:
        return False
    cert = x509.load_der_x509_certificate(sat_certificate_der)
    if certificate_number(cert) != tfd.get("NoCertificadoSAT"):
        return False
    return _verify_rsa_sha256(cert, tfd_cadena(tree).encode("utf-8"), tfd.get("SelloSAT") or "")
