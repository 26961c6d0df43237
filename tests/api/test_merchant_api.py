"""Merchant operations over GraphQL, on SQLite and PostgreSQL: login, settings, sales,
and isolation between merchants."""
from __future__ import annotations

import pytest

from tests.helpers import LOGIN, ME, PASSWORD, RECORD, SET_ENABLED, UPDATE_GENERIC, UPDATE_SETTINGS, operation, sale_input

SALES = operation("SalesPage")  # $first, $after


async def test_login_and_me(merchant):
    row, client = merchant
    data = await client(ME)
    me = data["data"]["me"]
    assert me["rfc"] == "EKU9003173C9" and me["companyNumber"] == row.company_number
    assert me["selfInvoicing"]["enabled"] is True and me["selfInvoicing"]["deadlineDays"] == 30


async def test_login_failures_look_the_same(gql, merchant):
    wrong_password = await gql(LOGIN, {"email": "tienda@example.com", "password": "nope-nope-nope"})
    unknown = await gql(LOGIN, {"email": "nadie@example.com", "password": PASSWORD})
    assert wrong_password["data"]["login"] == unknown["data"]["login"]
    assert wrong_password["data"]["login"]["__typename"] == "InvalidCredentials"


async def test_merchant_fields_need_a_merchant_token(gql):
    data = await gql(ME)
    assert data["data"] is None
    assert data["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    forged = await gql(ME, token="eyJhbGciOiJIUzI1NiJ9.e30.x")
    assert forged["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_settings_round_trip_and_validation(merchant):
    _, client = merchant
    assert (await client(SET_ENABLED, {"enabled": False}))["data"]["setSelfInvoicing"]["enabled"] is False
    ok = await client(UPDATE_SETTINGS, {"i": {"monthEndLimit": True, "deadlineDays": 10}})
    assert ok["data"]["updateSelfInvoicingSettings"] == {"__typename": "SelfInvoicingSettings", "monthEndLimit": True, "deadlineDays": 10}
    for bad in (0, 366):
        res = await client(UPDATE_SETTINGS, {"i": {"deadlineDays": bad}})
        assert res["data"]["updateSelfInvoicingSettings"]["errors"][0]["field"] == "deadlineDays"
    me = (await client(ME))["data"]["me"]["selfInvoicing"]
    assert me["enabled"] is False and me["deadlineDays"] == 10 and me["monthEndLimit"] is True


async def test_generic_concept_rules(merchant):
    _, client = merchant
    bad = await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "99999999", "unitKey": "ZZZ"}})
    codes = {e["field"]: e["code"] for e in bad["data"]["updateGenericConcept"]["errors"]}
    assert codes == {"productKey": "PRODUCT_KEY_INVALID", "unitKey": "UNIT_KEY_INVALID", "description": "REQUIRED"}
    ok = await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "01010101", "unitKey": "ACT", "description": "  Consumo   de alimentos "}})
    assert ok["data"]["updateGenericConcept"] == {
        "__typename": "GenericConcept", "enabled": True, "productKey": "01010101", "unitKey": "ACT", "description": "Consumo de alimentos"}


async def test_record_sale_computes_total_and_is_idempotent(merchant):
    row, client = merchant
    first = (await client(RECORD, {"input": sale_input()}))["data"]["recordSale"]
    assert first["__typename"] == "SaleRecorded" and first["created"] is True
    sale = first["sale"]
    assert sale["total"] == "1160.00" and sale["status"] == "OPEN"
    data = sale["invoicingData"]
    assert data["companyNumber"] == row.company_number and data["total"] == "1160.00"
    assert data["portalUrl"] == f"http://testserver/{row.company_number}?reference=T-1&total=1160.00"
    again = (await client(RECORD, {"input": sale_input()}))["data"]["recordSale"]
    assert again["created"] is False and again["sale"]["id"] == sale["id"]
    changed = sale_input(paymentForm="04")
    dup = (await client(RECORD, {"input": changed}))["data"]["recordSale"]
    assert dup["errors"][0]["code"] == "DUPLICATE_REFERENCE"


