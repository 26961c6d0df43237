"""Factura global over GraphQL, on SQLite and PostgreSQL: a period's past-deadline tickets
go into one CFDI to público en general exactly once; tickets still inside their deadline
and self-invoiced tickets stay out; a sale ends in exactly one CFDI."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select, update

from persistence.tables import GlobalInvoiceRow, InvoiceRow, SaleRow
from services import catalogs
from services.global_invoice import service as global_invoice
from services.global_invoice.period import period_of_months
from services.portal import issue as portal
from services.portal.results import NotInvoiceable
from services.cfdi.verify import verify_seal
from services.cfdi.xsd import validate_xml
from services.kernel.types import Customer
from tests.helpers import CUSTOMER, UPDATE_SETTINGS, issue, lookup, operation, record

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
ISSUE_GLOBAL = operation("IssueGlobalInvoice")  # $input
GLOBALS = "{ globalInvoices { edges { node { id folio status total } } pageInfo { hasNextPage } } }"
ZONE = catalogs.time_zone_for("22000")  # the merchant fixture's LugarExpedicion (Tijuana)


def past_month(back: int = 3) -> tuple[int, int]:
    """(year, month) `back` months ago in the merchant's zone: its sales are past a 30-day deadline."""
    today = datetime.now(ZONE)
    index = today.year * 12 + today.month - 1 - back
    return index // 12, index % 12 + 1


def local(year: int, month: int, day: int, hour: int = 12) -> str:
    return datetime(year, month, day, hour, tzinfo=ZONE).isoformat()


def period(year: int, month: int) -> dict:
    return {"periodicity": "04", "months": f"{month:02d}", "year": year}


async def issue_global(client, year, month):
    return (await client(ISSUE_GLOBAL, {"input": period(year, month)}))["data"]["issueGlobalInvoice"]


