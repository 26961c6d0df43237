"""SW Sapien (SW smarter web, REST + JSON) behind the Pac protocol.

From lunasoft/sw-sdk-python and satcfdi's client:
- token: PAC_TOKEN (a long-lived account token) or POST /v2/security/authenticate with
  the user and password (renewed when it expires);
- stamp a sealed CFDI: POST /v4/cfdi33/stamp/v4 (multipart `xml`), answering the full
  stamped XML in `data.cfdi`; header `customid` (<= 100 characters) = the invoice's
  stable id, so the same invoice sent again, even re-sealed, answers 307;
- the same XML or customid again: status "error", message "307. El comprobante contiene
  un timbre previo.", and `data.cfdi` when SW returns the earlier stamp (its SDKs read
  it): a 307 is recovered, never a failure;
- cancel by the signed request: POST /cfdi33/cancel/xml (multipart `xml`), answering
  `data.acuse` and `data.uuid` {UUID: EstatusUUID};
- status: SAT's ConsultaCFDIService (SW has no status call of its own in its SDK), at
  {base}/ConsultaCFDIService.svc when PAC_URL points to an emulator or proxy.
"""
from __future__ import annotations

import time
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

HOSTS = {"test": "https://services.test.sw.com.mx", "production": "https://services.sw.com.mx"}
SAT_STATUS_URL = "https://consultaqr.facturaelectronica.sat.gob.mx/ConsultaCFDIService.svc"
SAT_STATUS_ACTION = "http://tempuri.org/IConsultaCFDIService/Consulta"

STAMPED_BEFORE = "307"
SAT_UNAVAILABLE = "708"
DOCUMENT_REFUSED = {"301", "302", "303", "304", "305", "306", "401", "705", "707"}


def _sw_code(message: str) -> str:
    """SW writes the SAT/PAC code first: "307. El comprobante contiene un timbre previo."."""
    head = (message or "").strip().split(" ", 1)[0].rstrip(".:")
    return head if head.isdigit() or head.startswith("CFDI") else ""


def sw_error(message: str, detail: str | None, http_status: int) -> StampingError:
    code = _sw_code(message)
    text = f"{message} {detail or ''}".strip()
    if http_status == 401 or code == "300" or "token" in message.lower() or "autenticaci" in message.lower():
        return StampingError("El PAC rechazó las credenciales configuradas (PAC_TOKEN o PAC_USERNAME / PAC_PASSWORD).",
                             code=Code.PAC_CREDENTIALS, pac_code=code or f"HTTP {http_status}", pac_message=text)
    if code == SAT_UNAVAILABLE:
        return StampingError("El PAC no pudo comunicarse con el SAT; intenta de nuevo en unos minutos.",
                             retryable=True, code=Code.SAT_UNAVAILABLE, pac_code=code, pac_message=text)
    if code in DOCUMENT_REFUSED or code.startswith("CFDI"):
        return StampingError(f"El PAC rechazó el comprobante ({text}).", code=Code.CFDI_REFUSED,
                             pac_code=code, pac_message=text)
    return StampingError(f"El PAC respondió con un error ({text}).", code=Code.PAC_ERROR, pac_code=code or None,
                         pac_message=text)


