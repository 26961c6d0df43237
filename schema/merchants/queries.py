"""Merchant queries: who the merchant token belongs to."""
from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import PublicError
from schema.merchants import types as t
from schema.permissions import MerchantOrAnyKey
from services.merchants import service as merchants
from services.merchants.models import Merchant


def merchant_or_gone(result: Merchant | None) -> Merchant:
    if result is None:
        raise PublicError("El comercio de este token ya no existe.", "UNAUTHENTICATED")
    return result


async def current_merchant(info: Info) -> Merchant:
    ctx = info.context
    return merchant_or_gone(await merchants.get_merchant(ctx.services.uow_factory, ctx.merchant_id))


@strawberry.type
class MerchantQuery:
    @strawberry.field(permission_classes=[MerchantOrAnyKey])
    async def me(self, info: Info) -> t.Merchant:
        return t.to_merchant(await current_merchant(info))
