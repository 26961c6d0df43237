"""Finkok (SOAP 1.1) behind the Pac protocol.

Endpoints: `{base}/servicios/soap/stamp.wsdl` (stamp, stamped), `cancel.wsdl`
(cancel_signature, get_sat_status, get_receipt) and `utilities.wsdl` (datetime, for
`pac check`). Hosts: https://demo-facturacion.finkok.com (test) and
https://facturacion.finkok.com (production).

Exactly-once (phpcfdi/finkok docs/issues/StampServiceDobleEstampado.md): the same XML
sent twice answers 307 "El CFDI contiene un timbre previo", with or without the earlier
stamp; `stamped` returns the earlier stamp. So a 307 is never a failure: the client
returns the stamp from the 307 answer or asks `stamped`; if Finkok cannot hand it yet,
the error is retryable (STAMP_NOT_READY) and the caller keeps the same bytes. `stamped`
answering 603 ("El CFDI no contiene un timbre previo", Finkok's stamped method) is the
PAC confirming it never stamped those bytes.
"""
from __future__ import annotations

from datetime import UTC, datetime

from services.kernel.codes import PacErrorCode as Code

from . import finkok_soap as soap
from .base import (
    DEFAULT_TIMEOUT,
    STATUS_NOT_FOUND,
    STATUS_REQUESTED,
    CancelResult,
    StampingError,
    StampResult,
    StatusResult,
    document_key,
)
from .http import HttpPac, result_from_xml

HOSTS = {"test": "https://demo-facturacion.finkok.com", "production": "https://facturacion.finkok.com"}
NS_UTILITIES = "http://facturacion.finkok.com/utilities"

CREDENTIALS = "300"  # Usuario o contraseña inválidos
STAMPED_BEFORE = "307"  # El CFDI contiene un timbre previo
NOT_STAMPED_BEFORE = "603"  # (stamped) El CFDI no contiene un timbre previo
SAT_UNAVAILABLE = "708"  # No se pudo conectar al SAT
#: Finkok's and SAT's common PAC codes that refuse the document itself (README of
#: Finkok's documented codes: 301 XML mal formado, 302 sello mal formado, 303 sello no corresponde
#: al emisor, 304 certificado revocado o caduco, 305 Fecha fuera de la vigencia del
#: certificado, 306 no es un CSD, 401 Fecha fuera de las 72 horas, 705 estructura
#: inválida, 707 ya contiene un TimbreFiscalDigital).
DOCUMENT_REFUSED = {"301", "302", "303", "304", "305", "306", "401", "705", "707"}
#: cancel_signature per-UUID codes: 201 solicitud realizada, 202 solicitada antes.
CANCEL_ACCEPTED = {"201", "202"}
CANCEL_RETRY_LATER = {"205"}  # UUID no encontrado: also a CFDI SAT has not received yet


def stamping_error(incidences: tuple[soap.Incidence, ...]) -> StampingError:
    """A refusal with the PAC's code and message kept."""
    first = incidences[0] if incidences else soap.Incidence("", "respuesta sin UUID ni incidencias")
    detail = f"{first.code} {first.message}".strip()
    if first.code == CREDENTIALS:
        return StampingError(
            "El PAC rechazó las credenciales configuradas (PAC_USERNAME / PAC_PASSWORD); avísale al comercio.",
            retryable=False, code=Code.PAC_CREDENTIALS, pac_code=first.code, pac_message=first.message,
        )
    if first.code == SAT_UNAVAILABLE:
        return StampingError(
            "El PAC no pudo comunicarse con el SAT; intenta de nuevo en unos minutos.",
            retryable=True, code=Code.SAT_UNAVAILABLE, pac_code=first.code, pac_message=first.message,
        )
    if first.code in DOCUMENT_REFUSED:
        return StampingError(
            f"El PAC rechazó el comprobante ({detail}).",
            retryable=False, code=Code.CFDI_REFUSED, pac_code=first.code, pac_message=first.message,
        )
    return StampingError(f"El PAC respondió con un error ({detail}).", retryable=False, code=Code.PAC_ERROR,
                         pac_code=first.code or None, pac_message=first.message)


