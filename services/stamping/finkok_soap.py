"""Finkok's SOAP 1.1 messages: the requests we send and the answers we read.

Pure functions (bytes in, dataclasses out), shared by the client (finkok.py) and the
protocol emulator (emulator/finkok.py), and tested byte for byte against answers
recorded from Finkok's demo service (tests/fixtures/pac/finkok, from SAT-CFDI/python-
satcfdi's test suite, MIT).

What the answers look like (recorded in June 2024; phpcfdi/finkok docs):
- stamp / quick_stamp / stamped (stamp.wsdl): `<s0:xml>` holds the stamped CFDI
  XML-escaped, with `<s0:UUID>`, `<s0:Fecha>` (FechaTimbrado, Mexico City local time),
  `<s0:CodEstatus>`, `<s0:SatSeal>`, `<s0:NoCertificadoSAT>` and `<s0:Incidencias>`; a
  refusal fills `Incidencias/Incidencia` with `CodigoError` and `MensajeIncidencia`.
- cancel_signature (cancel.wsdl): `Folios/Folio` (UUID, EstatusUUID, EstatusCancelacion),
  SAT's `Acuse` XML-escaped, `Fecha`, `RfcEmisor`; a whole-request failure in
  `CodEstatus`.
- get_sat_status: `sat` with SAT's ConsultaCFDIService fields (CodigoEstatus, Estado,
  EsCancelable, EstatusCancelacion); the same fields SAT's own service answers
  (tests/fixtures/pac/sat/consulta-response.xml), so one reader serves both.
- get_receipt: `uuid`, `success`, `receipt` (the acuse, CDATA), `taxpayer_id`, `date`.

Elements are found by local name: Finkok answers with prefixes `s0`/`tns` today, and a
prefix is not part of the contract.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from services.cfdi import sat

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_STAMP = "http://facturacion.finkok.com/stamp"
NS_CANCEL = "http://facturacion.finkok.com/cancel"
NS_APPS = "apps.services.soap.core.views"

STAMP_OPERATIONS = ("stamp", "quick_stamp", "stamped", "sign_stamp")
CANCEL_OPERATIONS = ("cancel_signature", "get_sat_status", "get_receipt")

#: CodEstatus of a successful stamp (stamp, quick_stamp); `stamped` answers
#: "Comprobante recibido satisfactoriamente" (recorded answer).
STAMPED_OK = "Comprobante timbrado satisfactoriamente"


class SoapParseError(ValueError):
    """The answer is not a SOAP message of the expected operation."""


# ------------------------------------------------------------------------ requests


def _envelope(namespace: str, operation: str, fields: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<op:{name}>{escape(value)}</op:{name}>" for name, value in fields)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{NS_SOAP}" xmlns:op="{namespace}">'
        f"<soapenv:Header/><soapenv:Body><op:{operation}>{body}</op:{operation}></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode("utf-8")


def stamp_request(operation: str, xml: bytes, username: str, password: str) -> bytes:
    """stamp, quick_stamp or stamped: `<xml>` is the base64 of the sealed CFDI's bytes."""
    if operation not in STAMP_OPERATIONS:
        raise ValueError(f"not a stamp.wsdl operation: {operation}")
    return _envelope(NS_STAMP, operation, [
        ("xml", base64.b64encode(xml).decode("ascii")), ("username", username), ("password", password),
    ])


def cancel_signature_request(signed_cancellation: bytes, username: str, password: str) -> bytes:
    """cancel_signature: `<xml>` is the base64 of the Cancelacion signed with the issuer's CSD;
    store_pending false: SAT's answer is awaited instead of queued by Finkok."""
    return _envelope(NS_CANCEL, "cancel_signature", [
        ("xml", base64.b64encode(signed_cancellation).decode("ascii")),
        ("username", username), ("password", password), ("store_pending", "false"),
    ])


def get_sat_status_request(
    username: str, password: str, rfc_emisor: str, rfc_receptor: str, uuid: str, total: str
) -> bytes:
    """get_sat_status: SAT's ConsultaCFDIService through Finkok (emisor, receptor, UUID, Total)."""
    return _envelope(NS_CANCEL, "get_sat_status", [
        ("username", username), ("password", password), ("taxpayer_id", rfc_emisor),
        ("rtaxpayer_id", rfc_receptor), ("uuid", uuid), ("total", total),
    ])


