"""Coarse authorisation per field (CONVENTIONS 5); the repositories do the fine part."""
from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from schema.context import Info

from services.kernel.security import MERCHANT, TICKET


class _Audience(BasePermission):
    audience = ""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require(self.audience)  # raises a PublicError with a clear message
        return True


class IsMerchant(_Audience):
    audience = MERCHANT
    message = "Esta operación requiere un token de comercio."


class HasTicketToken(_Audience):
    audience = TICKET
    message = "Esta operación requiere un token de ticket."