class FinkokPac(HttpPac):
    kind = "finkok"

    def __init__(self, username: str, password: str, base_url: str = HOSTS["test"],
                 timeout: float = DEFAULT_TIMEOUT, **kwargs) -> None:
        super().__init__(base_url, timeout, **kwargs)
        self.username = username
        self.password = password

    def _url(self, service: str) -> str:
        return f"{self.base_url}/servicios/soap/{service}.wsdl"

    def _answers_on_5xx(self, response) -> bool:
        return b"Envelope" in response.content[:2000]  # a SOAP Fault: read and reported as such

    async def _soap(self, service: str, operation: str, body: bytes, *, document_hash=None, uuid=None):
        return await self._send(
            operation, "POST", self._url(service), document_hash=document_hash, uuid=uuid, content=body,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{operation}"'},
        )

    async def _stamp_operation(self, operation: str, xml: bytes) -> soap.StampAnswer:
        key = document_key(xml)
        response, timer = await self._soap(
            "stamp", operation, soap.stamp_request(operation, xml, self.username, self.password), document_hash=key)
        try:
            answer = soap.parse_stamp(response.content, operation)
        except soap.SoapParseError as exc:
            self._record(operation, key, None, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(str(exc)) from exc
        # A 307 that carries the earlier stamp is still recorded as 307 (a repeat, not a new stamp).
        outcome = answer.incidences[0].code if answer.incidences else ("OK" if answer.uuid and answer.xml else "EMPTY")
        self._record(operation, key, answer.uuid, outcome, timer)
        return answer

    @staticmethod
    def _result(answer: soap.StampAnswer) -> StampResult:
        assert answer.xml is not None
        return result_from_xml(answer.xml)

    async def _stamp(self, xml: bytes) -> StampResult:
        answer = await self._stamp_operation("stamp", xml)
        if answer.xml and answer.uuid:
            return self._result(answer)
        codes = {incidence.code for incidence in answer.incidences}
        if STAMPED_BEFORE in codes:
            if answer.xml:  # 307 with the earlier stamp
                return self._result(answer)
            earlier = await self._stamped(xml)  # 307 without it: ask for it
            if earlier is not None:
                return earlier
            raise StampingError(
                "El PAC indica que el comprobante ya fue timbrado pero aún no entrega el timbre; intenta de nuevo "
                "en unos minutos.", retryable=True, code=Code.STAMP_NOT_READY, pac_code=STAMPED_BEFORE)
        raise stamping_error(answer.incidences)

    async def _stamped(self, xml: bytes) -> StampResult | None:
        answer = await self._stamp_operation("stamped", xml)
        if answer.xml:
            return self._result(answer)
        codes = {incidence.code for incidence in answer.incidences}
        if NOT_STAMPED_BEFORE in codes:
            return None
        raise stamping_error(answer.incidences)

    async def _cancel(self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None,
                      signed_request: bytes | None) -> CancelResult:
        if not signed_request:
            raise StampingError("Finkok necesita la solicitud de cancelación firmada con el CSD.", code=Code.PAC_ERROR)
        folio = uuid.strip().upper()
        response, timer = await self._soap(
            "cancel", "cancel_signature", soap.cancel_signature_request(signed_request, self.username, self.password),
            uuid=folio)
        try:
            answer = soap.parse_cancel(response.content)
        except soap.SoapParseError as exc:
            self._record("cancel_signature", None, folio, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(str(exc)) from exc
        mine = next((f for f in answer.folios if f.uuid == folio), None)
        if mine is None:
            code = (answer.status or "").split(" ")[0]
            self._record("cancel_signature", None, folio, code or "EMPTY", timer)
            raise cancel_error(code, answer.status or "respuesta sin folios")
        self._record("cancel_signature", None, folio, "OK" if mine.status_code in CANCEL_ACCEPTED else mine.status_code, timer)
        if mine.status_code not in CANCEL_ACCEPTED:
            raise cancel_error(mine.status_code, mine.message or "")
        return CancelResult(
            uuid=folio, status=STATUS_REQUESTED, reason=reason, replacement_uuid=replacement_uuid,
            cancelled_at=datetime.now(UTC).replace(microsecond=0), is_sandbox=False, code=mine.status_code,
            acuse=answer.acuse,
        )

    async def _status(self, uuid: str, rfc_emisor: str | None, rfc_receptor: str | None, total: str | None) -> StatusResult:
        folio = uuid.strip().upper()
        body = soap.get_sat_status_request(self.username, self.password, rfc_emisor or "", rfc_receptor or "",
                                           folio, total or "")
        response, timer = await self._soap("cancel", "get_sat_status", body, uuid=folio)
        try:
            answer = soap.parse_sat_status(response.content)
        except soap.SoapParseError as exc:
            self._record("get_sat_status", None, folio, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(str(exc)) from exc
        if answer.error:
            self._record("get_sat_status", None, folio, answer.error.split(" ")[0], timer)
            raise cancel_error(answer.error.split(" ")[0], answer.error)
        self._record("get_sat_status", None, folio, "OK", timer)
        return StatusResult(
            uuid=folio, status=answer.state or STATUS_NOT_FOUND, is_sandbox=False,
            cancellable=answer.cancellable, cancellation_status=answer.cancellation_status,
        )

    async def receipt(self, uuid: str, rfc_emisor: str) -> bytes | None:
        """SAT's acuse of a cancellation (get_receipt), or None when Finkok has none."""
        folio = uuid.strip().upper()

        async def call() -> bytes | None:
            response, timer = await self._soap(
                "cancel", "get_receipt", soap.get_receipt_request(self.username, self.password, rfc_emisor, folio),
                uuid=folio)
            answer = soap.parse_receipt(response.content)
            self._record("get_receipt", None, folio, "OK" if answer.success else "NONE", timer)
            return answer.receipt if answer.success else None

        return await self._with_timeout(call(), "obtener el acuse de")

    async def _check(self) -> str:
        body = soap._envelope(NS_UTILITIES, "datetime", [("username", self.username), ("password", self.password)])
        response, timer = await self._soap("utilities", "datetime", body)
        try:
            root = soap._parse(response.content)
        except soap.SoapParseError as exc:
            self._record("datetime", None, None, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(str(exc)) from exc
        error = soap._text(root, "error")
        if error:
            self._record("datetime", None, None, error.split(" ")[0], timer)
            if error.startswith(CREDENTIALS) or "contraseña" in error.lower() or "password" in error.lower():
                raise StampingError(f"Finkok rechazó las credenciales: {error}", code=Code.PAC_CREDENTIALS,
                                    pac_code=CREDENTIALS, pac_message=error)
            raise StampingError(f"Finkok respondió con un error: {error}", code=Code.PAC_ERROR, pac_message=error)
        self._record("datetime", None, None, "OK", timer)
        return f"Finkok ({self.base_url}) aceptó las credenciales; hora del servidor: {soap._text(root, 'datetime')}"


def cancel_error(code: str, message: str) -> StampingError:
    """cancel_signature / get_sat_status failures (Finkok cancel.wsdl codes)."""
    if code == CREDENTIALS:
        return StampingError("El PAC rechazó las credenciales configuradas; avísale al comercio.",
                             code=Code.PAC_CREDENTIALS, pac_code=code, pac_message=message)
    if code == SAT_UNAVAILABLE:
        return StampingError("El PAC no pudo comunicarse con el SAT; intenta de nuevo en unos minutos.",
                             retryable=True, code=Code.SAT_UNAVAILABLE, pac_code=code, pac_message=message)
    if code in CANCEL_RETRY_LATER:
        return StampingError(
            "El SAT aún no registra este folio fiscal (205); si se timbró hace poco, intenta de nuevo más tarde.",
            retryable=True, code=Code.CANCEL_REFUSED, pac_code=code, pac_message=message)
    if code in {"798", "799"}:  # 798 solicitud previa (esperar 72 h), 799 más de 5 solicitudes
        return StampingError(f"El SAT no admite otra solicitud de cancelación por ahora ({code} {message}).",
                             code=Code.CANCEL_THROTTLED, pac_code=code, pac_message=message)
    return StampingError(f"El SAT rechazó la cancelación ({code} {message}).".replace(" )", ")"),
                         code=Code.CANCEL_REFUSED, pac_code=code or None, pac_message=message)