def get_receipt_request(username: str, password: str, rfc_emisor: str, uuid: str) -> bytes:
    """get_receipt: SAT's acuse of a cancellation (type C)."""
    return _envelope(NS_CANCEL, "get_receipt", [
        ("username", username), ("password", password), ("taxpayer_id", rfc_emisor), ("uuid", uuid), ("type", "C"),
    ])


# ------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Incidence:
    code: str  # CodigoError: "300", "307", "708" ...
    message: str  # MensajeIncidencia, kept for the merchant and the log


@dataclass(frozen=True)
class StampAnswer:
    operation: str
    xml: bytes | None  # the stamped CFDI, unescaped, exactly the characters Finkok sent
    uuid: str | None
    fecha: str | None  # FechaTimbrado as Finkok wrote it (Mexico City local time)
    status: str | None  # CodEstatus
    sat_seal: str | None
    sat_certificate_number: str | None
    incidences: tuple[Incidence, ...]

    @property
    def stamped_at(self) -> datetime | None:
        """FechaTimbrado as aware UTC (TFD 1.1: local time of Mexico City, no offset)."""
        if not self.fecha:
            return None
        return datetime.fromisoformat(self.fecha[:19]).replace(tzinfo=sat.FECHA_TIMBRADO_ZONE).astimezone(UTC)


@dataclass(frozen=True)
class CancelFolio:
    uuid: str
    status_code: str  # EstatusUUID: 201, 202, 203, 205, 207, 208, no_cancelable ...
    message: str | None  # EstatusCancelacion


@dataclass(frozen=True)
class CancelAnswer:
    folios: tuple[CancelFolio, ...]
    acuse: bytes | None
    fecha: str | None
    rfc_emisor: str | None
    status: str | None  # CodEstatus: a whole-request failure ("708 ...", "300 ...")


@dataclass(frozen=True)
class SatStatusAnswer:
    """SAT's ConsultaCFDIService answer (directly or through Finkok's get_sat_status)."""

    code: str | None  # CodigoEstatus: "S - Comprobante obtenido satisfactoriamente."
    state: str | None  # Estado: Vigente | Cancelado | No Encontrado
    cancellable: str | None  # EsCancelable: Cancelable sin/con aceptación | No cancelable
    cancellation_status: str | None  # EstatusCancelacion: En proceso | Solicitud rechazada | ...
    efos: str | None = None  # ValidacionEFOS
    error: str | None = None  # Finkok's own `error` element


@dataclass(frozen=True)
class ReceiptAnswer:
    uuid: str | None
    success: bool
    receipt: bytes | None
    rfc_emisor: str | None
    date: str | None
    error: str | None