async def count(services, table, *where):
    async with services.uow_factory() as uow:
        return (await uow.session.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


def year_ok(year: int) -> bool:
    """InformacionGlobal@Año is the year of issue or the one before (skip in early January edge cases)."""
    return year >= datetime.now(ZONE).year - 1


async def test_a_month_goes_into_one_global_invoice(gql, merchant, http, services):
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    totals = []
    for i, day in enumerate((1, 9, 17, 28)):
        price = f"{100 + i * 17.33:.2f}"
        sale = await record(client, f"M-{i}", soldAt=local(year, month, day),
                            lines=[{"productKey": "01010101", "unitKey": "H87", "description": "Producto",
                                    "quantity": "3", "unitPrice": price}])
        totals.append(Decimal(sale["total"]))
    await record(client, "M-ZERO", soldAt=local(year, month, 5), lines=[
        {"productKey": "01010101", "unitKey": "H87", "description": "Con IEPS", "quantity": "1", "unitPrice": "33.33",
         "taxes": [{"type": "IEPS", "rate": "0.08"}, {"type": "IVA", "rate": "0.16"}]},
        {"productKey": "01010101", "unitKey": "KGM", "description": "Tortilla", "quantity": "1.5", "unitPrice": "21.90",
         "taxes": [{"type": "IVA", "rate": "0"}]}])
    totals.append(Decimal("33.33") + Decimal("32.85"))
    # Outside the period (the day before it starts, local time) and in another month: not included.
    await record(client, "OUT", soldAt=(datetime(year, month, 1, tzinfo=ZONE) - timedelta(minutes=1)).isoformat())

    res = await issue_global(client, year, month)
    assert res["__typename"] == "GlobalInvoiceIssued", res
    g = res["globalInvoice"]
    assert res["includedSales"] == g["saleCount"] == 5 and res["leftOutSales"] == 0
    assert (g["series"], g["folio"], g["status"], g["periodicity"], g["months"], g["year"]) == (
        "GL", "1", "ISSUED", "04", f"{month:02d}", year)
    assert Decimal(g["total"]) == sum(totals) and g["id"].startswith("g") and g["uuid"]

    xml = (await http.get(g["xmlUrl"].replace("http://testserver", ""))).content
    assert validate_xml(xml) == [] and verify_seal(xml)
    root = etree.fromstring(xml)
    assert Decimal(root.get("Total")) == sum(totals)
    assert root.find("cfdi:Receptor", NS).get("Rfc") == "XAXX010101000"
    assert dict(root.find("cfdi:InformacionGlobal", NS).attrib) == {"Periodicidad": "04", "Meses": f"{month:02d}", "Año": str(year)}
    refs = [c.get("NoIdentificacion") for c in root.findall("cfdi:Conceptos/cfdi:Concepto", NS)]
    assert refs == ["M-0", "M-ZERO", "M-ZERO", "M-1", "M-2", "M-3"]  # by sale time; two treatments, two concepts
    pdf = await http.get(g["pdfUrl"].replace("http://testserver", ""))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f'EKU9003173C9_GL1_{g["uuid"]}.pdf' in pdf.headers["content-disposition"]

    # Those tickets now answer IN_GLOBAL_INVOICE; the one outside the period does not.
    ticket = await lookup(gql, row, "M-1", str(totals[1]))
    assert ticket["__typename"] == "TicketNotInvoiceable" and ticket["reason"] == "IN_GLOBAL_INVOICE"
    assert (await lookup(gql, row, "OUT", "1160.00"))["reason"] == "DEADLINE_PASSED"
    statuses = (await client("{ sales { edges { node { reference status } } } }"))["data"]["sales"]["edges"]
    assert {e["node"]["reference"]: e["node"]["status"] for e in statuses}["M-2"] == "IN_GLOBAL_INVOICE"

    # The same period again: the same invoice, no second folio nor stamp.
    again = await issue_global(client, year, month)
    assert again["globalInvoice"]["id"] == g["id"] and again["globalInvoice"]["uuid"] == g["uuid"]
    assert await count(services, GlobalInvoiceRow) == 1
    listed = (await client(GLOBALS))["data"]["globalInvoices"]["edges"]
    assert [e["node"]["id"] for e in listed] == [g["id"]]


async def test_every_uninvoiced_sale_goes_in_and_self_invoiced_stays_out(gql, merchant, services):
    """RMF 2.7.1.21: every sale of the period without a nominative CFDI goes into its global,
    whatever its self-invoicing deadline; one still inside it can be invoiced nominatively
    afterwards (services/global_invoice/nominative.py), one past it answers IN_GLOBAL_INVOICE."""
    row, client = merchant
    year, month = past_month(1)
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    last_day = (datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=ZONE) - timedelta(days=1)).day
    await record(client, "EARLY", soldAt=local(year, month, 1, 6))
    await record(client, "LATE", soldAt=local(year, month, last_day, 18))
    await record(client, "MINE", soldAt=local(year, month, last_day, 19))
    # Self-invoice MINE while it is still inside its deadline ...
    assert (await issue(gql, (await lookup(gql, row, "MINE"))["ticketToken"]))["__typename"] == "InvoiceIssued"
    # ... then a deadline that LATE has not reached yet but EARLY (a month older) has.
    late_age = datetime.now(UTC) - datetime(year, month, last_day, 18, tzinfo=ZONE)
    res = (await client(UPDATE_SETTINGS, {"i": {"deadlineDays": late_age.days + 2}}))["data"]
    assert res["updateSelfInvoicingSettings"]["__typename"] == "SelfInvoicingSettings", res

    out = await issue_global(client, year, month)
    assert out["__typename"] == "GlobalInvoiceIssued", out
    assert (out["includedSales"], out["leftOutSales"]) == (2, 0)
    assert (await lookup(gql, row, "EARLY"))["reason"] == "IN_GLOBAL_INVOICE"
    assert (await lookup(gql, row, "LATE"))["__typename"] == "InvoiceableTicket"  # in the global, inside its deadline
    assert (await lookup(gql, row, "MINE"))["__typename"] == "TicketAlreadyInvoiced"
    assert await count(services, SaleRow, SaleRow.global_invoice_id.is_not(None)) == 2


