"""The merchant console's queries, on SQLite and PostgreSQL: the overview's figures, sales
per day, the sales list's filters, one sale, and the c_ClaveProdServ / c_ClaveUnidad search."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.helpers import CUSTOMER, issue, lookup, operation, record

OVERVIEW = operation("ConsoleOverview")  # $days
SALES = operation("ConsoleSales")  # $first $after $reference $soldFrom $soldTo $status
SALE = operation("ConsoleSale")  # $id
PRODUCT_KEYS = operation("ProductKeys")  # $search $first
UNIT_KEYS = operation("UnitKeys")
CANCEL_SALE = operation("CancelSale")  # $id

TIJUANA = ZoneInfo("America/Tijuana")  # the test merchant's LugarExpedicion is 22000


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def _shop(gql, merchant):
    """Four sales today (one self-invoiced, one cancelled), one two days ago, one 40 days ago."""
    row, client = merchant
    now = datetime.now(UTC)
    today = await record(client, "HOY-1")  # 1160.00
    await issue(gql, (await lookup(gql, row, "HOY-1"))["ticketToken"], CUSTOMER)
    await record(client, "HOY-2")
    await record(client, "hoy-3", lines=[{"productKey": "01010101", "unitKey": "H87", "description": "x", "quantity": "1", "unitPrice": "100.00"}])
    cancelled = await record(client, "HOY-4")
    assert (await client(CANCEL_SALE, {"id": cancelled["id"]}))["data"]["cancelSale"]["__typename"] == "SaleCancelled"
    await record(client, "ANTES-1", soldAt=_at(now - timedelta(days=2)))
    await record(client, "VIEJA-1", soldAt=_at(now - timedelta(days=40)))
    return today


async def test_overview_counts_the_merchants_local_days(gql, merchant, other_merchant):
    await _shop(gql, merchant)
    await record(other_merchant[1], "AJENA-1")  # another merchant's sale counts nowhere here
    data = (await merchant[1](OVERVIEW, {"days": 30}))["data"]
    summary = data["dashboardSummary"]
    assert summary["timeZone"] == "America/Tijuana" and summary["sandbox"] is True
    assert summary["today"] == {"count": 3, "total": "2420.00", "selfInvoicedCount": 1, "selfInvoicedTotal": "1160.00"}
    local_today = datetime.now(TIJUANA).date()
    two_days_ago = local_today - timedelta(days=2)
    month = summary["thisMonth"]
    expected_month = 3 + (1 if two_days_ago.month == local_today.month else 0)
    assert month["count"] == expected_month and month["selfInvoicedCount"] == 1
    # Before today, OPEN, not self-invoiced: ANTES-1 and VIEJA-1 (1160.00 each).
    assert summary["pendingGlobalCount"] == 2 and Decimal(summary["pendingGlobalTotal"]) == Decimal("2320.00")

    days = data["salesByDay"]
    assert len(days) == 30 and days[-1]["date"] == local_today.isoformat()
    assert days[0]["date"] == (local_today - timedelta(days=29)).isoformat()
    by_date = {d["date"]: d["totals"] for d in days}
    assert by_date[local_today.isoformat()]["count"] == 3
    assert by_date[local_today.isoformat()]["selfInvoicedTotal"] == "1160.00"
    assert by_date[two_days_ago.isoformat()] == {"count": 1, "total": "1160.00", "selfInvoicedCount": 0, "selfInvoicedTotal": "0.00"}
    assert sum(d["totals"]["count"] for d in days) == 4  # VIEJA-1 is older than 30 days
    assert data["me"]["csd"]["serialNumber"] == "30001000000500003416"


async def test_sales_by_day_bounds(merchant):
    _, client = merchant
    for bad in (0, 93):
        res = await client(OVERVIEW, {"days": bad})
        assert res["data"] is None and res["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "entre 1 y 92" in res["errors"][0]["message"]
    assert len((await client(OVERVIEW, {"days": 1}))["data"]["salesByDay"]) == 1


async def test_sales_filters_and_paging(gql, merchant, other_merchant):
    await _shop(gql, merchant)
    await record(other_merchant[1], "HOY-9")
    _, client = merchant

    async def refs(**variables):
        res = await client(SALES, variables)
        assert "errors" not in res, res
        return [e["node"]["reference"] for e in res["data"]["sales"]["edges"]]

    assert await refs(reference=" hoy ") == ["HOY-4", "hoy-3", "HOY-2", "HOY-1"]  # case and spaces as lookups fold them
    assert await refs(reference="%") == []  # LIKE wildcards are literal
    assert await refs(status="INVOICED") == ["HOY-1"]
    assert await refs(status="CANCELLED") == ["HOY-4"]
    now = datetime.now(UTC)
    assert await refs(soldFrom=_at(now - timedelta(days=3)), soldTo=_at(now - timedelta(days=1))) == ["ANTES-1"]
    assert await refs(soldTo=_at(now - timedelta(days=30))) == ["VIEJA-1"]
    assert await refs(reference="hoy", status="OPEN") == ["hoy-3", "HOY-2"]

    first = (await client(SALES, {"first": 2, "reference": "hoy"}))["data"]["sales"]
    assert [e["node"]["reference"] for e in first["edges"]] == ["HOY-4", "hoy-3"] and first["pageInfo"]["hasNextPage"]
    after = first["pageInfo"]["endCursor"]
    assert await refs(first=2, after=after, reference="hoy") == ["HOY-2", "HOY-1"]

    backwards = await client(SALES, {"soldFrom": _at(now), "soldTo": _at(now - timedelta(days=1))})
    assert backwards["errors"][0]["message"] == "La fecha final debe ser posterior a la inicial."
    too_long = await client(SALES, {"reference": "x" * 101})
    assert too_long["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_one_sale_with_its_invoice(gql, merchant, other_merchant):
    sale = await _shop(gql, merchant)
    found = (await merchant[1](SALE, {"id": sale["id"]}))["data"]["sale"]
    assert found["reference"] == "HOY-1" and found["status"] == "INVOICED"
    assert found["invoice"]["status"] == "ISSUED" and found["invoice"]["customerRfc"] == CUSTOMER["rfc"]
    assert found["invoice"]["xmlUrl"].startswith("http://testserver/downloads/")
    assert found["invoicingData"]["reference"] == "HOY-1"
    # Another merchant's sale, a made-up id and a malformed one answer null alike.
    for other in (sale["id"], "999999", "abc", "9" * 40):
        assert (await other_merchant[1](SALE, {"id": other}))["data"]["sale"] is None


async def test_catalogue_search(gql):
    products = (await gql(PRODUCT_KEYS, {"search": "01010101"}))["data"]["productKeys"]
    assert products[0] == {"code": "01010101", "description": "No existe en el catálogo"}
    cafe = (await gql(PRODUCT_KEYS, {"search": "CAFE", "first": 50}))["data"]["productKeys"]
    assert {"code": "50201706", "description": "Café"} in cafe and len(cafe) <= 50  # accents and case ignored
    units = (await gql(UNIT_KEYS, {"search": "act"}))["data"]["unitKeys"]
    assert units[0] == {"code": "ACT", "description": "Actividad"}
    assert (await gql(UNIT_KEYS, {"search": "kilogramo", "first": 3}))["data"]["unitKeys"].__len__() == 3
    assert (await gql(UNIT_KEYS, {"search": "   "}))["data"]["unitKeys"] == []
    for bad in ({"search": "a", "first": 51}, {"search": "a", "first": 0}, {"search": "a" * 101}):
        res = await gql(PRODUCT_KEYS, bad)
        assert res["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
