"""SandboxPac: the embedded, offline stand-in for a PAC. Its stamps have NO fiscal validity.

It behaves like a real PAC where that matters to the rest of the product:

- it parses the CFDI strictly and refuses what a PAC refuses (not a CFDI 4.0
  Comprobante, no Sello, schema errors, a Sello that does not verify with the embedded
  Certificado, a CSD not valid at Fecha, Fecha more than 72 h old or in the future, a
  document already stamped);
- it adds a real TimbreFiscalDigital 1.1 (schema-valid, with a SelloSAT that verifies),
  signed by its own self-signed certificate, so the PDF, the QR code and any verifier
  work end to end;
- it keeps a registry so `status` and `cancel` (SAT motivos 01-04) behave.

What marks the stamp as sandbox: the TFD's `Leyenda` (TimbreFiscalDigitalv11.xsd
declares it optional; "SANDBOX - SIN VALIDEZ FISCAL" fits its pattern, which has no
em dash), `RfcProvCertif` = SANDBOX_RFC_PROV_CERTIF, a certificate whose subject says
"SANDBOX — SIN VALIDEZ FISCAL" (SAT will never know it) and StampResult.is_sandbox.

State (all under `state_dir`, shared safely by several processes):
    certificate/sandbox_sat.cer       DER certificate (NoCertificadoSAT = its 20-digit serial)
    certificate/sandbox_sat.key.pem   RSA-2048 private key, PKCS#8 PEM, mode 0600, unencrypted
    stamps/<sha256>.json              idempotency store (FileStampStore)
    registry/<UUID>.json              one record per stamp: Vigente / Cancelado
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from services.cfdi import sat, xsd
from services.cfdi.sat import certificate_number

from .base import (
    CANCELLATION_REASONS,
    DEFAULT_TIMEOUT,
    STATUS_ACTIVE,
    STATUS_CANCELLED,
    STATUS_NOT_FOUND,
    BasePac,
    CancelResult,
    FileStampStore,
    StampingError,
    StampResult,
    StampStore,
    StatusResult,
    atomic_write,
    new_uuid,
    utc_now,
)
from .verify import find_tfd

# RFC the sandbox writes as RfcProvCertif. It has the shape of a persona moral RFC
# (tdCFDI:t_RFC_PM) and is used by the project only for sandbox stamps; any code that
# needs to tell a sandbox stamp from a real one should look at Leyenda / is_sandbox.
SANDBOX_RFC_PROV_CERTIF = "SPR190613I52"
SANDBOX_LEYENDA = "SANDBOX - SIN VALIDEZ FISCAL"
SANDBOX_SUBJECT = "SANDBOX — SIN VALIDEZ FISCAL"

MAX_AGE = timedelta(hours=72)  # a PAC refuses a CFDI whose Fecha is older (RMF 2.7.1.x / CFDI40101)
CLOCK_SKEW = timedelta(minutes=5)  # tolerated "future" Fecha, for clocks slightly ahead

FAIL_MODES = (None, "timeout", "error", "unavailable")
_UUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
_FECHA_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


class SandboxPac(BasePac):
    """The default PAC: offline, deterministic enough for tests, no fiscal validity.

    `fail_mode` (or `set_failure`) injects failures: "timeout" (sleeps past the timeout
    -> StampingTimeout, retryable), "error" (StampingError, not retryable),
    "unavailable" (StampingError, retryable).
    """

    is_sandbox = True

    def __init__(
        self,
        state_dir: Path,
        timeout: float = DEFAULT_TIMEOUT,
        fail_mode: str | None = None,
        store: StampStore | None = None,
    ) -> None:
        if fail_mode not in FAIL_MODES:
            raise ValueError(f"fail_mode must be one of {FAIL_MODES}")
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(timeout=timeout, store=store if store is not None else FileStampStore(self.state_dir / "stamps"))
        self._registry_dir = self.state_dir / "registry"
        self._registry_dir.mkdir(exist_ok=True)
        self._fail_mode = fail_mode
        self._temporary_failure: tuple[str | None, int] | None = None
        self._identity: _Identity | None = None
        self._identity_lock = threading.Lock()

    # ------------------------------------------------------------ failure injection

    def set_failure(self, mode: str | None, times: int | None = None) -> None:
        """Fail the next `times` calls (stamp/cancel/status) with `mode`; `times=None`
        makes it permanent; `mode=None` clears every injected failure."""
        if mode not in FAIL_MODES:
            raise ValueError(f"mode must be one of {FAIL_MODES}")
        if mode is None:
            self._fail_mode, self._temporary_failure = None, None
        elif times is None:
            self._fail_mode, self._temporary_failure = mode, None
        else:
            self._temporary_failure = (mode, int(times))

    async def _maybe_fail(self) -> None:
        mode = self._fail_mode
        if self._temporary_failure is not None:
            temp_mode, left = self._temporary_failure
            if left > 0:
                mode = temp_mode
                self._temporary_failure = (temp_mode, left - 1) if left > 1 else None
        if mode == "timeout":
            await asyncio.sleep(self.timeout + 1.0)  # the caller's asyncio.timeout fires first
        elif mode == "error":
            raise StampingError("El PAC de pruebas rechazó la solicitud (falla simulada).", retryable=False, code="PAC_ERROR")
        elif mode == "unavailable":
            raise StampingError(
                "El PAC de pruebas no está disponible (falla simulada); intenta de nuevo.",
                retryable=True,
                code="PAC_UNAVAILABLE",
            )

    async def warm(self) -> None:
        """Do the one-off work now (start-up) instead of in the first stamp: compile the
        schema and stylesheets, load the postal-code catalogue, create/load the
        certificate. The first stamp of a cold process otherwise takes ~0.5-1 s."""

        def work() -> None:
            from services.catalogs import time_zone_for

            xsd.schema()
            sat.warm()
            time_zone_for("00000")
            self._get_identity()

        await asyncio.to_thread(work)

    # ------------------------------------------------------------------ certificate

    def certificate_der(self) -> bytes:
        """The sandbox certificate (DER). Blocking: creates it on first use (~0.1 s)."""
        return self._get_identity().certificate_der

    @property
    def certificate_number(self) -> str:
        return self._get_identity().number

    def _get_identity(self) -> _Identity:
        if self._identity is None:
            with self._identity_lock:
                if self._identity is None:
                    self._identity = _Identity.load_or_create(self.state_dir / "certificate")
        return self._identity

    # ------------------------------------------------------------------------ stamp

    async def _stamp(self, xml: bytes) -> StampResult:
        await self._maybe_fail()
        # Parsing, XSD, XSLT and RSA are CPU work: off the event loop.
        return await asyncio.to_thread(self._stamp_sync, xml, utc_now())

    def _stamp_sync(self, xml: bytes, now: datetime) -> StampResult:
        tree, root = _check_cfdi(xml, now)
        identity = self._get_identity()

        stamped_at = now.astimezone(timezone.utc).replace(microsecond=0)
        folio = new_uuid()
        tfd = etree.Element(f"{{{sat.NS_TFD}}}TimbreFiscalDigital", nsmap={"tfd": sat.NS_TFD, "xsi": sat.NS_XSI})
        # Attribute order as SAT's PACs write it; the cadena's order comes from the XSLT.
        tfd.set(f"{{{sat.NS_XSI}}}schemaLocation", sat.TFD_SCHEMA_LOCATION)
        tfd.set("Version", "1.1")
        tfd.set("UUID", folio)
        tfd.set("FechaTimbrado", stamped_at.astimezone(sat.FECHA_TIMBRADO_ZONE).strftime("%Y-%m-%dT%H:%M:%S"))
        tfd.set("RfcProvCertif", SANDBOX_RFC_PROV_CERTIF)
        tfd.set("Leyenda", SANDBOX_LEYENDA)
        tfd.set("SelloCFD", root.get("Sello"))
        tfd.set("NoCertificadoSAT", identity.number)
        cadena = sat.tfd_cadena(tfd)
        tfd.set("SelloSAT", sat.sello(cadena, identity.private_key))

        complemento = root.find(f"{{{sat.NS_CFDI}}}Complemento")
        if complemento is None:
            # cfdv40.xsd sequence: ..., Impuestos?, Complemento?, Addenda?
            complemento = etree.Element(f"{{{sat.NS_CFDI}}}Complemento")
            addenda = root.find(f"{{{sat.NS_CFDI}}}Addenda")
            if addenda is not None:
                addenda.addprevious(complemento)
            else:
                root.append(complemento)
        complemento.append(tfd)

        stamped = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
        return StampResult(
            xml=stamped,
            uuid=folio,
            stamped_at=stamped_at,
            sat_certificate_number=identity.number,
            is_sandbox=True,
        )

    async def _on_stamp_stored(self, result: StampResult) -> None:
        await asyncio.to_thread(self._register, result)

    # ------------------------------------------------------------ registry / cancel

    def _registry_path(self, folio: str) -> Path:
        return self._registry_dir / f"{folio}.json"

    def _register(self, result: StampResult) -> None:
        root = sat.parse_strict(result.xml).getroot()
        emisor = root.find(f"{{{sat.NS_CFDI}}}Emisor")
        receptor = root.find(f"{{{sat.NS_CFDI}}}Receptor")
        record = {
            "uuid": result.uuid,
            "status": STATUS_ACTIVE,
            "rfc_emisor": emisor.get("Rfc") if emisor is not None else None,
            "rfc_receptor": receptor.get("Rfc") if receptor is not None else None,
            "total": root.get("Total"),
            "stamped_at": result.stamped_at.isoformat(),
            "cancellation_reason": None,
            "replacement_uuid": None,
            "cancelled_at": None,
        }
        atomic_write(self._registry_path(result.uuid), json.dumps(record).encode("utf-8"))

    def _read_record(self, folio: str) -> dict | None:
        try:
            return json.loads(self._registry_path(folio).read_bytes())
        except FileNotFoundError:
            return None

    async def _stamped(self, xml: bytes) -> StampResult | None:
        # BasePac.stamped looked in the FileStampStore first: every sandbox stamp is there.
        await self._maybe_fail()
        return None

    async def _check(self) -> str:
        await self._maybe_fail()
        return f"PAC de pruebas (sandbox) listo; certificado {await asyncio.to_thread(lambda: self.certificate_number)}. SIN VALIDEZ FISCAL."

    async def _status(
        self, uuid: str, rfc_emisor: str | None, rfc_receptor: str | None = None, total: str | None = None
    ) -> StatusResult:
        await self._maybe_fail()
        folio = _normalize_uuid(uuid)
        record = await asyncio.to_thread(self._read_record, folio) if folio else None
        if record is None or (rfc_emisor and record["rfc_emisor"] != rfc_emisor.upper()):
            return StatusResult(uuid=(folio or uuid), status=STATUS_NOT_FOUND, is_sandbox=True)
        return _status_from_record(record)

    async def _cancel(
        self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None, signed_request: bytes | None = None
    ) -> CancelResult:
        await self._maybe_fail()
        return await asyncio.to_thread(self._cancel_sync, uuid, rfc_emisor, reason, replacement_uuid)

    def _cancel_sync(self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None) -> CancelResult:
        folio = _normalize_uuid(uuid)
        if folio is None:
            raise StampingError("El UUID no tiene un formato válido.", code="UUID_INVALID")
        if reason not in CANCELLATION_REASONS:
            raise StampingError(
                "El motivo de cancelación debe ser 01, 02, 03 o 04 (catálogo c_MotivoCancelacion).",
                code="CANCEL_REASON_INVALID",
            )
        replacement = None
        if reason == "01":
            replacement = _normalize_uuid(replacement_uuid or "")
            if replacement is None:
                raise StampingError(
                    "El motivo 01 requiere el UUID del comprobante que sustituye al cancelado (FolioSustitucion).",
                    code="CANCEL_REPLACEMENT_REQUIRED",
                )
            if replacement == folio:
                raise StampingError("Un comprobante no puede sustituirse a sí mismo.", code="CANCEL_REPLACEMENT_INVALID")
        elif replacement_uuid:
            raise StampingError(
                "El UUID de sustitución sólo se indica con el motivo 01.", code="CANCEL_REPLACEMENT_NOT_ALLOWED"
            )
        record = self._read_record(folio)
        if record is None or record["rfc_emisor"] != (rfc_emisor or "").upper():
            raise StampingError("El UUID no existe para ese RFC emisor.", code="UUID_NOT_FOUND")
        if record["status"] == STATUS_CANCELLED:  # SAT: "previamente cancelado" -> same answer
            return _cancel_from_record(record)
        record.update(
            status=STATUS_CANCELLED,
            cancellation_reason=reason,
            replacement_uuid=replacement,
            cancelled_at=utc_now().replace(microsecond=0).isoformat(),
        )
        atomic_write(self._registry_path(folio), json.dumps(record).encode("utf-8"))
        return _cancel_from_record(record)


# ------------------------------------------------------------------------- checks


def _invalid(message: str, code: str = "CFDI_INVALID") -> StampingError:
    return StampingError(message, retryable=False, code=code)


def _check_cfdi(xml: bytes, now: datetime) -> tuple[etree._ElementTree, etree._Element]:
    """What a PAC checks before stamping. Raises StampingError (never retryable)."""
    try:
        tree = sat.parse_strict(xml)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _invalid(f"El XML no es un documento válido: {exc}") from exc
    root = tree.getroot()
    if root.tag != f"{{{sat.NS_CFDI}}}Comprobante" or root.get("Version") != "4.0":
        raise _invalid("El documento no es un Comprobante CFDI versión 4.0.")
    if not (root.get("Sello") or "").strip():
        raise _invalid("El comprobante no está sellado (falta el atributo Sello).")
    try:
        if find_tfd(root) is not None:
            raise _invalid("El comprobante ya fue timbrado.", code="CFDI_ALREADY_STAMPED")
    except ValueError as exc:
        raise _invalid(str(exc), code="CFDI_ALREADY_STAMPED") from exc
    errors = xsd.validate_tree(tree)
    if errors:
        raise _invalid("El comprobante no cumple el esquema CFDI 4.0: " + "; ".join(errors[:3]))

    fecha = root.get("Fecha")
    issued = _issued_at(fecha, root.get("LugarExpedicion") or "")
    if issued < now - MAX_AGE:
        raise _invalid(
            f"La Fecha del comprobante ({fecha}) tiene más de 72 horas; genera y sella el comprobante de nuevo.",
            code="CFDI_DATE_OUT_OF_RANGE",
        )
    if issued > now + CLOCK_SKEW:
        raise _invalid(
            f"La Fecha del comprobante ({fecha}) es posterior a la hora actual.", code="CFDI_DATE_OUT_OF_RANGE"
        )
    _check_seal(tree, root, issued)
    return tree, root


def _issued_at(fecha: str | None, zip_code: str) -> datetime:
    if not fecha or not _FECHA_RE.match(fecha):
        raise _invalid("La Fecha del comprobante no tiene la forma AAAA-MM-DDThh:mm:ss.")
    # Fecha is local time of LugarExpedicion (Anexo 20). Imported here so that the
    # postal-code catalogue is loaded only when a stamp is requested.
    from services.catalogs import time_zone_for

    return datetime.fromisoformat(fecha).replace(tzinfo=time_zone_for(zip_code))


def _check_seal(tree: etree._ElementTree, root: etree._Element, issued: datetime) -> None:
    try:
        certificate = sat.load_certificate(base64.b64decode(root.get("Certificado") or "", validate=True), pem=False)
        base64.b64decode(root.get("Sello") or "", validate=True)  # bad base64 is reported here, not as a wrong Sello
    except (binascii.Error, ValueError) as exc:
        raise _invalid("El Certificado o el Sello del comprobante no son base64 válido.", code="CFDI_SEAL_INVALID") from exc
    if certificate_number(certificate) != root.get("NoCertificado"):
        raise _invalid("NoCertificado no corresponde al Certificado incluido.", code="CFDI_SEAL_INVALID")
    if not (certificate.not_valid_before_utc <= issued <= certificate.not_valid_after_utc):
        raise _invalid(
            "El certificado (CSD) no estaba vigente en la Fecha del comprobante; usa un CSD vigente.",
            code="CSD_NOT_VALID",
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise _invalid("El certificado no tiene una llave RSA.", code="CFDI_SEAL_INVALID")
    if not sat.sello_verifies(certificate, sat.cadena_original(tree), root.get("Sello") or ""):
        raise _invalid(
            "El Sello no corresponde al comprobante (¿se modificó después de sellarlo?).", code="CFDI_SEAL_INVALID"
        )


def _normalize_uuid(value: str) -> str | None:
    folio = (value or "").strip().upper()
    return folio if _UUID_RE.match(folio) else None


def _status_from_record(record: dict) -> StatusResult:
    return StatusResult(
        uuid=record["uuid"],
        status=record["status"],
        cancellation_reason=record.get("cancellation_reason"),
        replacement_uuid=record.get("replacement_uuid"),
        cancelled_at=datetime.fromisoformat(record["cancelled_at"]) if record.get("cancelled_at") else None,
        is_sandbox=True,
    )


def _cancel_from_record(record: dict) -> CancelResult:
    return CancelResult(
        uuid=record["uuid"],
        status=record["status"],
        reason=record["cancellation_reason"],
        replacement_uuid=record.get("replacement_uuid"),
        cancelled_at=datetime.fromisoformat(record["cancelled_at"]),
        is_sandbox=True,
    )


# ------------------------------------------------------------------ the certificate


class _Identity:
    CERT_NAME = "sandbox_sat.cer"
    KEY_NAME = "sandbox_sat.key.pem"

    def __init__(self, private_key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self.private_key = private_key
        self.certificate = certificate
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self.number = certificate_number(certificate)

    @classmethod
    def load_or_create(cls, directory: Path) -> _Identity:
        """Reuse the certificate in `directory`, or create it. Creation writes both files
        into a private temporary directory and renames it into place: rename fails when
        the target exists, so with several processes racing, exactly one pair wins and
        the others load it."""
        if not (directory / cls.CERT_NAME).exists():
            tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".certificate."))  # mode 0700
            try:
                key, cert = cls._generate()
                key_pem = key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                fd = os.open(tmp / cls.KEY_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key_pem)
                    fh.flush()
                    os.fsync(fh.fileno())
                (tmp / cls.CERT_NAME).write_bytes(cert.public_bytes(serialization.Encoding.DER))
                with contextlib.suppress(OSError):  # target exists: another process won
                    os.rename(tmp, directory)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        certificate = sat.load_certificate((directory / cls.CERT_NAME).read_bytes(), pem=False)
        private_key = serialization.load_pem_private_key((directory / cls.KEY_NAME).read_bytes(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise RuntimeError(f"{directory / cls.KEY_NAME} is not an RSA key")
        return cls(private_key, certificate)

    @staticmethod
    def _generate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # SAT style: the 20-digit NoCertificado is the ASCII text of the serial's bytes.
        # Leading "9" keeps it apart from SAT's own ranges (0000..., 3000...).
        digits = "9" + "".join(secrets.choice("0123456789") for _ in range(19))
        serial = int.from_bytes(digits.encode("ascii"), "big")
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, SANDBOX_SUBJECT),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "autofactura PAC de pruebas (SANDBOX — SIN VALIDEZ FISCAL)"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"RfcProvCertif {SANDBOX_RFC_PROV_CERTIF}"),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
            ]
        )
        now = datetime.now(timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return key, certificate