async def test_nothing_to_invoice_and_invalid_periods(merchant):
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    nothing = await issue_global(client, year, month)
    assert nothing["__typename"] == "NothingToInvoice" and nothing["leftOutSales"] == 0
    now = datetime.now(ZONE)
    current = await issue_global(client, now.year, now.month)
    assert current["__typename"] == "InvalidGlobalInvoice" and current["errors"][0]["code"] == "PERIOD_NOT_ENDED"
    bad = (await client(ISSUE_GLOBAL, {"input": {"periodicity": "05", "months": "03", "year": now.year - 5}}))["data"]["issueGlobalInvoice"]
    assert {e["code"] for e in bad["errors"]} == {"PERIODICITY_NOT_ALLOWED", "MONTHS_INVALID", "YEAR_OUT_OF_RANGE"}
    daily = (await client(ISSUE_GLOBAL, {"input": {"periodicity": "01", "months": "01", "year": now.year}}))["data"]["issueGlobalInvoice"]
    assert daily["errors"][0]["code"] == "PERIOD_REQUIRED"  # a daily period is named by its day


async def test_stamping_failure_then_retry_takes_one_folio(merchant, services, http):
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    await record(client, "S-1", soldAt=local(year, month, 3))
    await services.pac.warm()
    services.pac.set_failure("unavailable", times=1)
    failed = await issue_global(client, year, month)
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    async with services.uow_factory() as uow:
        pending = (await uow.session.execute(select(GlobalInvoiceRow))).scalar_one()
    assert pending.status == "PENDING" and pending.signed_xml and pending.lease_until is None and pending.sale_count == 1
    ok = await issue_global(client, year, month)
    assert ok["__typename"] == "GlobalInvoiceIssued" and ok["globalInvoice"]["folio"] == "1"
    assert ok["globalInvoice"]["id"] == pending.public_id
    assert await count(services, GlobalInvoiceRow) == 1
    # The next period takes the next folio of the GL series: gapless.
    y2, m2 = past_month(2)
    await record(client, "S-2", soldAt=local(y2, m2, 3))
    assert (await issue_global(client, y2, m2))["globalInvoice"]["folio"] == "2"


