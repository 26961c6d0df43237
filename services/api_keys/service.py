"""API keys for points of sale and integrations (Facturapi-style secret keys, with scopes).

A secret reads ``af_live_<8 hex>_<43 url-safe characters>`` (``af_test_`` while the server
stamps with the sandbox PAC, so a key can never be mistaken for one that makes real
CFDIs). The prefix ``af_live_<8 hex>`` is stored in clear and indexed; the whole secret
only as an HMAC-SHA256 under the server's secret (services/kernel/security.SecretBox.mac).
A revoked key is refused on its next request: every request reads the key's row.
"""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from persistence.tables import ApiKeyRow
from services.api_keys.models import ApiKey, ApiKeyCreated, ApiScope, KeyPrincipal, api_key_from_row
from services.kernel.codes import ApiKeyErrorCode as Code
from services.kernel.container import Services
from services.kernel.ids import parse_row_id
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem

MAX_KEYS = 50  # live keys per merchant
MAX_NAME = 100
LAST_USED_EVERY = timedelta(minutes=1)  # lastUsedAt is written at most this often per key
_PURPOSE = "api-key"
_SECRET = re.compile(r"^(af_(?:live|test)_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")


def looks_like_key(token: str) -> bool:
    return token.startswith("af_")


def _mode(services: Services) -> str:
    return "live" if services.live_stamping else "test"


async def create_api_key(
    services: Services, merchant_id: int, name: str, scopes: list[ApiScope], *,
    creator_scopes: frozenset[ApiScope] | None = None, now: datetime | None = None,
) -> ApiKeyCreated | Invalid:
    """A new key; ``creator_scopes`` is the calling key's scopes (None for a merchant's
    session): a key can never make a key that does more than itself."""
    now = now or datetime.now(UTC)
    name = " ".join(name.split())
    problems: list[FieldProblem] = []
    if not name:
        problems.append(FieldProblem("name", Code.NAME_REQUIRED, "Ponle un nombre a la llave, p. ej. «Caja 1»."))
    elif len(name) > MAX_NAME or not name.isprintable():
        problems.append(FieldProblem("name", Code.NAME_INVALID, f"El nombre admite hasta {MAX_NAME} caracteres imprimibles."))
    if not scopes:
        problems.append(FieldProblem("scopes", Code.SCOPES_REQUIRED, "Elige al menos un permiso para la llave."))
    elif creator_scopes is not None and not set(scopes) <= creator_scopes:
        problems.append(FieldProblem(
            "scopes", Code.SCOPE_NOT_HELD, "Una llave no puede crear otra con permisos que ella misma no tiene."))
    if problems:
        return Invalid(tuple(problems))
    prefix = f"af_{_mode(services)}_{secrets.token_hex(4)}"
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        merchant_id=merchant_id, name=name, prefix=prefix, secret_hash=services.box.mac(secret, _PURPOSE),
        scopes=" ".join(sorted({s.value for s in scopes})), created_at=now,
    )
    async with services.uow_factory(write=True) as uow:
        live = [k for k in await uow.api_keys.for_merchant(merchant_id, MAX_KEYS + 1) if k.revoked_at is None]
        if len(live) >= MAX_KEYS:
            return invalid(FieldProblem(
                "scopes", Code.TOO_MANY_KEYS, f"Ya tienes {MAX_KEYS} llaves activas: revoca alguna antes de crear otra."))
        await uow.api_keys.add(row)
        await uow.commit()
    return ApiKeyCreated(api_key_from_row(row), secret)


async def revoke_api_key(services: Services, merchant_id: int, key_id: str, *, now: datetime | None = None) -> ApiKey | Invalid:
    """Idempotent: revoking a revoked key returns it as it is."""
    row_id = parse_row_id(key_id)
    if row_id is None:
        return invalid(FieldProblem("id", Code.NOT_FOUND, "No existe esa llave."))
    async with services.uow_factory(write=True) as uow:
        row = await uow.api_keys.owned(merchant_id, row_id)
        if row is None:
            return invalid(FieldProblem("id", Code.NOT_FOUND, "No existe esa llave."))
        if row.revoked_at is None:
            row.revoked_at = now or datetime.now(UTC)
            await uow.api_keys.save(row)
            await uow.commit()
    return api_key_from_row(row)


async def list_api_keys(services: Services, merchant_id: int) -> list[ApiKey]:
    async with services.uow_factory() as uow:
        rows = await uow.api_keys.for_merchant(merchant_id, MAX_KEYS * 4)
    return [api_key_from_row(r) for r in rows]


async def authenticate(services: Services, secret: str, *, now: datetime | None = None) -> KeyPrincipal | None:
    """The key's principal, or None for an unknown, malformed or revoked key."""
    match = _SECRET.match(secret)
    if match is None:
        return None
    now = now or datetime.now(UTC)
    async with services.uow_factory() as uow:
        row = await uow.api_keys.by_prefix(match.group(1))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, services.box.mac(secret, _PURPOSE)):
        return None
    assert row.id is not None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        async with services.uow_factory(write=True) as uow:
            await uow.api_keys.touch(row.id, now)
            await uow.commit()
    return KeyPrincipal(row.id, row.merchant_id, frozenset(api_key_from_row(row).scopes))
