"""A nominative CFDI for a ticket already in a factura global (Guía de llenado del CFDI
global; c_MotivoCancelacion 04; c_TipoRelacion 04), on SQLite and PostgreSQL, through the
sandbox PAC and through the Finkok protocol (the local emulator over HTTP):
- one ticket: the global is cancelled with motivo 04, the replacement (related to it with
  TipoRelacion 04) holds the other tickets and totals the original minus the ticket, the
  nominative CFDI is issued, and the ticket then answers like any invoiced ticket;
- two customers of the same global at once: both get their CFDI, every ticket ends in
  exactly one live CFDI, and the live global totals the original minus both tickets;
- past the self-invoicing deadline the ticket answers IN_GLOBAL_INVOICE.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import select

from api.settings import Settings
from persistence.tables import GlobalInvoiceRow, InvoiceRow, SaleRow
from services import catalogs
from services.stamping.emulator import EmulatorServer, EmulatorState
from services.worker import service as worker
from tests.helpers import issue, lookup, operation, record

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
SETTINGS = operation("UpdateSelfInvoicingSettings")  # $input
GLOBALS = operation("GlobalInvoicesPage")
OTHER_CUSTOMER = {"rfc": "EKU9003173C9", "legalName": "ESCUELA KEMPER URGATE", "zipCode": "42501",
                  "taxRegime": "601", "cfdiUse": "G03"}
JWT = "test-secret-" + "x" * 40
ENCRYPTION = "test-encryption-" + "y" * 40


@pytest.fixture(params=["sandbox", "finkok"])
def pac_kind(request) -> str:
    return request.param


@pytest.fixture
def settings(database_url, tmp_path, pac_kind) -> Settings:
    common = dict(env="test", database_url=database_url, var_dir=tmp_path / "var", public_url="http://testserver",
                  jwt_secret=JWT, encryption_secret=ENCRYPTION, pdf_workers=1, challenge_cost=1,
                  challenge_max_number=64)
    if pac_kind == "sandbox":
        yield Settings(**common)
        return
    state = EmulatorState(tmp_path / "emulator")
    state.warm()
    with EmulatorServer("finkok", state) as server:
        yield Settings(**common, pac="finkok", pac_url=server.url, pac_username="demo@example.com",
                       pac_password="demo-password", pac_timeout_seconds=5.0)


async def rows(services, model, *where):
    async with services.uow_factory() as uow:
        return list((await uow.session.execute(select(model).where(*where).order_by(model.id))).scalars())


async def a_global_of(services, client, references: list[str], days_ago: int = 1) -> GlobalInvoiceRow:
    """A past day's daily global holding these tickets (by default inside their 30-day deadline)."""
    out = (await client(SETTINGS, {"input": {"globalInvoicePeriodicity": "DAILY"}}))["data"]
    assert out["updateSelfInvoicingSettings"]["globalInvoicePeriodicity"] == "DAILY"
    # Noon in the merchant's zone (Tijuana, the fixture's CP 22000): the tickets, a minute
    # apart, stay in one daily period whatever time the suite runs.
    zone = catalogs.time_zone_for("22000")
    yesterday = (datetime.now(zone) - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)
    for i, reference in enumerate(references):
        unit = f"{100 + 10 * i}.00"
        await record(client, reference, soldAt=(yesterday + timedelta(minutes=i)).isoformat(),
                     lines=[{"productKey": "01010101", "unitKey": "H87", "description": "Producto",
                             "quantity": "1", "unitPrice": unit}])
    sweep = await worker.run_once(services, now=datetime.now(UTC))
    assert len(sweep.globals_issued) == 1, sweep
    (row,) = await rows(services, GlobalInvoiceRow)
    assert row.status == "ISSUED" and row.sale_count == len(references)
    return row


def total_of(i: int) -> str:
    return f"{100 + 10 * i}.00"


def related(xml: bytes) -> tuple[str | None, list[str]]:
    node = etree.fromstring(xml).find("cfdi:CfdiRelacionados", NS)
    if node is None:
        return None, []
    return node.get("TipoRelacion"), [r.get("UUID") for r in node.findall("cfdi:CfdiRelacionado", NS)]


