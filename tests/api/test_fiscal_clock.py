"""The fiscal clock (issue 12), on SQLite and PostgreSQL, with the clock injected (`now`):
- for each c_Periodicidad, sales spread over periods (some still inside their
  self-invoicing deadline, one self-invoiced) each end in exactly one CFDI after the
  worker runs past their period (RMF 2.7.1.21; Guía de llenado del CFDI global);
- two workers racing issue each global once; a period with no sales issues nothing;
- a large period is split at Services.global_invoice_max_concepts;
- nextGlobalInvoice shows the next global due and what it will hold;
- bimonthly is refused for a régimen other than 621.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import select

from persistence.tables import GlobalInvoiceRow, InvoiceRow, SaleRow
from services import catalogs
from services.global_invoice.period import period_containing
from services.worker import service as worker
from tests.helpers import issue, login, lookup, make_merchant, operation, record

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
SETTINGS = operation("UpdateSelfInvoicingSettings")  # $input
NEXT = operation("NextGlobalInvoice")
ZONE = catalogs.time_zone_for("22000")  # the merchant fixture's LugarExpedicion (Tijuana)


def local_noon(days_ago: int) -> datetime:
    """Noon in the merchant's zone `days_ago` days back: sales a few minutes or an hour
    apart from it stay in one daily period whatever time the suite runs."""
    return (datetime.now(ZONE) - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)
DAYS_AGO = (0.3, 1.2, 2.5, 6, 9, 15.5, 17, 33, 40, 64, 70)  # sold this long before now (several inside 30 days)
PERIODS = {"01": "DAILY", "02": "WEEKLY", "03": "FORTNIGHTLY", "04": "MONTHLY", "05": "BIMONTHLY"}


async def globals_of(services) -> list[GlobalInvoiceRow]:
    async with services.uow_factory() as uow:
        return list((await uow.session.execute(select(GlobalInvoiceRow).order_by(GlobalInvoiceRow.id))).scalars())


async def sales_of(services) -> list[SaleRow]:
    async with services.uow_factory() as uow:
        return list((await uow.session.execute(select(SaleRow).order_by(SaleRow.id))).scalars())


async def invoices_of(services) -> list[InvoiceRow]:
    async with services.uow_factory() as uow:
        return list((await uow.session.execute(select(InvoiceRow))).scalars())


async def set_periodicity(client, periodicity: str) -> dict:
    out = (await client(SETTINGS, {"input": {"globalInvoicePeriodicity": PERIODS[periodicity]}}))["data"]
    return out["updateSelfInvoicingSettings"]


async def bimonthly_merchant(services, gql):
    """Régimen 621 (Incorporación Fiscal, personas físicas): the only one allowed 05."""
    row = await make_merchant(services, "rif@example.com", rfc="CACX7605101P8", regime="621", zip_code="22000")
    return row, gql.as_(await login(gql, "rif@example.com"))


def informacion_global(xml: bytes) -> tuple[str, str, str]:
    node = etree.fromstring(xml).find("cfdi:InformacionGlobal", NS)
    return node.get("Periodicidad"), node.get("Meses"), node.get("Año")


@pytest.mark.parametrize("periodicity", list(PERIODS))
async def test_every_sale_ends_in_exactly_one_cfdi(periodicity, services, gql, merchant):
    if periodicity == "05":
        merchant = await bimonthly_merchant(services, gql)
    row, client = merchant
    assert (await set_periodicity(client, periodicity))["globalInvoicePeriodicity"] == PERIODS[periodicity]
    now = datetime.now(UTC)
    for i, days in enumerate(DAYS_AGO):
        await record(client, f"S-{i}", soldAt=(now - timedelta(days=days)).isoformat())
    # And one in the running period whatever the hour (0.3 days ago is yesterday in the
    # first hours of a merchant's day), so the last sweep below has a period to close.
    running = period_containing(periodicity, now, ZONE)
    await record(client, "S-NOW", soldAt=max(running.start, now - timedelta(minutes=1)).isoformat())
    # One customer self-invoices a ticket inside its deadline before the clock runs.
    mine = await lookup(gql, row, "S-3")
    assert (await issue(gql, mine["ticketToken"]))["__typename"] == "InvoiceIssued"

    sweep = await worker.run_once(services, now=now)
    current = period_containing(periodicity, now, ZONE)
    ended = [s for s in await sales_of(services) if s.sold_at < current.start and s.merchant_id == row.id]
    globals_ = await globals_of(services)
    assert sorted(sweep.globals_issued) == sorted(g.public_id for g in globals_) and not sweep.globals_failed
    # One global per period that had sales without a CFDI, and none for an empty period.
    expected_periods = {period_containing(periodicity, s.sold_at, ZONE).start for s in ended if s.reference != "S-3"}
    assert {g.period_start for g in globals_} == expected_periods and len(globals_) == len(expected_periods)
    invoiced = {i.sale_id for i in await invoices_of(services)}
    by_id = {g.id: g for g in globals_}
    for sale in await sales_of(services):
        period = period_containing(periodicity, sale.sold_at, ZONE)
        if sale.id in invoiced:
            assert sale.status == "INVOICED" and sale.global_invoice_id is None
        elif sale.sold_at < current.start:  # in its period's global, whatever its deadline
            assert sale.status == "IN_GLOBAL_INVOICE", sale.reference
            g = by_id[sale.global_invoice_id]
            assert (g.period_start, g.period_end) == (period.start, period.end)
        else:  # its period has not ended: still OPEN
            assert sale.status == "OPEN" and sale.global_invoice_id is None
    for g in globals_:
        assert g.status == "ISSUED" and g.replaces_id is None
        period = period_containing(periodicity, g.period_start, ZONE)
        assert informacion_global(g.stamped_xml) == (periodicity, period.months, str(period.year))
        members = [s for s in await sales_of(services) if s.global_invoice_id == g.id]
        assert g.sale_count == len(members) and g.total_cents == sum(s.total_cents for s in members)

    # Running again issues nothing new; past the running period, its sales go too.
    assert (await worker.run_once(services, now=now)).globals_issued == []
    later = await worker.run_once(services, now=current.end + timedelta(minutes=5))
    assert len(later.globals_issued) == 1
    sales = await sales_of(services)
    assert all(s.status in ("INVOICED", "IN_GLOBAL_INVOICE") for s in sales)
    # Exactly one CFDI per sale: its nominative invoice xor one global.
    assert all((s.id in invoiced) != (s.global_invoice_id is not None) for s in sales)


async def test_two_workers_racing_issue_each_global_once(services, merchant, settings):
    row, client = merchant
    assert (await set_periodicity(client, "01"))["globalInvoicePeriodicity"] == "DAILY"
    now = datetime.now(UTC)
    for i, days in enumerate((1, 1.1, 2, 3, 3.2, 5)):
        await record(client, f"R-{i}", soldAt=(now - timedelta(days=days)).isoformat())
    from api.app import build_services  # a second process's own pool and PAC client

    other = build_services(settings, pdf_inline=True)
    try:
        sweeps = await asyncio.gather(worker.run_once(services, now=now), worker.run_once(other, now=now))
    finally:
        await other.dispose()
    globals_ = await globals_of(services)
    issued = [p for s in sweeps for p in s.globals_issued]
    assert sorted(issued) == sorted(g.public_id for g in globals_)  # each stamped by one worker
    assert [g.part for g in globals_] == [1] * len(globals_)
    assert max(Counter(g.period_start for g in globals_).values()) == 1  # one global per period
    assert sorted(g.folio for g in globals_) == list(range(1, len(globals_) + 1))  # gapless GL folios
    expected = {period_containing("01", s.sold_at, ZONE).start for s in await sales_of(services)}
    assert {g.period_start for g in globals_} == expected
    assert all(s.status == "IN_GLOBAL_INVOICE" for s in await sales_of(services))


async def test_a_large_period_is_split_into_parts(services, merchant):
    row, client = merchant
    await set_periodicity(client, "01")
    services.global_invoice_max_concepts = 3  # each of these tickets is one Concepto
    day = local_noon(days_ago=2)  # noon: the 7 minutes never straddle the merchant's midnight
    for i in range(7):
        await record(client, f"P-{i}", soldAt=(day + timedelta(minutes=i)).isoformat())
    sweep = await worker.run_once(services, now=datetime.now(UTC))
    globals_ = await globals_of(services)
    assert len(sweep.globals_issued) == 3
    assert [(g.part, g.sale_count) for g in globals_] == [(1, 3), (2, 3), (3, 1)]
    assert len({g.period_start for g in globals_}) == 1
    for g in globals_:
        assert len(etree.fromstring(g.stamped_xml).find("cfdi:Conceptos", NS)) == g.sale_count
    assert sum(g.total_cents for g in globals_) == 7 * 116000


async def test_next_global_invoice_shows_the_clock(services, merchant):
    row, client = merchant
    await set_periodicity(client, "02")
    now = datetime.now(UTC)
    sold = local_noon(days_ago=20)  # both sales on one local day, so in one fortnight
    await record(client, "N-1", soldAt=sold.isoformat())
    await record(client, "N-2", soldAt=(sold - timedelta(hours=1)).isoformat())
    overdue = (await client(NEXT))["data"]["nextGlobalInvoice"]
    period = period_containing("02", sold, ZONE)
    assert (overdue["periodicity"], overdue["saleCount"], overdue["total"], overdue["overdue"]) == ("02", 2, "2320.00", True)
    assert datetime.fromisoformat(overdue["periodStart"]) == period.start
    assert datetime.fromisoformat(overdue["dueAt"]) == period.end
    assert datetime.fromisoformat(overdue["deadline"]) == period.end + timedelta(hours=24)
    await worker.run_once(services, now=now)
    running = (await client(NEXT))["data"]["nextGlobalInvoice"]
    current = period_containing("02", now, ZONE)
    assert (running["saleCount"], running["overdue"], running["automatic"]) == (0, False, True)
    assert datetime.fromisoformat(running["periodStart"]) == current.start


async def test_automatic_off_leaves_it_to_the_merchant(services, merchant):
    row, client = merchant
    out = (await client(SETTINGS, {"input": {"globalInvoicePeriodicity": "DAILY", "globalInvoiceAutomatic": False}}))
    assert out["data"]["updateSelfInvoicingSettings"]["globalInvoiceAutomatic"] is False
    sold = datetime.now(UTC) - timedelta(days=2)
    await record(client, "M-1", soldAt=sold.isoformat())
    assert (await worker.run_once(services, now=datetime.now(UTC))).globals_issued == []
    by_hand = operation("IssueGlobalInvoice")
    day = sold.astimezone(ZONE).date().isoformat()
    res = (await client(by_hand, {"input": {"periodicity": "01", "day": day}}))["data"]["issueGlobalInvoice"]
    assert res["__typename"] == "GlobalInvoiceIssued" and res["includedSales"] == 1, res
    again = (await client(by_hand, {"input": {"periodicity": "01", "day": day}}))["data"]["issueGlobalInvoice"]
    assert again["globalInvoice"]["id"] == res["globalInvoice"]["id"]  # same period, same invoice


async def test_bimonthly_is_refused_for_another_regime(services, gql, merchant):
    row, client = merchant  # régimen 601
    refused = await set_periodicity(client, "05")
    assert refused["__typename"] == "InvalidSettings"
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("globalInvoicePeriodicity", "PERIODICITY_NOT_ALLOWED")]
    async with services.uow_factory() as uow:
        assert (await uow.merchants.by_id(row.id)).global_invoice_periodicity == "04"  # default kept
    rif_row, rif = await bimonthly_merchant(services, gql)
    assert (await set_periodicity(rif, "05"))["globalInvoicePeriodicity"] == "BIMONTHLY"


async def test_worker_once_issues_overdue_periods_at_start(services, merchant, settings):
    """`autofactura worker --once` (its own process, the real clock): periods that ended
    before the worker started are issued at once; the running one waits."""
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    row, client = merchant
    await set_periodicity(client, "01")
    now = datetime.now(UTC)
    for i, days in enumerate((3, 1.5, 1.4)):
        await record(client, f"W-{i}", soldAt=(now - timedelta(days=days)).isoformat())
    current = period_containing("01", now, ZONE)
    await record(client, "W-NOW", soldAt=max(current.start, now - timedelta(minutes=1)).isoformat())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAC")}
    env.update({"ENV": "development", "DATABASE_URL": settings.database_url, "VAR_DIR": str(settings.var_dir),
                "JWT_SECRET": settings.jwt_secret, "ENCRYPTION_SECRET": settings.encryption_secret})
    result = subprocess.run([sys.executable, "-m", "api.cli", "worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    expected = {period_containing("01", now - timedelta(days=d), ZONE).start for d in (3, 1.5, 1.4)}
    globals_ = await globals_of(services)
    assert {g.period_start for g in globals_} == expected and all(g.status == "ISSUED" for g in globals_)
    assert f"facturas globales emitidas {len(expected)}" in result.stdout + result.stderr
    statuses = {s.reference: s.status for s in await sales_of(services)}
    assert statuses.pop("W-NOW") == "OPEN" and set(statuses.values()) == {"IN_GLOBAL_INVOICE"}


async def test_metrics_show_when_the_next_global_falls_due(services, merchant, http):
    """GET /metrics: autofactura_next_global_invoice_due_timestamp_seconds is the end of the
    period of the oldest sale without a CFDI; absent once none waits."""
    from prometheus_client.parser import text_string_to_metric_families

    async def due() -> float | None:
        text = (await http.get("/metrics")).text
        found = [s.value for f in text_string_to_metric_families(text) for s in f.samples
                 if s.name == "autofactura_next_global_invoice_due_timestamp_seconds"]
        return found[0] if found else None

    row, client = merchant
    await set_periodicity(client, "03")
    assert await due() is None
    sold = datetime.now(UTC) - timedelta(days=40)
    await record(client, "D-1", soldAt=sold.isoformat())
    await record(client, "D-2", soldAt=(sold + timedelta(days=10)).isoformat())
    assert await due() == period_containing("03", sold, ZONE).end.timestamp()
    await worker.run_once(services, now=datetime.now(UTC))
    assert await due() is None
