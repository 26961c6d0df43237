"""API-key mutations: create (the secret is shown once) and revoke."""
from __future__ import annotations

from typing import assert_never

import strawberry

from schema.api_keys import types as t
from schema.context import Info
from schema.fields import to_field_errors
from schema.permissions import CanManageApiKeys
from services.api_keys import models
from services.api_keys import service as api_keys
from services.kernel.results import Invalid


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        permission_classes=[CanManageApiKeys],
        description="A new API key for a point of sale or an integration. A key can only create keys with scopes it holds.",
    )
    async def create_api_key(self, info: Info, input: t.CreateApiKeyInput) -> t.CreateApiKeyResult:
        ctx = info.context
        result = await api_keys.create_api_key(
            ctx.services, ctx.merchant_id, input.name, list(input.scopes), creator_scopes=ctx.key_scopes,
        )
        match result:
            case models.ApiKeyCreated():
                return t.ApiKeyCreated(api_key=t.to_api_key(result.api_key), secret=result.secret)
            case Invalid(problems=problems):
                return t.InvalidApiKey(errors=to_field_errors(problems))
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[CanManageApiKeys], description="Refused from its next request on. Idempotent.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> t.RevokeApiKeyResult:
        ctx = info.context
        result = await api_keys.revoke_api_key(ctx.services, ctx.merchant_id, str(id))
        match result:
            case models.ApiKey():
                return t.to_api_key(result)
            case Invalid(problems=problems):
                return t.InvalidApiKey(errors=to_field_errors(problems))
            case _:
                assert_never(result)
