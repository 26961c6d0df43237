"""The emulated PAC's memory: credentials, stamps by document hash and by UUID, SAT's
view of each UUID (Vigente, Cancelado, a cancellation "En proceso"), and the failures
a test asks for. Thread-safe: the server runs in its own thread and event loop."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from services.cfdi import sat

from ..base import StampingError, StampResult, document_key, utc_now
from ..sandbox import SandboxPac

PUBLICO_EN_GENERAL = "XAXX010101000"
ACCEPTANCE_THRESHOLD = Decimal("1000")

# The sandbox's refusals as the PAC codes Finkok and SW answer (their documented answers).
PAC_CODES = {
    "CFDI_INVALID": ("705", "XML estructura inválida"),
    "CFDI_SEAL_INVALID": ("302", "Sello mal formado o inválido"),
    "CSD_NOT_VALID": ("305", "La fecha de emisión no está dentro de la vigencia del CSD del Emisor"),
    "CFDI_DATE_OUT_OF_RANGE": ("401", "Fecha y hora de generación fuera de rango"),
    "CFDI_ALREADY_STAMPED": ("707", "El CFDI ya contiene un TimbreFiscalDigital"),
}


@dataclass
class Record:
    """SAT's view of one stamped CFDI."""

    uuid: str
    document_hash: str
    xml: bytes
    rfc_emisor: str
    rfc_receptor: str
    total: str
    tipo: str
    state: str = "Vigente"  # Estado
    cancellation_status: str | None = None  # EstatusCancelacion
    acuse: bytes | None = None

    @property
    def cancellable(self) -> str:
        return "Cancelable con aceptación" if self.needs_acceptance else "Cancelable sin aceptación"

    @property
    def needs_acceptance(self) -> bool:
        """CFF 29-A and RMF 2.7.1.35 as SAT summarises them: no acceptance at most $1,000,
        to PUBLICO EN GENERAL, or for egresos, nómina and traslado (the emulator does not
        know business days: a test that wants "next business day" uses the rule in
        services/cancellation/rules.py)."""
        try:
            total = Decimal(self.total)
        except InvalidOperation:
            total = Decimal(0)
        return total > ACCEPTANCE_THRESHOLD and self.rfc_receptor != PUBLICO_EN_GENERAL and self.tipo == "I"