class SwPac(HttpPac):
    kind = "sw"

    def __init__(self, *, token: str = "", username: str = "", password: str = "", base_url: str = HOSTS["test"],
                 timeout: float = DEFAULT_TIMEOUT, sat_status_url: str = SAT_STATUS_URL, **kwargs) -> None:
        super().__init__(base_url, timeout, **kwargs)
        self._account_token = token
        self.username, self.password = username, password
        self.sat_status_url = sat_status_url
        self._token: str | None = None
        self._token_expires = 0.0

    async def _bearer(self) -> str:
        if self._account_token:
            return self._account_token
        if self._token is None or time.time() > self._token_expires - 60:
            response, timer = await self._send("authenticate", "POST", f"{self.base_url}/v2/security/authenticate",
                                               json={"user": self.username, "password": self.password})
            data = self._json(response, "authenticate", None, None, timer)
            token = (data.get("data") or {}).get("token")
            if data.get("status") != "success" or not token:
                self._record("authenticate", None, None, Code.PAC_CREDENTIALS, timer)
                raise sw_error(data.get("message") or "autenticación fallida", data.get("messageDetail"), 401)
            self._record("authenticate", None, None, "OK", timer)
            self._token = token
            expires = (data.get("data") or {}).get("expires_in")
            self._token_expires = float(expires) if isinstance(expires, (int, float)) and expires > time.time() else time.time() + 3600
        return self._token

    def _json(self, response, operation: str, key: str | None, uuid: str | None, timer) -> dict:
        try:
            data = response.json()
        except ValueError as exc:
            self._record(operation, key, uuid, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(f"HTTP {response.status_code}: {response.text[:200]}") from exc
        if not isinstance(data, dict):
            self._record(operation, key, uuid, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer("JSON answer is not an object")
        return data

    async def _post_stamp(self, xml: bytes, customid: str | None) -> tuple[dict, int]:
        key = document_key(xml)
        headers = {"Authorization": f"Bearer {await self._bearer()}"}
        if customid:
            headers["customid"] = customid[:100]
        response, timer = await self._send("stamp", "POST", f"{self.base_url}/v4/cfdi33/stamp/v4", document_hash=key,
                                           headers=headers, files={"xml": ("xml", xml, "text/xml")})
        data = self._json(response, "stamp", key, None, timer)
        code = "OK" if data.get("status") == "success" else (_sw_code(data.get("message") or "") or "ERROR")
        self._record("stamp", key, (data.get("data") or {}).get("uuid"), code, timer)
        if response.status_code == 401:
            self._token = None
        return data, response.status_code

    async def _stamp_keyed(self, xml: bytes, idempotency_key: str | None) -> StampResult:
        data, http_status = await self._post_stamp(xml, idempotency_key)
        cfdi = (data.get("data") or {}).get("cfdi")
        if data.get("status") == "success" and cfdi:
            return result_from_xml(cfdi.encode("utf-8"))
        message = data.get("message") or ""
        if _sw_code(message) == STAMPED_BEFORE:
            if cfdi:
                return result_from_xml(cfdi.encode("utf-8"))
            raise StampingError(
                "El PAC indica que el comprobante ya fue timbrado pero no entregó el timbre; intenta de nuevo "
                "en unos minutos.", retryable=True, code=Code.STAMP_NOT_READY, pac_code=STAMPED_BEFORE,
                pac_message=message)
        raise sw_error(message, data.get("messageDetail"), http_status)

    async def _stamp(self, xml: bytes) -> StampResult:
        return await self._stamp_keyed(xml, None)

    async def _stamped_keyed(self, xml: bytes, idempotency_key: str | None) -> StampResult | None:
        """SW has no `stamped`: the same bytes and customid again answer 307 with the
        earlier stamp, or stamp them now (then they were not stamped before: the result
        is the only stamp). 401 (Fecha outside 72 h) means SW found no earlier stamp for
        this customid, which it checks first: confirmed never stamped."""
        try:
            return await self._stamp_keyed(xml, idempotency_key)
        except StampingError as exc:
            if exc.pac_code == "401":
                return None
            raise

    async def _stamped(self, xml: bytes) -> StampResult | None:
        return await self._stamped_keyed(xml, None)

    async def _cancel(self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None,
                      signed_request: bytes | None) -> CancelResult:
        if not signed_request:
            raise StampingError("SW necesita la solicitud de cancelación firmada con el CSD.", code=Code.PAC_ERROR)
        folio = uuid.strip().upper()
        response, timer = await self._send(
            "cancel", "POST", f"{self.base_url}/cfdi33/cancel/xml", uuid=folio,
            headers={"Authorization": f"Bearer {await self._bearer()}"},
            files={"xml": ("xml", signed_request, "text/xml")})
        data = self._json(response, "cancel", None, folio, timer)
        statuses = {k.upper(): str(v) for k, v in ((data.get("data") or {}).get("uuid") or {}).items()}
        code = statuses.get(folio, _sw_code(data.get("message") or ""))
        self._record("cancel", None, folio, "OK" if code in {"201", "202"} else (code or "ERROR"), timer)
        if data.get("status") != "success" or code not in {"201", "202"}:
            from .finkok import cancel_error  # the same SAT codes (201..208, 708, 798, 799)

            if response.status_code == 401:
                raise sw_error(data.get("message") or "", data.get("messageDetail"), 401)
            raise cancel_error(code, data.get("message") or data.get("messageDetail") or "")
        acuse = (data.get("data") or {}).get("acuse")
        return CancelResult(uuid=folio, status=STATUS_REQUESTED, reason=reason, replacement_uuid=replacement_uuid,
                            cancelled_at=datetime.now(UTC).replace(microsecond=0), is_sandbox=False, code=code,
                            acuse=acuse.encode("utf-8") if acuse else None)

    async def _status(self, uuid: str, rfc_emisor: str | None, rfc_receptor: str | None, total: str | None) -> StatusResult:
        folio = uuid.strip().upper()
        expression = f"?re={rfc_emisor or ''}&rr={rfc_receptor or ''}&tt={total or '0'}&id={folio}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
            'envelope/" xmlns:tem="http://tempuri.org/"><soapenv:Header/><soapenv:Body><tem:Consulta>'
            f"<tem:expresionImpresa><![CDATA[{expression}]]></tem:expresionImpresa></tem:Consulta></soapenv:Body>"
            "</soapenv:Envelope>"
        ).encode("utf-8")
        response, timer = await self._send(
            "consulta", "POST", self.sat_status_url, uuid=folio, content=body,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SAT_STATUS_ACTION}"'})
        try:
            answer = soap.parse_sat_status(response.content)
        except soap.SoapParseError as exc:
            self._record("consulta", None, folio, Code.PAC_BAD_ANSWER, timer)
            raise self._bad_answer(str(exc)) from exc
        self._record("consulta", None, folio, "OK", timer)
        return StatusResult(uuid=folio, status=answer.state or STATUS_NOT_FOUND, is_sandbox=False,
                            cancellable=answer.cancellable, cancellation_status=answer.cancellation_status)

    async def _check(self) -> str:
        if not self._account_token:
            await self._bearer()  # authenticate: raises on bad credentials
        response, timer = await self._send("balance", "GET", f"{self.base_url}/account/balance",
                                           headers={"Authorization": f"Bearer {await self._bearer()}"})
        data = self._json(response, "balance", None, None, timer)
        if data.get("status") != "success":
            self._record("balance", None, None, Code.PAC_CREDENTIALS, timer)
            raise sw_error(data.get("message") or "", data.get("messageDetail"), response.status_code)
        self._record("balance", None, None, "OK", timer)
        return f"SW ({self.base_url}) aceptó las credenciales; saldo: {data.get('data')}"