async def test_one_ticket_leaves_its_global(gql, merchant, services, http):
    row, client = merchant
    original = await a_global_of(services, client, ["A", "B", "C"])
    before = await http.get((await client(GLOBALS))["data"]["globalInvoices"]["edges"][0]["node"]["pdfUrl"]
                            .replace("http://testserver", ""))
    assert before.status_code == 200
    found = await lookup(gql, row, "B", total_of(1))
    assert found["__typename"] == "InvoiceableTicket", found  # in a global, inside its deadline
    res = await issue(gql, found["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res

    cancelled, replacement = await rows(services, GlobalInvoiceRow)
    assert (cancelled.id, cancelled.status, cancelled.cancellation_reason) == (original.id, "CANCELLED", "04")
    assert replacement.status == "ISSUED" and replacement.replaces_id == original.id
    assert replacement.total_cents == original.total_cents - 11000 and replacement.sale_count == 2
    assert (replacement.period_start, replacement.period_end) == (original.period_start, original.period_end)
    assert related(replacement.stamped_xml) == ("04", [original.uuid])
    concepts = etree.fromstring(replacement.stamped_xml).find("cfdi:Conceptos", NS)
    assert sorted(c.get("NoIdentificacion") for c in concepts) == ["A", "C"]
    (invoice,) = await rows(services, InvoiceRow)
    sales = {s.reference: s for s in await rows(services, SaleRow)}
    assert invoice.sale_id == sales["B"].id and invoice.status == "ISSUED"
    assert sales["B"].status == "INVOICED"
    assert {sales["A"].global_invoice_id, sales["C"].global_invoice_id} == {replacement.id}
    # The ticket answers like any invoiced ticket; asking again changes nothing.
    assert (await lookup(gql, row, "B", total_of(1)))["__typename"] == "TicketAlreadyInvoiced"
    assert len(await rows(services, GlobalInvoiceRow)) == 2
    # The merchant sees the chain: global -> cancelled -> replacement.
    listed = {e["node"]["id"]: e["node"] for e in (await client(GLOBALS))["data"]["globalInvoices"]["edges"]}
    first, second = listed[original.public_id], listed[replacement.public_id]
    assert (first["status"], first["cancellationReason"], first["replacedBy"]["id"]) == ("CANCELLED", "04", replacement.public_id)
    assert (second["status"], second["replaces"]["id"], second["replacedBy"]) == ("ISSUED", original.public_id, None)
    assert second["total"] == f"{(original.total_cents - 11000) / 100:.2f}"
    # The cancelled global's PDF is printed again, now with the CANCELADO mark.
    after = await http.get(first["pdfUrl"].replace("http://testserver", ""))
    assert after.status_code == 200 and after.content.startswith(b"%PDF") and after.content != before.content


async def test_two_customers_of_one_global_at_once(gql, merchant, services):
    row, client = merchant
    original = await a_global_of(services, client, ["A", "B", "C", "D"])
    tokens = [(await lookup(gql, row, ref, total_of(i)))["ticketToken"] for ref, i in (("A", 0), ("C", 2))]
    results = await asyncio.gather(issue(gql, tokens[0]), issue(gql, tokens[1], OTHER_CUSTOMER))
    assert [r["__typename"] for r in results] == ["InvoiceIssued", "InvoiceIssued"], results

    sales = {s.reference: s for s in await rows(services, SaleRow)}
    invoices = await rows(services, InvoiceRow)
    assert sorted(i.sale_id for i in invoices) == sorted([sales["A"].id, sales["C"].id])
    assert all(i.status == "ISSUED" for i in invoices)
    globals_ = {g.id: g for g in await rows(services, GlobalInvoiceRow)}
    (live,) = [g for g in globals_.values() if g.status == "ISSUED"]
    assert live.total_cents == original.total_cents - 10000 - 12000 and live.sale_count == 2
    assert {sales["B"].global_invoice_id, sales["D"].global_invoice_id} == {live.id}
    # The chain from the original to the live global: each one replaces the one before.
    chain, current = [], live
    while current.replaces_id is not None:
        chain.append(current)
        previous = globals_[current.replaces_id]
        assert previous.status == "CANCELLED" and previous.cancellation_reason == "04"
        assert related(current.stamped_xml) == ("04", [previous.uuid])
        current = previous
    assert current.id == original.id and len(chain) in (1, 2)
    assert len(globals_) == len(chain) + 1
    for ref in ("A", "C"):
        assert sales[ref].status == "INVOICED"


async def test_past_the_deadline_it_stays_in_the_global(gql, merchant, services):
    row, client = merchant
    await a_global_of(services, client, ["A", "B"], days_ago=3)
    await client("""mutation { updateSelfInvoicingSettings(input: {deadlineDays: 1}) { __typename } }""")
    refused = await lookup(gql, row, "A", total_of(0))
    assert (refused["__typename"], refused["reason"]) == ("TicketNotInvoiceable", "IN_GLOBAL_INVOICE"), refused
    assert len(await rows(services, GlobalInvoiceRow)) == 1
