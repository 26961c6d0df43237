"""The HTTP edge of /graphql: a request that is not a GraphQL request over JSON is the
client's mistake, answered 400 with a JSON error, never a 500 with a traceback.

Strawberry's ASGI view parses the body with ``parse_json`` and then calls ``data.get``
on whatever it decoded: a body of ``null``, ``"x"`` or ``1`` raised AttributeError (HTTP
500), invalid UTF-8 raised UnicodeDecodeError and a deeply nested array RecursionError.
Its own refusals (``HTTPException``) were plain text. Here every refusal is
``{"errors": [{"message", "extensions": {"code"}}]}``, the shape GraphQL clients read.
"""
from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

BAD_REQUEST = "BAD_REQUEST"
_CODES = {400: BAD_REQUEST, 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}

NOT_AN_OBJECT = ("El cuerpo de la solicitud debe ser un objeto JSON con la operación GraphQL: "
                 '{"query": "...", "variables": {...}}.')
NOT_JSON = "El cuerpo de la solicitud no es JSON válido (UTF-8)."
# Strawberry's reasons, said in Spanish; any other reason passes as it is.
_SPANISH = {
    "Unable to parse request body as JSON": NOT_JSON,
    "Unsupported content type": "Tipo de contenido no admitido: envía la operación como application/json.",
    "No GraphQL query found in the request": "La solicitud no trae una operación GraphQL (query).",
    "Batching is not enabled": NOT_AN_OBJECT,
    "GraphQL only supports GET and POST requests.": "GraphQL solo admite solicitudes GET y POST.",
}


def error_response(status: int, message: str) -> JSONResponse:
    code = _CODES.get(status, BAD_REQUEST)
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status,
                        headers={"X-Content-Type-Options": "nosniff"})


class StrictRequests:
    """Mixin for Strawberry's ASGI ``GraphQL`` view (put it before ``GraphQL``)."""

    def parse_json(self, data: str | bytes) -> Any:
        # Every JSON document this view reads is an object: the POST body, and a GET's
        # `variables` and `extensions` (batching and multipart uploads are off).
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise HTTPException(400, NOT_JSON) from exc
        if not isinstance(decoded, dict):
            raise HTTPException(400, NOT_AN_OBJECT)
        operation_name = decoded.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise HTTPException(400, "operationName debe ser un texto o null.")
        return decoded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))  # type: ignore[attr-defined]
        except HTTPException as exc:
            response = error_response(exc.status_code, _SPANISH.get(exc.reason, exc.reason))
        await response(scope, receive, send)
