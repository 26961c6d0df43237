"""Coarse authorisation per field (CONVENTIONS 5); the repositories do the fine part."""
from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from schema.context import Info

from services.api_keys.models import ApiScope
from services.kernel.security import INVOICE, MERCHANT, TICKET


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


class HasInvoiceToken(_Audience):
    audience = INVOICE
    message = "Esta operación requiere un token de factura."


class _MerchantScope(BasePermission):
    """The merchant's session token, or an API key holding ``scope``."""

    scope: ApiScope | None = None
    message = "Esta operación requiere un token de comercio o una llave de API con el permiso adecuado."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require_merchant(self.scope)  # raises a PublicError naming the missing scope
        return True


def merchant_or_key(scope: ApiScope | None) -> type[BasePermission]:
    name = "AnyMerchantKey" if scope is None else f"Requires{scope.name.title().replace('_', '')}"
    return type(name, (_MerchantScope,), {"scope": scope})


# Each field that a point of sale or an integration may call with an API key names the
# scope it needs (README: permission matrix). IsMerchant (a session) can do all of them.
MerchantOrAnyKey = merchant_or_key(None)
CanWriteSales = merchant_or_key(ApiScope.SALES_WRITE)
CanReadSales = merchant_or_key(ApiScope.SALES_READ)
CanReadInvoices = merchant_or_key(ApiScope.INVOICES_READ)
CanCancelInvoices = merchant_or_key(ApiScope.INVOICES_CANCEL)
CanManageGlobalInvoices = merchant_or_key(ApiScope.GLOBAL_INVOICES)
CanChangeSettings = merchant_or_key(ApiScope.SETTINGS)
CanManageApiKeys = merchant_or_key(ApiScope.API_KEYS_MANAGE)
CanManageWebhooks = merchant_or_key(ApiScope.WEBHOOKS_MANAGE)
