"""What the API-keys domain returns: read models and the scopes a key may hold."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from persistence.tables import ApiKeyRow


class ApiScope(StrEnum):
    """What a key may do. A merchant's session token (password login) may do all of it;
    a key only what it holds, and it never logs in nor replaces the CSD."""

    SALES_WRITE = "sales:write"  # recordSale, recordSales, cancelSale
    SALES_READ = "sales:read"  # sales
    INVOICES_READ = "invoices:read"  # invoices, invoice, downloads
    INVOICES_CANCEL = "invoices:cancel"  # cancelInvoice
    GLOBAL_INVOICES = "global_invoices"  # globalInvoices, issueGlobalInvoice
    SETTINGS = "settings"  # self-invoicing settings, generic concept, series, branding
    API_KEYS_MANAGE = "api_keys:manage"  # createApiKey, revokeApiKey, apiKeys
    WEBHOOKS_MANAGE = "webhooks:manage"  # webhook endpoints and their deliveries


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    scopes: tuple[ApiScope, ...]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ApiKeyCreated:
    api_key: ApiKey
    secret: str  # shown once; only its keyed hash is stored


@dataclass(frozen=True)
class KeyPrincipal:
    """A request authenticated by an API key."""

    key_id: int
    merchant_id: int
    scopes: frozenset[ApiScope]


def parse_scopes(text: str) -> tuple[ApiScope, ...]:
    known = {s.value: s for s in ApiScope}
    return tuple(known[v] for v in text.split() if v in known)


def api_key_from_row(row: ApiKeyRow) -> ApiKey:
    assert row.id is not None
    return ApiKey(
        id=row.id, name=row.name, scopes=parse_scopes(row.scopes), prefix=row.prefix, created_at=row.created_at,
        last_used_at=row.last_used_at, revoked_at=row.revoked_at,
    )
