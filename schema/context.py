"""Per-request context: the service container (session factory inside, never a shared
session: CONVENTIONS 4), the request, and the caller's verified token."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.types import Info as StrawberryInfo

from schema.errors import PublicError
from services.api_keys import service as api_keys
from services.api_keys.models import ApiScope, KeyPrincipal
from services.kernel.container import Services
from services.kernel.security import INVOICE, MERCHANT, TICKET, Claims, TokenError


API_KEY = "api_key"  # a principal authenticated by an API key, not by a JWT


@dataclass(frozen=True)
class Principal:
    audience: str
    subject: str
    claims: Claims | None  # None for an API key
    scopes: frozenset[ApiScope] | None = None  # an API key's; None: a session may do everything


class Context:
    def __init__(self, services: Services, request: Any, response: Any = None) -> None:
        self.services = services
        self.request = request
        self.response = response
        self._key: KeyPrincipal | None = None

    async def authenticate(self) -> None:
        """Resolve an API key before the resolvers run (it needs the database; a JWT does
        not). A bad key is reported when a field asks for the principal, like a bad JWT."""
        try:
            token = self._bearer
        except PublicError:
            return
        if token is not None and api_keys.looks_like_key(token):
            self._key = await api_keys.authenticate(self.services, token)

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
        if api_keys.looks_like_key(token):
            if self._key is None:
                raise PublicError("La llave de API no es válida o fue revocada.", "UNAUTHENTICATED")
            return Principal(API_KEY, str(self._key.merchant_id), None, self._key.scopes)
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

    def require_merchant(self, scope: ApiScope | None) -> Principal:
        """The merchant's session token, or an API key that holds ``scope`` (any key when
        ``scope`` is None)."""
        principal = self.principal
        if principal is not None and principal.audience == API_KEY:
            if scope is not None and principal.scopes is not None and scope not in principal.scopes:
                raise PublicError(
                    f"Esta llave de API no tiene el permiso {scope.name}.", "FORBIDDEN", requiredScope=scope.name)
            return principal
        return self.require(MERCHANT)

    @property
    def key_scopes(self) -> frozenset[ApiScope] | None:
        """The calling key's scopes; None for a merchant's session."""
        principal = self.principal
        return principal.scopes if principal is not None and principal.audience == API_KEY else None

    @property
    def merchant_id(self) -> int:
        return int(self.require_merchant(None).subject)


Info = StrawberryInfo[Context, None]  # what every resolver takes