async def test_another_merchant_cannot_see_it(merchant, other_merchant, http):
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    await record(client, "P-1", soldAt=local(year, month, 3))
    g = (await issue_global(client, year, month))["globalInvoice"]
    assert (await other_merchant[1](GLOBALS))["data"]["globalInvoices"]["edges"] == []
    # Their own period is theirs: it does not collide with ours nor take our sales.
    theirs = await issue_global(other_merchant[1], year, month)
    assert theirs["__typename"] == "NothingToInvoice"
    # A signed link for another kind or id is refused.
    url = g["xmlUrl"].replace("http://testserver", "")
    assert (await http.get(url.replace(".xml?", ".pdf?"))).status_code == 403
    assert (await http.get(url.split("?")[0] + "?token=nope")).status_code == 403
    assert (await client(GLOBALS))["data"]["globalInvoices"]["edges"][0]["node"]["id"] == g["id"]
    denied = await other_merchant[1].as_("")(GLOBALS)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_self_invoice_and_global_claim_end_in_exactly_one(merchant, services):
    """Each round, one past-deadline sale: a self-invoice claim (a customer who passed the
    lookup checks a moment ago) and the global claim run at the same moment."""
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    customer = Customer(CUSTOMER["rfc"], "XOCHILT CASAS CHAVEZ", CUSTOMER["zipCode"], CUSTOMER["taxRegime"], CUSTOMER["cfdiUse"])
    period = period_of_months("04", f"{month:02d}", year, ZONE)
    for i in range(6):
        sale = await record(client, f"R-{i}", soldAt=local(year, month, 2 + i))
        async with services.uow_factory(write=True) as uow:
            merchant_row = await uow.merchants.by_id(row.id)
            sale_row = await uow.sales.owned(row.id, int(sale["id"]))
            # Each round races a fresh claim of the period: forget the previous round's invoice
            # (SQLite may reuse its id) and keep its sale out of the race.
            for g in (await uow.session.execute(select(GlobalInvoiceRow))).scalars():
                await uow.session.delete(g)
            await uow.session.execute(update(SaleRow).where(SaleRow.global_invoice_id.is_not(None))
                                      .values(global_invoice_id=None, status="CANCELLED"))
            await uow.commit()
        now = datetime.now(UTC)
        async def claim_self():
            claimed, _fresh = await portal._claim(services, merchant_row, sale_row, customer, None, now)
            return claimed

        self_claim = claim_self()
        global_claim = global_invoice._claim(services, merchant_row, period, now)
        results = await asyncio.gather(*((self_claim, global_claim) if i % 2 else (global_claim, self_claim)))
        async with services.uow_factory() as uow:
            fresh = await uow.sales.owned(row.id, sale_row.id)
            invoice = await uow.invoices.by_sale(sale_row.id)
        in_global = fresh.status == "IN_GLOBAL_INVOICE" and fresh.global_invoice_id is not None
        assert in_global != (invoice is not None), (i, results, fresh.status, invoice)
        if in_global:  # the self-invoice lost and says why
            assert any(isinstance(r, NotInvoiceable) and r.reason == "IN_GLOBAL_INVOICE" for r in results), results
            assert fresh.status == "IN_GLOBAL_INVOICE"
        else:  # the global claim lost: nothing taken, no folio
            assert fresh.status == "OPEN" and fresh.global_invoice_id is None
            assert any(r is None for r in results), results
            assert any(isinstance(r, InvoiceRow) for r in results), results
    taken = await count(services, SaleRow, SaleRow.status.in_(["IN_GLOBAL_INVOICE", "CANCELLED"]))
    assert taken + await count(services, InvoiceRow) == 6


async def test_global_claim_takes_only_open_sales_and_gives_back_self_invoiced(merchant, services):
    """The claim's two guards, deterministically: a sale no longer OPEN is not taken, and a
    sale that has a self-invoice row after the UPDATE is given back before commit."""
    row, client = merchant
    year, month = past_month()
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    a = await record(client, "G-A", soldAt=local(year, month, 2))
    b = await record(client, "G-B", soldAt=local(year, month, 3))
    async with services.uow_factory(write=True) as uow:
        gid = 999_999
        assert await uow.sales.claim_for_global(row.id, [int(a["id"])], gid) == 1
        assert await uow.sales.claim_for_global(row.id, [int(a["id"])], gid + 1) == 0  # no longer OPEN
        now = datetime.now(UTC)
        uow.session.add(InvoiceRow(public_id="f" * 32, merchant_id=row.id, sale_id=int(a["id"]), series="AF", folio=99,
                                   total_cents=116000, customer_rfc="CACX7605101P8", customer_name="X", customer_zip="36257",
                                   customer_regime="612", customer_use="G03", created_at=now, updated_at=now))
        await uow.flush()
        assert await uow.sales.release_self_invoiced_from_global(row.id, gid) == 1
        assert [s.reference for s in await uow.sales.in_global(row.id, gid)] == []
        await uow.session.rollback()
    # And portal's claim re-reads the status under the row lock.
    async with services.uow_factory(write=True) as uow:
        await uow.sales.claim_for_global(row.id, [int(b["id"])], 7)
        merchant_row = await uow.merchants.by_id(row.id)
        await uow.commit()
    async with services.uow_factory() as uow:
        stale = await uow.sales.owned(row.id, int(b["id"]))
    stale.status = "OPEN"  # what the customer's request read before the global claim
    customer = Customer("CACX7605101P8", "XOCHILT CASAS CHAVEZ", "36257", "612", "G03")
    refused, _fresh = await portal._claim(services, merchant_row, stale, customer, None, datetime.now(UTC))
    assert isinstance(refused, NotInvoiceable) and refused.reason == "IN_GLOBAL_INVOICE"
    assert await count(services, InvoiceRow) == 0
