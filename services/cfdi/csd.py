"""Loading and checking a CSD (Certificado de Sello Digital) uploaded by a merchant.

A CFDI must be sealed with a CSD, never with the e.firma (FIEL): Código Fiscal de la
Federación art. 29 fr. II and Anexo 20 (atributos Sello / NoCertificado / Certificado).
SAT's test-set certificates (tests/fixtures/sat/csd) show how the two differ; inspected with
`cryptography`:

=============================  ===========================  ==============================
property                       CSD                          FIEL (e.firma)
=============================  ===========================  ==============================
keyUsage                       digitalSignature,            digitalSignature,
                               nonRepudiation only          nonRepudiation,
                                                            dataEncipherment, keyAgreement
extendedKeyUsage               absent                       emailProtection, clientAuth
subject OU                     present (branch name,        absent
                               "Sucursal 1", "CSD01_...")
subject emailAddress / C       absent                       present
=============================  ===========================  ==============================

`_is_csd` uses the key-usage extensions (a property of the certificate's purpose, not of
how SAT spelled a name); the missing OU is only used as a tie-breaker when a certificate
carries no keyUsage at all.

No checks here against SAT's certificate revocation list (LCO): that needs the network.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.catalogs import MORAL, PHYSICAL
from services.cfdi.sat import certificate_number, load_certificate

# OID 2.5.4.45 (x500UniqueIdentifier): SAT puts "RFC" or "RFC / RFC-of-legal-rep" there.
_OID_UNIQUE_ID = x509.ObjectIdentifier("2.5.4.45")
# OID 2.5.4.41 (name): SAT repeats the legal name there.
_OID_NAME = x509.ObjectIdentifier("2.5.4.41")


class CsdError(Exception):
    """A CSD that cannot be used. `code` is stable English, `message` Spanish for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CsdInfo:
    rfc: str
    legal_name: str
    certificate_number: str  # NoCertificado, 20 digits (Anexo 20, atributo NoCertificado)
    valid_from: datetime  # aware, UTC
    valid_to: datetime  # aware, UTC
    person_type: str  # "PHYSICAL" (RFC of 13 chars) or "MORAL" (12)


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def certificate_rfc(cert: x509.Certificate) -> str:
    unique = _attr(cert.subject, _OID_UNIQUE_ID) or ""
    # "EKU9003173C9 / VADA800927DJ3": the first one is the holder, the second the
    # legal representative of a persona moral.
    return unique.split("/")[0].strip().upper()


def _legal_name(cert: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME, _OID_NAME):
        value = _attr(cert.subject, oid)
        if value and value.strip():
            return " ".join(value.split())
    return ""


def _is_csd(cert: x509.Certificate) -> bool:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    try:
        eku = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        eku = set()
    if eku & {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION}:
        return False  # e.firma: used to log in to SAT's portal and to sign e-mail
    if ku is not None:
        if ku.data_encipherment or ku.key_agreement or ku.key_encipherment:
            return False  # e.firma keys may encrypt; a CSD only signs
        return bool(ku.digital_signature)
    return bool(cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))