async def test_record_sale_reports_every_problem(merchant):
    _, client = merchant
    bad = sale_input(reference=" ", paymentForm="99", lines=[
        {"productKey": "123", "unitKey": "XX", "description": "", "quantity": "0", "unitPrice": "-1"},
        {"productKey": "01010101", "unitKey": "H87", "description": "x", "quantity": "1", "unitPrice": "10",
         "taxes": [{"type": "IVA", "rate": "0.15"}, {"type": "ISR", "rate": "0.1"}]},
    ])
    errors = (await client(RECORD, {"input": bad}))["data"]["recordSale"]["errors"]
    got = {(e["field"], e["code"]) for e in errors}
    assert {
        ("reference", "REQUIRED"), ("paymentForm", "PAYMENT_FORM_INVALID"),
        ("lines.0.productKey", "PRODUCT_KEY_INVALID"), ("lines.0.unitKey", "UNIT_KEY_INVALID"),
        ("lines.0.description", "REQUIRED"), ("lines.0.quantity", "NOT_POSITIVE"), ("lines.0.unitPrice", "NEGATIVE"),
        ("lines.1.taxes.0.rate", "RATE_NOT_ALLOWED"), ("lines.1.taxes.1.type", "TAX_TYPE_INVALID"),
    } <= got
    assert all(e["message"] for e in errors)


async def test_record_sale_caps_lines(merchant):
    _, client = merchant
    line = {"productKey": "01010101", "unitKey": "H87", "description": "x", "quantity": "1", "unitPrice": "1"}
    res = await client(RECORD, {"input": sale_input(lines=[line] * 501)})
    assert res["data"]["recordSale"]["errors"][0]["code"] == "TOO_MANY"


async def test_iva_8_only_in_border_region(merchant, other_merchant):
    line = {"productKey": "01010101", "unitKey": "H87", "description": "x", "quantity": "1", "unitPrice": "108",
            "taxes": [{"type": "IVA", "rate": "0.08"}]}
    border = (await merchant[1](RECORD, {"input": sale_input(lines=[line])}))["data"]["recordSale"]
    assert border["__typename"] == "SaleRecorded" and border["sale"]["total"] == "108.00"
    inland = (await other_merchant[1](RECORD, {"input": sale_input(lines=[line])}))["data"]["recordSale"]
    assert inland["errors"][0]["code"] == "RATE_NOT_ALLOWED"


