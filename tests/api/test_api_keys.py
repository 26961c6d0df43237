"""API keys for the point of sale, over GraphQL on SQLite and PostgreSQL: a key does what
its scopes say and nothing more, revocation bites on the next request, the secret is
never stored, and lastUsedAt is not a write per request."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from persistence.tables import ApiKeyRow
from tests.helpers import CUSTOMER, INVOICE, ME, RECORD, SET_ENABLED, issue, lookup, operation, record, sale_input

CREATE = operation("CreateApiKey")  # $input
REVOKE = operation("RevokeApiKey")  # $id
KEYS = operation("ApiKeys")
RECORD_MANY = operation("RecordSales")  # $inputs
SALES = operation("SalesPage")  # $first, $after
INVOICES = operation("InvoicesPage")  # $first, $after
CANCEL = operation("CancelInvoice")  # $input


async def create_key(client, *scopes, name="Caja 1"):
    res = (await client(CREATE, {"input": {"name": name, "scopes": list(scopes)}}))["data"]["createApiKey"]
    assert res["__typename"] == "ApiKeyCreated", res
    return res


def error_code(data) -> str | None:
    return data["errors"][0]["extensions"]["code"] if data.get("errors") else None


async def test_a_sales_write_key_records_sales_and_nothing_else(gql, merchant):
    row, client = merchant
    created = await create_key(client, "SALES_WRITE")
    secret = created["secret"]
    assert secret.startswith("af_test_") and created["apiKey"]["prefix"] == secret[: len(created["apiKey"]["prefix"])]
    pos = gql.as_(secret)
    recorded = (await pos(RECORD, {"input": sale_input("POS-1")}))["data"]["recordSale"]
    assert recorded["__typename"] == "SaleRecorded" and recorded["sale"]["reference"] == "POS-1"
    batch = (await pos(RECORD_MANY, {"inputs": [sale_input("POS-2"), sale_input("POS-1"), sale_input("")]}))["data"]["recordSales"]
    assert (batch["created"], batch["replayed"], batch["refused"]) == (1, 1, 1)
    assert [r["__typename"] for r in batch["results"]] == ["SaleRecorded", "SaleRecorded", "InvalidSale"]

    # Everything outside SALES_WRITE is refused, naming the scope it lacks.
    denied = {
        "sales": await pos(SALES, {"first": 5}),
        "invoices": await pos(INVOICES, {"first": 5}),
        "cancel": await pos(CANCEL, {"input": {"id": "x", "reason": "02"}}),
        "settings": await pos(SET_ENABLED, {"enabled": False}),
        "keys": await pos(KEYS),
        "create key": await pos(CREATE, {"input": {"name": "otra", "scopes": ["SALES_WRITE"]}}),
        "global": await pos("{ globalInvoices { edges { cursor } } }"),
        "webhooks": await pos("{ webhookEndpoints { id } }"),
    }
    for what, data in denied.items():
        assert data["data"] is None, what
        assert error_code(data) == "FORBIDDEN", (what, data)
    assert denied["sales"]["errors"][0]["extensions"]["requiredScope"] == "SALES_READ"
    # me is allowed to any key of the merchant: it tells the POS whose key it holds.
    assert (await pos(ME))["data"]["me"]["companyNumber"] == row.company_number
    # The merchant's settings did not move.
    assert (await client(ME))["data"]["me"]["selfInvoicing"]["enabled"] is True


async def test_a_read_key_reads_invoices_and_downloads(gql, merchant):
    row, client = merchant
    await record(client, "T-1")
    issued = await issue(gql, (await lookup(gql, row))["ticketToken"], CUSTOMER)
    reader = gql.as_((await create_key(client, "INVOICES_READ", "SALES_READ"))["secret"])
    page = (await reader(INVOICES, {"first": 5}))["data"]["invoices"]
    assert [e["node"]["id"] for e in page["edges"]] == [issued["invoice"]["id"]]
    one = (await reader(INVOICE, {"id": issued["invoice"]["id"]}))["data"]["invoice"]
    assert one["uuid"] == issued["invoice"]["uuid"] and one["pdfUrl"]
    assert (await reader(SALES, {"first": 5}))["data"]["sales"]["edges"][0]["node"]["reference"] == "T-1"
    no_cancel = await reader(CANCEL, {"input": {"id": issued["invoice"]["id"], "reason": "02"}})
    assert error_code(no_cancel) == "FORBIDDEN"


async def test_revocation_bites_on_the_next_request(gql, merchant):
    _, client = merchant
    created = await create_key(client, "SALES_WRITE")
    pos = gql.as_(created["secret"])
    assert (await pos(RECORD, {"input": sale_input("A")}))["data"]["recordSale"]["__typename"] == "SaleRecorded"
    revoked = (await client(REVOKE, {"id": created["apiKey"]["id"]}))["data"]["revokeApiKey"]
    assert revoked["__typename"] == "ApiKey" and revoked["revokedAt"]
    after = await pos(RECORD, {"input": sale_input("B")})
    assert after["data"] is None and error_code(after) == "UNAUTHENTICATED"
    # Idempotent, and listed with its revocation.
    again = (await client(REVOKE, {"id": created["apiKey"]["id"]}))["data"]["revokeApiKey"]
    assert again["revokedAt"] == revoked["revokedAt"]
    listed = (await client(KEYS))["data"]["apiKeys"]
    assert listed[0]["id"] == created["apiKey"]["id"] and listed[0]["revokedAt"] == revoked["revokedAt"]


async def test_the_secret_is_not_in_the_database(gql, merchant, services):
    _, client = merchant
    secret = (await create_key(client, "SALES_WRITE"))["secret"]
    async with services.uow_factory() as uow:
        rows = (await uow.session.execute(select(ApiKeyRow))).scalars().all()
    assert len(rows) == 1
    random_part = secret[len(rows[0].prefix) + 1:]  # af_test_<8 hex>_<43 characters, "_" among them>
    assert len(random_part) == 43
    stored = " ".join(str(getattr(rows[0], c.name)) for c in ApiKeyRow.__table__.columns)
    assert random_part not in stored and secret not in stored
    assert rows[0].prefix == secret[: len(rows[0].prefix)] and len(rows[0].secret_hash) == 64


async def test_wrong_forged_and_other_merchants_keys(gql, merchant, other_merchant):
    _, client = merchant
    _, other = other_merchant
    secret = (await create_key(client, "SALES_WRITE", "SALES_READ"))["secret"]
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for bad in (forged, "af_live_00000000_" + "x" * 43, "af_nope"):
        data = await gql(ME, token=bad)
        assert data["data"] is None and error_code(data) == "UNAUTHENTICATED", bad
    await record(other, "ONLY-OTHER")
    mine = (await gql.as_(secret)(SALES, {"first": 10}))["data"]["sales"]["edges"]
    assert mine == []  # another merchant's sales do not exist for this key


async def test_a_key_cannot_create_a_key_that_does_more(gql, merchant):
    _, client = merchant
    manager = gql.as_((await create_key(client, "API_KEYS_MANAGE", "SALES_WRITE"))["secret"])
    ok = (await manager(CREATE, {"input": {"name": "Caja 2", "scopes": ["SALES_WRITE"]}}))["data"]["createApiKey"]
    assert ok["__typename"] == "ApiKeyCreated"
    more = (await manager(CREATE, {"input": {"name": "Caja 3", "scopes": ["SETTINGS"]}}))["data"]["createApiKey"]
    assert more["__typename"] == "InvalidApiKey" and more["errors"][0]["code"] == "SCOPE_NOT_HELD"
    empty = (await client(CREATE, {"input": {"name": "  ", "scopes": []}}))["data"]["createApiKey"]
    assert {e["code"] for e in empty["errors"]} == {"NAME_REQUIRED", "SCOPES_REQUIRED"}


async def test_last_used_is_written_at_most_once_a_minute(gql, merchant, services):
    _, client = merchant
    created = await create_key(client, "SALES_READ")
    assert created["apiKey"]["lastUsedAt"] is None
    pos = gql.as_(created["secret"])
    await asyncio.gather(*(pos(SALES, {"first": 1}) for _ in range(5)))
    first = (await client(KEYS))["data"]["apiKeys"][0]["lastUsedAt"]
    assert first is not None
    for _ in range(3):
        await pos(SALES, {"first": 1})
    assert (await client(KEYS))["data"]["apiKeys"][0]["lastUsedAt"] == first
