"""The emulator's HTTP side: a Starlette app per protocol, served by uvicorn on
127.0.0.1 and a free port (port 0) in a thread of its own (tests) or in the foreground
(`autofactura pac emulate`)."""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import socket
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.cfdi import sat

from .. import finkok_soap as soap
from ..base import StampingError
from .state import EmulatorState, Record, refusal

SOAP_XML = "text/xml; charset=utf-8"
STAMPED_OK = soap.STAMPED_OK


def _fecha(record: Record) -> str:
    tfd = sat.parse_strict(record.xml).getroot().find(sat.TFD_PATH)
    return tfd.get("FechaTimbrado") if tfd is not None else ""


def _tfd(record: Record) -> dict[str, str]:
    tfd = sat.parse_strict(record.xml).getroot().find(sat.TFD_PATH)
    return dict(tfd.attrib) if tfd is not None else {}


# ------------------------------------------------------------------------- Finkok


def finkok_app(state: EmulatorState) -> Starlette:
    async def stamp_wsdl(request: Request) -> Response:
        try:
            operation, fields = soap.request_fields(await request.body())
        except soap.SoapParseError as exc:
            return _soap_fault(str(exc))
        state.calls.append(operation)
        if operation not in ("stamp", "quick_stamp", "stamped"):
            return _soap_fault(f"operación desconocida {operation}")

        def incidence(code: str, message: str) -> Response:
            return Response(soap.stamp_answer(operation, incidences=(soap.Incidence(code, message),)), media_type=SOAP_XML)

        if not state.check_user(fields.get("username", ""), fields.get("password", "")):
            return incidence("300", "Usuario o contraseña inválidos")
        try:
            xml = base64.b64decode(fields.get("xml", ""), validate=True)
        except (binascii.Error, ValueError):
            return incidence("301", "XML mal formado (base64 inválido)")
        if operation == "stamped":
            record = state.earlier(xml)
            if record is None:
                return incidence("603", "El CFDI no contiene un timbre previo")
            return _finkok_stamp(operation, record, "Comprobante recibido satisfactoriamente")
        if state.take_708():
            return incidence("708", "No se pudo conectar al SAT")
        earlier = state.earlier(xml)
        if earlier is not None:
            # StampServiceDobleEstampado.md: stamp answers 307 with or without the earlier
            # stamp; quick_stamp only answers 307.
            answer = soap.Incidence("307", "El CFDI contiene un timbre previo")
            if operation == "stamp" and state.earlier_xml_on_307:
                tfd = _tfd(earlier)
                return Response(soap.stamp_answer(
                    operation, xml=earlier.xml, uuid=earlier.uuid, fecha=tfd.get("FechaTimbrado", ""),
                    sat_seal=tfd.get("SelloSAT", ""), sat_certificate_number=tfd.get("NoCertificadoSAT", ""),
                    incidences=(answer,)), media_type=SOAP_XML)
            return Response(soap.stamp_answer(operation, incidences=(answer,)), media_type=SOAP_XML)
        try:
            record, _ = await asyncio.to_thread(state.stamp, xml)
        except StampingError as exc:
            code, message = refusal(exc)
            return incidence(code, f"{message}: {exc.message}"[:300])
        except sat.XmlParseError as exc:
            return incidence("301", f"XML mal formado: {exc}")
        stall = state.take_stall()
        if stall:
            await asyncio.sleep(stall)  # stamped, but the answer comes after the client gave up
        return _finkok_stamp(operation, record, STAMPED_OK)

    async def cancel_wsdl(request: Request) -> Response:
        try:
            operation, fields = soap.request_fields(await request.body())
        except soap.SoapParseError as exc:
            return _soap_fault(str(exc))
        state.calls.append(operation)
        authorised = state.check_user(fields.get("username", ""), fields.get("password", ""))
        if operation == "cancel_signature":
            if not authorised:
                return Response(soap.cancel_answer(status="300 Usuario o contraseña inválidos"), media_type=SOAP_XML)
            if state.take_708():
                return Response(soap.cancel_answer(status="708 No se pudo conectar al SAT"), media_type=SOAP_XML)
            try:
                signed = base64.b64decode(fields.get("xml", ""), validate=True)
                rfc, results, acuse = await asyncio.to_thread(state.cancel, signed)
            except (binascii.Error, ValueError) as exc:
                return Response(soap.cancel_answer(status=f"711 Error con el certificado al cancelar: {exc}"),
                                media_type=SOAP_XML)
            folios = tuple(soap.CancelFolio(uuid, code, {
                "201": "Petición de cancelación realizada exitosamente", "202": "Petición de cancelación realizada Previamente",
                "205": "UUID No encontrado"}.get(code)) for uuid, code in results)
            fecha = acuse.split(b'Fecha="', 1)[1][:19].decode()
            return Response(soap.cancel_answer(folios=folios, acuse=acuse, fecha=fecha, rfc_emisor=rfc), media_type=SOAP_XML)
        if operation == "get_sat_status":
            if not authorised:
                return Response(soap.sat_status_answer(soap.SatStatusAnswer(None, None, None, None, error="300 Usuario o contraseña inválidos")), media_type=SOAP_XML)
            return Response(soap.sat_status_answer(_sat_view(state.status(fields.get("uuid", "")))), media_type=SOAP_XML)
        if operation == "get_receipt":
            record = state.status(fields.get("uuid", ""))
            ok = authorised and record is not None and record.acuse is not None
            return Response(soap.receipt_answer(soap.ReceiptAnswer(
                uuid=fields.get("uuid"), success=ok, receipt=record.acuse if ok else None,
                rfc_emisor=fields.get("taxpayer_id"), date=None,
                error=None if ok else ("300 Usuario o contraseña inválidos" if not authorised else "No existe acuse"),
            )), media_type=SOAP_XML)
        return _soap_fault(f"operación desconocida {operation}")

    async def utilities_wsdl(request: Request) -> Response:
        try:
            operation, fields = soap.request_fields(await request.body())
        except soap.SoapParseError as exc:
            return _soap_fault(str(exc))
        state.calls.append(operation)
        if not state.check_user(fields.get("username", ""), fields.get("password", "")):
            inner = "<s0:datetime/><s0:error>300 Usuario o contraseña inválidos</s0:error>"
        else:
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            inner = f"<s0:datetime>{now}</s0:datetime><s0:error/>"
        return Response(soap._answer("http://facturacion.finkok.com/utilities", "datetime", inner), media_type=SOAP_XML)

    return Starlette(routes=[
        Route("/servicios/soap/stamp.wsdl", stamp_wsdl, methods=["POST"]),
        Route("/servicios/soap/cancel.wsdl", cancel_wsdl, methods=["POST"]),
        Route("/servicios/soap/utilities.wsdl", utilities_wsdl, methods=["POST"]),
        Route("/ConsultaCFDIService.svc", _consulta(state), methods=["POST"]),
    ])