def load_private_key(private_key_der: bytes, password: bytes) -> rsa.RSAPrivateKey:
    """Decrypt the SAT .key (DER, encrypted PKCS#8) in memory. Raises CsdError."""
    try:
        key = serialization.load_der_private_key(private_key_der, password=password)
    except (ValueError, TypeError) as exc:
        raise CsdError(
            "WRONG_PASSWORD",
            "No se pudo abrir la llave privada (.key) con esa contraseña. Revisa la "
            "contraseña del CSD (no la de tu e.firma) y que el archivo sea el .key del CSD.",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CsdError(
            "WRONG_PASSWORD",
            "La llave privada (.key) no es una llave RSA del SAT. Sube el archivo .key de tu CSD.",
        )
    return key


def load_csd(
    certificate_der: bytes,
    private_key_der: bytes,
    password: bytes,
    *,
    now: datetime | None = None,
) -> CsdInfo:
    """Check that a .cer/.key/password triple is a usable CSD and describe it.

    Order of checks: certificate parses, it is a CSD (not an e.firma), the key decrypts,
    the key belongs to the certificate, and the certificate is valid at `now`.
    """
    info, _cert, _key = open_csd(certificate_der, private_key_der, password, now=now)
    return info


# Decrypting the SAT .key (PKCS#8, PBES2 with many PBKDF2 rounds) costs ~40-55 ms, about
# 90 % of building and sealing one CFDI (bench/, BENCHMARKS.md). The opened, checked
# (certificate, key) pair is kept in memory per process, keyed by a hash of the encrypted
# key blob, the certificate and the password, in a small LRU: never written anywhere, and a
# different password or file misses the cache and is checked from scratch. Only the
# validity dates are checked on every call (they depend on `now`).
KEY_CACHE_SIZE = 32
_key_cache: OrderedDict[bytes, tuple[x509.Certificate, rsa.RSAPrivateKey, str, str, str]] = OrderedDict()
_key_cache_lock = threading.Lock()


def clear_key_cache() -> None:
    with _key_cache_lock:
        _key_cache.clear()


def _cache_key(certificate_der: bytes, private_key_der: bytes, password: bytes) -> bytes:
    h = hashlib.sha256()
    for part in (certificate_der, private_key_der, password):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def _open_checked(certificate_der: bytes, private_key_der: bytes, password: bytes):
    """Parse the certificate, check it is a CSD, decrypt the key and match it (cached)."""
    cache_key = _cache_key(certificate_der, private_key_der, password)
    with _key_cache_lock:
        hit = _key_cache.get(cache_key)
        if hit is not None:
            _key_cache.move_to_end(cache_key)
            return hit
    try:
        cert = load_certificate(certificate_der, pem=False)  # SAT's .cer is DER
    except (ValueError, TypeError) as exc:
        raise CsdError(
            "INVALID_CERTIFICATE",
            "El archivo .cer no es un certificado válido. Sube el archivo .cer de tu "
            "Certificado de Sello Digital (CSD) tal como lo descargaste del SAT.",
        ) from exc
    if not _is_csd(cert):
        raise CsdError(
            "NOT_A_CSD",
            "Este certificado es de e.firma (FIEL), no un Certificado de Sello Digital. "
            "Tramita tu CSD en el portal del SAT (Certifica) y sube ese .cer y .key.",
        )
    key = load_private_key(private_key_der, password)
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise CsdError(
            "KEY_MISMATCH",
            "La llave privada (.key) no corresponde al certificado (.cer). Sube el par de "
            "archivos del mismo CSD (tienen el mismo número en el nombre).",
        )
    opened = (cert, key, certificate_rfc(cert), _legal_name(cert), certificate_number(cert))
    with _key_cache_lock:
        _key_cache[cache_key] = opened
        _key_cache.move_to_end(cache_key)
        while len(_key_cache) > KEY_CACHE_SIZE:
            _key_cache.popitem(last=False)
    return opened


def open_csd(
    certificate_der: bytes,
    private_key_der: bytes,
    password: bytes,
    *,
    now: datetime | None = None,
) -> tuple[CsdInfo, x509.Certificate, rsa.RSAPrivateKey]:
    """`load_csd` that also hands back the parsed certificate and the decrypted key
    (for sealing). The checked pair comes from a per-process in-memory cache when the
    same blob and password were opened before (see KEY_CACHE_SIZE)."""
    cert, key, rfc, legal_name, number = _open_checked(certificate_der, private_key_der, password)
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    valid_from, valid_to = cert.not_valid_before_utc, cert.not_valid_after_utc
    if not (valid_from <= moment <= valid_to):
        raise CsdError(
            "EXPIRED",
            f"El certificado no está vigente (vigencia del {valid_from:%d/%m/%Y} al "
            f"{valid_to:%d/%m/%Y}). Tramita un CSD nuevo en el portal del SAT y súbelo.",
        )
    info = CsdInfo(
        rfc=rfc,
        legal_name=legal_name,
        certificate_number=number,
        valid_from=valid_from,
        valid_to=valid_to,
        person_type=PHYSICAL if len(rfc) == 13 else MORAL,
    )
    return info, cert, key
