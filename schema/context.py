"""Per-request context: the service container (session factory inside, never a shared
session: CONVENTIONS 4), the request, and the caller's verified token."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.types import Info as StrawberryInfo

from schema.errors import PublicError
from services.kernel.container import Services
from services.kernel.security import INVOICE, MERCHANT, TICKET, Claims, TokenError


@dataclass(frozen=True)
class Principal:
    audience: str
    subject: str
    claims: Claims


class Context:
    def __init__(self, services: Services, request: Any, response: Any = None) -> None:
        self.services = services
        self.request = request
        self.response = response

    @property
    def client_address(self) -> str:
        client = getattr(self.request, "client", None)
        return client.host if client else "unknown"

    @cached_property
    def _bearer(self) -> str | None:
        header = self.request.headers.get("authorization") if self.request is not None else None
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PublicError("La cabecera Authorization debe ser «Bearer <token>».", "UNAUTHENTICATED")
        return token.strip()

    @cached_property
    def principal(self) -> Principal | None:
        token = self._bearer
        if token is None:
            return None
        tokens = self.services.tokens
        audience = tokens.audience_of(token)
        if audience is None:
            raise PublicError("El token no es válido.", "UNAUTHENTICATED")
        try:
            claims = tokens.decode(token, audience)
        except TokenError:
            raise PublicError("El token no es válido o expiró.", "UNAUTHENTICATED") from None
        return Principal(audience, claims.subject, claims)

    def require(self, audience: str) -> Principal:
        principal = self.principal
        if principal is None or principal.audience != audience:
            names = {MERCHANT: "de comercio", TICKET: "de ticket", INVOICE: "de factura"}
            raise PublicError(f"Esta operación requiere un token {names.get(audience, audience)}.", "FORBIDDEN")
        return principal

    @property
    def merchant_id(self) -> int:
        return int(self.require(MERCHANT).subject)


Info = StrawberryInfo[Context, None]  # what every resolver takes