@dataclass
class EmulatorState:
    state_dir: Path
    users: dict[str, str] = field(default_factory=lambda: {"demo@example.com": "demo-password"})
    tokens: set[str] = field(default_factory=lambda: {"demo-token"})
    #: 307 answers carry the earlier XML (Finkok's `stamp` "may or may not"; SW's SDKs read it)
    earlier_xml_on_307: bool = True
    #: the next N stamp answers are held this many seconds after stamping (a lost answer)
    stall_seconds: float = 0.0
    stall_times: int = 0
    #: the next N stamp/cancel calls answer 708 (SAT unreachable), stamping nothing
    fail_708_times: int = 0
    #: cancellations that need acceptance stay "En proceso" until accept()/reject()
    calls: list[str] = field(default_factory=list)
    #: SW's customid header -> the UUID stamped under it
    customids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        self._lock = threading.Lock()
        self._stamp_locks: dict[str, threading.Lock] = {}
        self._sandbox = SandboxPac(self.state_dir / "sandbox")
        self.by_hash: dict[str, Record] = {}
        self.by_uuid: dict[str, Record] = {}

    # -------------------------------------------------------------- test controls

    def stall_next(self, seconds: float, times: int = 1) -> None:
        with self._lock:
            self.stall_seconds, self.stall_times = seconds, times

    def fail_next_with_708(self, times: int = 1) -> None:
        with self._lock:
            self.fail_708_times = times

    def take_stall(self) -> float:
        with self._lock:
            if self.stall_times > 0:
                self.stall_times -= 1
                return self.stall_seconds
            return 0.0

    def take_708(self) -> bool:
        with self._lock:
            if self.fail_708_times > 0:
                self.fail_708_times -= 1
                return True
            return False

    @property
    def stamp_count(self) -> int:
        with self._lock:
            return len(self.by_uuid)

    def stamps_of(self, rfc_emisor: str | None = None) -> list[Record]:
        with self._lock:
            return [r for r in self.by_uuid.values() if rfc_emisor is None or r.rfc_emisor == rfc_emisor]

    def accept(self, uuid: str) -> None:
        """The receiver accepts (or 3 business days of silence pass): SAT cancels."""
        with self._lock:
            record = self.by_uuid[uuid.upper()]
            record.state, record.cancellation_status = "Cancelado", "Cancelado con aceptación"

    def reject(self, uuid: str) -> None:
        with self._lock:
            record = self.by_uuid[uuid.upper()]
            record.cancellation_status = "Solicitud rechazada"

    def warm(self) -> None:
        """Create the certificate and compile SAT's schema and stylesheets now, not in the
        first stamp (blocking)."""
        from services.catalogs import time_zone_for
        from services.cfdi import xsd

        xsd.schema()
        sat.warm()
        time_zone_for("00000")
        self._sandbox.certificate_der()

    @property
    def certificate_der(self) -> bytes:
        return self._sandbox.certificate_der()

    # ------------------------------------------------------------------ protocol

    def check_user(self, username: str, password: str) -> bool:
        with self._lock:
            return self.users.get(username) == password and bool(password)

    def earlier(self, xml: bytes) -> Record | None:
        with self._lock:
            return self.by_hash.get(document_key(xml))

    def stamp(self, xml: bytes) -> tuple[Record, bool]:
        """(record, new): the stamp of these bytes, made now or earlier. Raises
        StampingError with the sandbox's code for what a PAC refuses. Blocking (XSD,
        XSLT, RSA): call it in a thread."""
        key = document_key(xml)
        with self._lock:
            lock = self._stamp_locks.setdefault(key, threading.Lock())
        with lock:  # one stamp per document, however many arrive at once
            with self._lock:
                if key in self.by_hash:
                    return self.by_hash[key], False
            result: StampResult = self._sandbox._stamp_sync(xml, utc_now())
            root = sat.parse_strict(xml).getroot()
            emisor = root.find(f"{{{sat.NS_CFDI}}}Emisor")
            receptor = root.find(f"{{{sat.NS_CFDI}}}Receptor")
            record = Record(
                uuid=result.uuid, document_hash=key, xml=result.xml,
                rfc_emisor=emisor.get("Rfc") if emisor is not None else "",
                rfc_receptor=receptor.get("Rfc") if receptor is not None else "",
                total=root.get("Total") or "0", tipo=root.get("TipoDeComprobante") or "I",
            )
            with self._lock:
                self.by_hash[key] = record
                self.by_uuid[record.uuid] = record
            return record, True

    def cancel(self, signed_request: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """(RfcEmisor, [(UUID, EstatusUUID)], acuse) for a signed Cancelacion (SAT's
        cancelacfd schema). Refuses a request without an XMLDSig Signature."""
        root = sat.parse_strict(signed_request).getroot()
        ns = "http://cancelacfd.sat.gob.mx"
        if root.tag != f"{{{ns}}}Cancelacion":
            raise ValueError("no es una solicitud Cancelacion")
        if root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None:
            raise ValueError("la solicitud no está firmada")
        rfc = root.get("RfcEmisor") or ""
        results = []
        for folio in root.iter(f"{{{ns}}}Folio"):
            uuid = (folio.get("UUID") or "").upper()
            with self._lock:
                record = self.by_uuid.get(uuid)
                if record is None or record.rfc_emisor != rfc:
                    results.append((uuid, "205"))
                    continue
                if record.state == "Cancelado" or record.cancellation_status == "En proceso":
                    results.append((uuid, "202"))
                    continue
                if record.needs_acceptance:
                    record.cancellation_status = "En proceso"
                else:
                    record.state, record.cancellation_status = "Cancelado", "Cancelado sin aceptación"
                results.append((uuid, "201"))
        fecha = datetime.now(sat.FECHA_TIMBRADO_ZONE).strftime("%Y-%m-%dT%H:%M:%S")
        acuse = _acuse(rfc, fecha, results)
        with self._lock:
            for uuid, _ in results:
                if uuid in self.by_uuid:
                    self.by_uuid[uuid].acuse = acuse
        return rfc, results, acuse

    def status(self, uuid: str) -> Record | None:
        with self._lock:
            return self.by_uuid.get((uuid or "").upper())


def _acuse(rfc: str, fecha: str, results: list[tuple[str, str]]) -> bytes:
    envelope = etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope", nsmap={"s": "http://schemas.xmlsoap.org/soap/envelope/"})
    body = etree.SubElement(envelope, "{http://schemas.xmlsoap.org/soap/envelope/}Body")
    response = etree.SubElement(body, "{http://cancelacfd.sat.gob.mx}CancelaCFDResponse", nsmap={None: "http://cancelacfd.sat.gob.mx"})
    result = etree.SubElement(response, "{http://cancelacfd.sat.gob.mx}CancelaCFDResult", Fecha=fecha, RfcEmisor=rfc)
    for uuid, code in results:
        folios = etree.SubElement(result, "{http://cancelacfd.sat.gob.mx}Folios")
        etree.SubElement(folios, "{http://cancelacfd.sat.gob.mx}UUID").text = uuid
        etree.SubElement(folios, "{http://cancelacfd.sat.gob.mx}EstatusUUID").text = code
    return etree.tostring(envelope)


def refusal(exc: StampingError) -> tuple[str, str]:
    return PAC_CODES.get(exc.code, ("705", exc.message))