def _finkok_stamp(operation: str, record: Record, status: str) -> Response:
    tfd = _tfd(record)
    return Response(soap.stamp_answer(
        operation, xml=record.xml, uuid=record.uuid, fecha=tfd.get("FechaTimbrado", ""), status=status,
        sat_seal=tfd.get("SelloSAT", ""), sat_certificate_number=tfd.get("NoCertificadoSAT", ""),
    ), media_type=SOAP_XML)


def _soap_fault(message: str) -> Response:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><senv:Envelope xmlns:senv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        f"<senv:Body><senv:Fault><faultcode>senv:Client</faultcode><faultstring>{message}</faultstring>"
        "</senv:Fault></senv:Body></senv:Envelope>"
    ).encode()
    return Response(body, status_code=500, media_type=SOAP_XML)


def _sat_view(record: Record | None) -> soap.SatStatusAnswer:
    if record is None:
        return soap.SatStatusAnswer("N - 602: Comprobante no encontrado.", "No Encontrado", None, None)
    return soap.SatStatusAnswer("S - Comprobante obtenido satisfactoriamente.", record.state, record.cancellable,
                                record.cancellation_status)


def _consulta(state: EmulatorState):
    """SAT's ConsultaCFDIService (expresionImpresa ?re=&rr=&tt=&id=), for the SW client."""
    async def consulta(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        uuid = body.split("id=", 1)[1][:36] if "id=" in body else ""
        view = _sat_view(state.status(uuid))

        def field(name: str, value: str | None) -> str:
            return f"<a:{name}>{value}</a:{name}>" if value else f"<a:{name}/>"

        answer = (
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ConsultaResponse '
            'xmlns="http://tempuri.org/"><ConsultaResult xmlns:a="http://schemas.datacontract.org/2004/07/'
            'Sat.Cfdi.Negocio.ConsultaCfdi.Servicio" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
            + field("CodigoEstatus", view.code) + field("EsCancelable", view.cancellable) + field("Estado", view.state)
            + field("EstatusCancelacion", view.cancellation_status) + "<a:ValidacionEFOS>200</a:ValidacionEFOS>"
            "</ConsultaResult></ConsultaResponse></s:Body></s:Envelope>"
        )
        return Response(answer.encode("utf-8"), media_type=SOAP_XML)

    return consulta


# ----------------------------------------------------------------------------- SW


def sw_app(state: EmulatorState) -> Starlette:
    issued_tokens: set[str] = set()

    def authorised(request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return token in state.tokens or token in issued_tokens

    def error(message: str, status: int = 400, data: dict | None = None, detail: str = "") -> JSONResponse:
        body = {"status": "error", "message": message, "messageDetail": detail}
        if data is not None:
            body["data"] = data
        return JSONResponse(body, status_code=status)

    async def authenticate(request: Request) -> Response:
        try:
            data = await request.json()
        except (ValueError, json.JSONDecodeError):
            data = {}
        state.calls.append("authenticate")
        if not state.check_user(str(data.get("user", "")), str(data.get("password", ""))):
            return error("AU4101 - El usuario o contraseña son incorrectos", 401)
        token = secrets.token_urlsafe(24)
        issued_tokens.add(token)
        return JSONResponse({"status": "success", "data": {"token": token, "expires_in": int(time.time()) + 7200,
                                                             "tokeny_type": "Bearer"}})

    async def stamp(request: Request) -> Response:
        state.calls.append("stamp")
        if not authorised(request):
            return error("300. El token no es válido o expiró.", 401)
        xml = await _multipart_file(request, "xml")
        if xml is None:
            return error("301. XML mal formado: falta el archivo xml.")
        customid = request.headers.get("customid")
        if state.take_708():
            return error("708. No se pudo conectar al SAT.")
        earlier = state.earlier(xml) or _by_customid(state, customid)
        if earlier is not None:
            data = {"cfdi": earlier.xml.decode("utf-8")} if state.earlier_xml_on_307 else None
            return error("307. El comprobante contiene un timbre previo.", 400, data)
        try:
            record, _ = await asyncio.to_thread(state.stamp, xml)
        except StampingError as exc:
            code, message = refusal(exc)
            return error(f"{code}. {message}", 400, detail=exc.message)
        except sat.XmlParseError as exc:
            return error(f"301. XML mal formado: {exc}")
        if customid:
            state.customids[customid] = record.uuid
        stall = state.take_stall()
        if stall:
            await asyncio.sleep(stall)
        tfd = _tfd(record)
        return JSONResponse({"status": "success", "data": {
            "cfdi": record.xml.decode("utf-8"), "uuid": record.uuid, "fechaTimbrado": tfd.get("FechaTimbrado"),
            "noCertificadoSAT": tfd.get("NoCertificadoSAT"), "selloSAT": tfd.get("SelloSAT"),
        }})

    async def cancel_xml(request: Request) -> Response:
        state.calls.append("cancel")
        if not authorised(request):
            return error("300. El token no es válido o expiró.", 401)
        if state.take_708():
            return error("708. No se pudo conectar al SAT.")
        signed = await _multipart_file(request, "xml")
        if signed is None:
            return error("CACFDI33 - Falta el archivo xml.")
        try:
            _, results, acuse = await asyncio.to_thread(state.cancel, signed)
        except ValueError as exc:
            return error(f"711. Error con el certificado al cancelar: {exc}")
        return JSONResponse({"status": "success", "data": {"acuse": acuse.decode("utf-8"),
                                                             "uuid": {u: c for u, c in results}}})

    async def balance(request: Request) -> Response:
        state.calls.append("balance")
        if not authorised(request):
            return error("300. El token no es válido o expiró.", 401)
        return JSONResponse({"status": "success", "data": {"saldoTimbres": 1000, "timbresUtilizados": state.stamp_count}})

    return Starlette(routes=[
        Route("/v2/security/authenticate", authenticate, methods=["POST"]),
        Route("/v4/cfdi33/stamp/v4", stamp, methods=["POST"]),
        Route("/cfdi33/cancel/xml", cancel_xml, methods=["POST"]),
        Route("/account/balance", balance, methods=["GET"]),
        Route("/ConsultaCFDIService.svc", _consulta(state), methods=["POST"]),
    ])


async def _multipart_file(request: Request, name: str) -> bytes | None:
    """One part of a multipart/form-data body, read with the standard library's e-mail
    parser (python-multipart, which Starlette's request.form() needs, is not a
    dependency of the project)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + await request.body())
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            return part.get_payload(decode=True)
    return None


def _by_customid(state: EmulatorState, customid: str | None) -> Record | None:
    if not customid:
        return None
    uuid = state.customids.get(customid)
    return state.status(uuid) if uuid else None


# -------------------------------------------------------------------------- server


class EmulatorServer:
    """uvicorn on 127.0.0.1 and a port the OS picks (or `port`), in a thread."""

    def __init__(self, kind: str, state: EmulatorState | None = None, *, state_dir: Path | None = None,
                 port: int = 0) -> None:
        if kind not in ("finkok", "sw"):
            raise ValueError("kind must be finkok or sw")
        self.kind = kind
        self.state = state or EmulatorState(state_dir or Path("var/pac-emulator"))
        self.app = finkok_app(self.state) if kind == "finkok" else sw_app(self.state)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None

    def _config(self):
        import uvicorn

        return uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=1, lifespan="off")

    def serve_forever(self) -> None:
        import uvicorn

        self._server = uvicorn.Server(self._config())
        self._server.run(sockets=[self._sock])

    def start(self) -> "EmulatorServer":
        import uvicorn

        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
