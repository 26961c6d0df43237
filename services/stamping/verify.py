"""Read and check the TimbreFiscalDigital (TFD 1.1) of a stamped CFDI.

SelloSAT is the PAC/SAT's RSA-SHA256 (PKCS#1 v1.5) signature, base64, over the TFD's
cadena original produced by SAT's cadenaoriginal_TFD_1_1.xslt; NoCertificadoSAT names
the certificate that made it (SAT encodes the 20 digits as the ASCII bytes of the X.509
serial number).
"""
from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from ._xml import CFDI_NS, TFD_NS, parse_strict, tfd_cadena

_TFD_ATTRIBUTES = ("Version", "UUID", "FechaTimbrado", "RfcProvCertif", "Leyenda", "SelloCFD", "NoCertificadoSAT", "SelloSAT")


def find_tfd(root: etree._Element) -> etree._Element | None:
    found = root.findall(f"{{{CFDI_NS}}}Complemento/{{{TFD_NS}}}TimbreFiscalDigital")
    if len(found) > 1:
        raise ValueError("El comprobante tiene más de un TimbreFiscalDigital.")
    return found[0] if found else None


def tfd_info(xml: bytes) -> dict:
    """The TFD's attributes plus its `cadena` (and `Sello` of the Comprobante).

    Keys: Version, UUID, FechaTimbrado, RfcProvCertif, Leyenda (None when absent),
    SelloCFD, NoCertificadoSAT, SelloSAT, cadena, Sello.
    Raises ValueError when the XML cannot be parsed or has no TFD.
    """
    try:
        root = parse_strict(xml).getroot()
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"XML mal formado: {exc}") from exc
    tfd = find_tfd(root)
    if tfd is None:
        raise ValueError("El comprobante no tiene TimbreFiscalDigital.")
    info = {name: tfd.get(name) for name in _TFD_ATTRIBUTES}
    info["cadena"] = tfd_cadena(tfd)
    info["Sello"] = root.get("Sello")
    return info


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from DER (SAT's .cer) or PEM bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def certificate_number(certificate: x509.Certificate) -> str:
    """SAT's NoCertificado: the serial number's bytes read as ASCII digits; falls back to
    the decimal serial when the serial is not SAT-style."""
    serial = certificate.serial_number
    raw = serial.to_bytes((serial.bit_length() + 7) // 8 or 1, "big")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return str(serial)
    return text if text.isdigit() else str(serial)


def verify_tfd(xml: bytes, certificate_der: bytes) -> bool:
    """True when the TFD's SelloSAT is a valid signature of its cadena by this
    certificate and NoCertificadoSAT names this certificate. False for anything else
    (no TFD, malformed XML, bad base64, another certificate)."""
    certificate = load_certificate(certificate_der)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        info = tfd_info(xml)
    except ValueError:
        return False
    if info["NoCertificadoSAT"] != certificate_number(certificate):
        return False
    try:
        signature = base64.b64decode(info["SelloSAT"] or "", validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, info["cadena"].encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
