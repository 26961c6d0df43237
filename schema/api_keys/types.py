"""Strawberry types of API keys (a point of sale's credential, with scopes)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional, Union

import strawberry

from schema.fields import FieldError
from services.api_keys import models

ApiScope = strawberry.enum(
    models.ApiScope, name="ApiScope",
    description="What an API key may do; a merchant's session token may do all of it",
)


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    scopes: list[ApiScope]  # type: ignore[valid-type]
    prefix: str = strawberry.field(description="The key's first characters, kept in clear to tell keys apart (af_live_1a2b3c4d)")
    created_at: datetime
    last_used_at: Optional[datetime] = strawberry.field(description="Updated at most once a minute")
    revoked_at: Optional[datetime]


@strawberry.type
class ApiKeyCreated:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="The whole key, shown only now: send it as Authorization: Bearer <secret>. Only a hash is stored."
    )


@strawberry.type
class InvalidApiKey:
    errors: list[FieldError]


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for, e.g. «Caja 1» (up to 100 characters)")
    scopes: list[ApiScope]  # type: ignore[valid-type]


CreateApiKeyResult = Annotated[Union[ApiKeyCreated, InvalidApiKey], strawberry.union("CreateApiKeyResult")]
RevokeApiKeyResult = Annotated[Union[ApiKey, InvalidApiKey], strawberry.union("RevokeApiKeyResult")]


def to_api_key(k: models.ApiKey) -> ApiKey:
    return ApiKey(
        id=strawberry.ID(str(k.id)), name=k.name, scopes=list(k.scopes), prefix=k.prefix, created_at=k.created_at,
        last_used_at=k.last_used_at, revoked_at=k.revoked_at,
    )