def _parse(body: bytes) -> etree._Element:
    try:
        root = etree.fromstring(body, sat.xml_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapParseError(f"La respuesta del PAC no es XML: {exc}") from exc
    if etree.QName(root).localname != "Envelope":
        raise SoapParseError("La respuesta del PAC no es un sobre SOAP.")
    return root


def _local(element: etree._Element, name: str) -> etree._Element | None:
    for child in element.iter():
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _text(element: etree._Element, name: str) -> str | None:
    found = _local(element, name)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _result(body: bytes, operation: str) -> etree._Element:
    root = _parse(body)
    fault = _local(root, "Fault")
    if fault is not None:
        raise SoapParseError(f"SOAP Fault: {_text(fault, 'faultstring') or 'sin detalle'}")
    result = _local(root, f"{operation}Result")
    if result is None:
        raise SoapParseError(f"La respuesta no contiene {operation}Result.")
    return result


def parse_stamp(body: bytes, operation: str = "stamp") -> StampAnswer:
    """stamp, quick_stamp, stamped or sign_stamp answer."""
    result = _result(body, operation)
    xml_text = None
    xml_element = _local(result, "xml")
    if xml_element is not None and xml_element.text and xml_element.text.strip():
        xml_text = xml_element.text.encode("utf-8")
    incidences = []
    holder = _local(result, "Incidencias")
    if holder is not None:
        for incidence in holder:
            if not isinstance(incidence.tag, str):
                continue
            incidences.append(Incidence(
                code=_text(incidence, "CodigoError") or "", message=_text(incidence, "MensajeIncidencia") or "",
            ))
    return StampAnswer(
        operation=operation, xml=xml_text, uuid=(_text(result, "UUID") or None),
        fecha=_text(result, "Fecha"), status=_text(result, "CodEstatus"), sat_seal=_text(result, "SatSeal"),
        sat_certificate_number=_text(result, "NoCertificadoSAT"), incidences=tuple(incidences),
    )


def parse_cancel(body: bytes) -> CancelAnswer:
    result = _result(body, "cancel_signature")
    folios = []
    holder = _local(result, "Folios")
    if holder is not None:
        for folio in holder:
            if isinstance(folio.tag, str):
                folios.append(CancelFolio(
                    uuid=(_text(folio, "UUID") or "").upper(), status_code=_text(folio, "EstatusUUID") or "",
                    message=_text(folio, "EstatusCancelacion"),
                ))
    acuse = _text(result, "Acuse")
    return CancelAnswer(
        folios=tuple(folios), acuse=acuse.encode("utf-8") if acuse else None, fecha=_text(result, "Fecha"),
        rfc_emisor=_text(result, "RfcEmisor"), status=_text(result, "CodEstatus"),
    )


def parse_sat_status(body: bytes) -> SatStatusAnswer:
    """Finkok's get_sat_status answer or SAT's ConsultaResponse (same field names)."""
    root = _parse(body)
    result = _local(root, "get_sat_statusResult")
    if result is None:
        result = _local(root, "ConsultaResult")
    if result is None:
        raise SoapParseError("La respuesta no contiene get_sat_statusResult ni ConsultaResult.")
    return SatStatusAnswer(
        code=_text(result, "CodigoEstatus"), state=_text(result, "Estado"),
        cancellable=_text(result, "EsCancelable"), cancellation_status=_text(result, "EstatusCancelacion"),
        efos=_text(result, "ValidacionEFOS"), error=_text(result, "error"),
    )


def parse_receipt(body: bytes) -> ReceiptAnswer:
    result = _result(body, "get_receipt")
    receipt = _text(result, "receipt")
    return ReceiptAnswer(
        uuid=_text(result, "uuid"), success=(_text(result, "success") or "").lower() == "true",
        receipt=receipt.encode("utf-8") if receipt else None, rfc_emisor=_text(result, "taxpayer_id"),
        date=_text(result, "date"), error=_text(result, "error"),
    )


# ------------------------------------------------------------- answers (emulator)


def _answer(namespace: str, operation: str, inner: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f'<senv:Envelope xmlns:senv="{NS_SOAP}" xmlns:tns="{namespace}" xmlns:s0="{NS_APPS}">'
        f"<senv:Body><tns:{operation}Response><tns:{operation}Result>{inner}"
        f"</tns:{operation}Result></tns:{operation}Response></senv:Body></senv:Envelope>"
    ).encode("utf-8")


def stamp_answer(
    operation: str, *, xml: bytes | None = None, uuid: str = "", fecha: str = "", status: str = "",
    sat_seal: str = "", sat_certificate_number: str = "", incidences: tuple[Incidence, ...] = (),
) -> bytes:
    """An answer shaped as the recorded ones (the emulator's)."""
    parts = [f"<s0:xml>{escape(xml.decode('utf-8'))}</s0:xml>" if xml else "<s0:xml/>"]
    parts.append(f"<s0:UUID>{uuid}</s0:UUID>" if uuid else "<s0:UUID/>")
    parts.append(f"<s0:Fecha>{fecha}</s0:Fecha>" if fecha else "<s0:Fecha/>")
    parts.append(f"<s0:CodEstatus>{escape(status)}</s0:CodEstatus>" if status else "<s0:CodEstatus/>")
    parts.append(f"<s0:SatSeal>{sat_seal}</s0:SatSeal>" if sat_seal else "<s0:SatSeal/>")
    if incidences:
        parts.append("<s0:Incidencias>" + "".join(
            "<s0:Incidencia><s0:IdIncidencia/><s0:Uuid/><s0:CodigoError>"
            f"{escape(i.code)}</s0:CodigoError><s0:WorkProcessId/><s0:MensajeIncidencia>{escape(i.message)}"
            "</s0:MensajeIncidencia><s0:RfcEmisor/><s0:NoCertificadoPac/><s0:FechaRegistro/></s0:Incidencia>"
            for i in incidences
        ) + "</s0:Incidencias>")
    else:
        parts.append("<s0:Incidencias/>")
    parts.append(
        f"<s0:NoCertificadoSAT>{sat_certificate_number}</s0:NoCertificadoSAT>"
        if sat_certificate_number else "<s0:NoCertificadoSAT/>"
    )
    return _answer(NS_STAMP, operation, "".join(parts))


def cancel_answer(
    *, folios: tuple[CancelFolio, ...] = (), acuse: bytes | None = None, fecha: str = "", rfc_emisor: str = "",
    status: str = "",
) -> bytes:
    parts = []
    if folios:
        parts.append("<s0:Folios>" + "".join(
            f"<s0:Folio><s0:UUID>{f.uuid}</s0:UUID><s0:EstatusUUID>{escape(f.status_code)}</s0:EstatusUUID>"
            f"<s0:EstatusCancelacion>{escape(f.message or '')}</s0:EstatusCancelacion></s0:Folio>"
            for f in folios
        ) + "</s0:Folios>")
    if acuse:
        parts.append(f"<s0:Acuse>{escape(acuse.decode('utf-8'))}</s0:Acuse>")
    if fecha:
        parts.append(f"<s0:Fecha>{fecha}</s0:Fecha>")
    if rfc_emisor:
        parts.append(f"<s0:RfcEmisor>{rfc_emisor}</s0:RfcEmisor>")
    if status:
        parts.append(f"<s0:CodEstatus>{escape(status)}</s0:CodEstatus>")
    return _answer(NS_CANCEL, "cancel_signature", "".join(parts))


def sat_status_answer(state: SatStatusAnswer) -> bytes:
    def field(name: str, value: str | None) -> str:
        return f"<s0:{name}>{escape(value)}</s0:{name}>" if value else f"<s0:{name}/>"

    if state.error:
        return _answer(NS_CANCEL, "get_sat_status", field("error", state.error))
    inner = "<s0:sat>" + field("CodigoEstatus", state.code) + field("EsCancelable", state.cancellable) + field(
        "Estado", state.state) + field("EstatusCancelacion", state.cancellation_status) + "</s0:sat>"
    return _answer(NS_CANCEL, "get_sat_status", inner)


def receipt_answer(answer: ReceiptAnswer) -> bytes:
    parts = [f"<s0:uuid>{answer.uuid or ''}</s0:uuid>", f"<s0:success>{'true' if answer.success else 'false'}</s0:success>"]
    if answer.receipt:
        parts.append(f"<s0:receipt><![CDATA[{answer.receipt.decode('utf-8')}]]></s0:receipt>")
    if answer.rfc_emisor:
        parts.append(f"<s0:taxpayer_id>{answer.rfc_emisor}</s0:taxpayer_id>")
    if answer.date:
        parts.append(f"<s0:date>{answer.date}</s0:date>")
    if answer.error:
        parts.append(f"<s0:error>{escape(answer.error)}</s0:error>")
    return _answer(NS_CANCEL, "get_receipt", "".join(parts))


def request_fields(body: bytes) -> tuple[str, dict[str, str]]:
    """The operation and its fields (by local name) of a SOAP request (the emulator's)."""
    root = _parse(body)
    soap_body = _local(root, "Body")
    if soap_body is None or len(soap_body) == 0:
        raise SoapParseError("El sobre SOAP no tiene Body.")
    operation = soap_body[0]
    fields = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in operation if isinstance(child.tag, str)
    }
    return etree.QName(operation).localname, fields