async def test_sales_pagination_newest_first(merchant):
    _, client = merchant
    for i in range(5):
        await client(RECORD, {"input": sale_input(f"P-{i}", soldAt=f"2026-11-2{i}T12:00:00-06:00")})
    page1 = (await client(SALES, {"first": 2}))["data"]["sales"]
    assert [e["node"]["reference"] for e in page1["edges"]] == ["P-4", "P-3"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (await client(SALES, {"first": 2, "after": page1["pageInfo"]["endCursor"]}))["data"]["sales"]
    assert [e["node"]["reference"] for e in page2["edges"]] == ["P-2", "P-1"]
    page3 = (await client(SALES, {"first": 2, "after": page2["pageInfo"]["endCursor"]}))["data"]["sales"]
    assert [e["node"]["reference"] for e in page3["edges"]] == ["P-0"] and page3["pageInfo"]["hasNextPage"] is False
    too_many = await client(SALES, {"first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    bad_cursor = await client(SALES, {"first": 2, "after": "not-a-cursor"})
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_merchants_are_isolated(merchant, other_merchant):
    _, mine = merchant
    _, theirs = other_merchant
    await mine(RECORD, {"input": sale_input("SECRET-1")})
    assert (await theirs(SALES))["data"]["sales"]["edges"] == []
    # The same reference is free for another merchant: references are unique per merchant.
    res = (await theirs(RECORD, {"input": sale_input("SECRET-1", paymentForm="04")}))["data"]["recordSale"]
    assert res["__typename"] == "SaleRecorded"
    # Settings changes stay with their merchant.
    await theirs(SET_ENABLED, {"enabled": False})
    assert (await mine(ME))["data"]["me"]["selfInvoicing"]["enabled"] is True
    await theirs(UPDATE_SETTINGS, {"i": {"deadlineDays": 5}})
    await theirs(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "01010101", "unitKey": "ACT", "description": "x"}})
    me = (await mine(ME))["data"]["me"]["selfInvoicing"]
    assert me["deadlineDays"] == 30 and me["genericConcept"]["enabled"] is False
    mine_sales = (await mine(SALES))["data"]["sales"]["edges"]
    assert [e["node"]["reference"] for e in mine_sales] == ["SECRET-1"]


@pytest.mark.parametrize("query", [
    "{ a: taxRegimes { code } b: taxRegimes { code } c: taxRegimes { code } d: taxRegimes { code } e: taxRegimes { code } "
    "f: taxRegimes { code } g: taxRegimes { code } h: taxRegimes { code } i: taxRegimes { code } j: taxRegimes { code } "
    "k: taxRegimes { code } l: taxRegimes { code } m: taxRegimes { code } n: taxRegimes { code } o: taxRegimes { code } p: taxRegimes { code } }",
])
async def test_alias_limit(gql, query):
    data = await gql(query)
    assert "errors" in data and "aliases" in data["errors"][0]["message"].lower()


async def test_catalogue_queries(gql):
    data = await gql('{ taxRegimes(personType: MORAL) { code } cfdiUses(taxRegime: "605", personType: PHYSICAL) { code } }')
    assert "601" in {e["code"] for e in data["data"]["taxRegimes"]} and "612" not in {e["code"] for e in data["data"]["taxRegimes"]}
    assert {e["code"] for e in data["data"]["cfdiUses"]} == {"D01", "D02", "D03", "D04", "D05", "D06", "D07", "D08", "D09", "D10", "S01"}  # CP01 (pagos) and CN01 (nómina) never on an ingreso


async def test_login_guessing_is_throttled(gql, merchant):
    query = LOGIN  # selects InvalidCredentials.retryAfterSeconds
    for _ in range(10):
        res = (await gql(query, {"email": "tienda@example.com", "password": "wrong-password"}))["data"]["login"]
        assert res["retryAfterSeconds"] is None
    blocked = (await gql(query, {"email": "tienda@example.com", "password": PASSWORD}))["data"]["login"]
    assert blocked["__typename"] == "InvalidCredentials" and blocked["retryAfterSeconds"] > 0


async def test_wrong_passwords_from_anywhere_ask_the_owner_for_a_challenge_not_a_wait(app, services, merchant):
    import httpx

    from services.kernel.throttle import Limits
    from tests.helpers import solve

    services.throttle.limits = Limits(login_email_burst=3)

    async def login_from(address: str, password: str, challenge: str | None = None) -> dict:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            variables = {"email": "tienda@example.com", "password": password, "challenge": challenge}
            return (await http.post("/graphql", json={"query": LOGIN, "variables": variables})).json()["data"]["login"]

    for i in range(3):
        assert (await login_from(f"198.51.100.{i}", "wrong-password"))["__typename"] == "InvalidCredentials"
    asked = await login_from("192.0.2.9", PASSWORD)
    assert asked["__typename"] == "LoginChallenge" and asked["challenge"]
    payload = solve(asked["challenge"])
    assert (await login_from("192.0.2.9", PASSWORD, payload))["__typename"] == "LoginSucceeded"
    assert (await login_from("192.0.2.9", PASSWORD, payload))["__typename"] == "LoginChallenge"  # replayed
