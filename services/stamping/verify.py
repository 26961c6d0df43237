"""Read and check the TimbreFiscalDigital (TFD 1.1) of a stamped CFDI.

SelloSAT is the PAC/SAT's RSA-SHA256 (PKCS#1 v1.5) signature, base64, over the TFD's
cadena original produced by SAT's cadenaoriginal_TFD_1_1.xslt; NoCertificadoSAT names
the certificate that made it (SAT encodes the 20 digits as the ASCII bytes of the X.509
serial number).
"""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from lxml import etree

from services.cfdi.sat import TFD_PATH, load_certificate, parse_strict, tfd_cadena
from services.cfdi.verify import verify_tfd_seal

_TFD_ATTRIBUTES = ("Version", "UUID", "FechaTimbrado", "RfcProvCertif", "Leyenda", "SelloCFD", "NoCertificadoSAT", "SelloSAT")


def find_tfd(root: etree._Element) -> etree._Element | None:
    found = root.findall(TFD_PATH)
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


def verify_tfd(xml: bytes, certificate_der: bytes) -> bool:
    """True when the TFD's SelloSAT is a valid signature of its cadena by this
    certificate (DER or PEM) and NoCertificadoSAT names it. False for anything else
    (no TFD or more than one, malformed XML, bad base64, another certificate).

    The check itself is services.cfdi.verify.verify_tfd_seal; this adds PEM input and
    refuses a comprobante with two TFDs."""
    try:
        certificate = load_certificate(certificate_der)
        if find_tfd(parse_strict(xml).getroot()) is None:
            return False
    except ValueError:
        return False
    return verify_tfd_seal(xml, certificate.public_bytes(serialization.Encoding.DER))
