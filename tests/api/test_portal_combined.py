"""Several tickets in one invoice (issue 15: issueInvoice's additionalTicketTokens), over
GraphQL on SQLite and PostgreSQL: one CFDI with every ticket's lines and their sum as
Total, exactly once per ticket even when customers race for overlapping sets, a typed
answer naming the ticket that cannot go in (and nothing issued), cancelling frees all."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from lxml import etree
from sqlalchemy import func, select

from persistence.tables import InvoiceRow, SaleRow
from services.cfdi.verify import verify_seal
from services.cfdi.xsd import validate_xml
from tests.helpers import CUSTOMER, ISSUE, UPDATE_GENERIC, issue, lookup, record

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
CANCEL_SALE = "mutation($id: ID!) { cancelSale(id: $id) { __typename } }"
SALES = "{ sales { edges { node { id reference status invoice { id folio status } } } } }"
OTHER = {"rfc": "EWE1709045U0", "legalName": "Escuela Wilson Esquivel", "zipCode": "26015", "taxRegime": "601", "cfdiUse": "G03"}


async def combined(gql, token, others, customer=CUSTOMER, key=None):
    variables = {"input": {"customer": customer, "idempotencyKey": key, "additionalTicketTokens": others}}
    return (await gql(ISSUE, variables, token=token))["data"]["issueInvoice"]


async def tickets(gql, row, client, *references, **over) -> list[dict]:
    """Record each sale and look it up: the InvoiceableTicket answers, in order."""
    found = []
    for reference in references:
        sale = await record(client, reference, **over)
        t = await lookup(gql, row, reference, sale["total"])
        assert t["__typename"] == "InvoiceableTicket", t
        found.append(t)
    return found


async def invoice_count(services) -> int:
    async with services.uow_factory() as uow:
        return (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one()


async def test_three_tickets_make_one_valid_cfdi_and_each_is_then_invoiced(gql, merchant, http, services):
    row, client = merchant
    a = (await tickets(gql, row, client, "A-1"))[0]
    b = (await tickets(gql, row, client, "B-1", paymentForm="04", lines=[
        {"productKey": "50221300", "unitKey": "KGM", "description": "Tortilla", "quantity": "1.25", "unitPrice": "24",
         "taxes": [{"type": "IVA", "rate": "0"}]}]))[0]
    c = (await tickets(gql, row, client, "C-1", lines=[
        {"productKey": "50201706", "unitKey": "H87", "description": "Café", "quantity": "3", "unitPrice": "45.50"}]))[0]
    res = await combined(gql, a["ticketToken"], [b["ticketToken"], c["ticketToken"]])
    assert res["__typename"] == "InvoiceIssued", res
    inv = res["invoice"]
    total = Decimal(a["total"]) + Decimal(b["total"]) + Decimal(c["total"])
    assert Decimal(inv["total"]) == total and inv["folio"] == "1"

    xml = (await http.get(inv["xmlUrl"].replace("http://testserver", ""))).content
    assert validate_xml(xml) == [] and verify_seal(xml)  # SAT's XSD, and the seal verifies
    root = etree.fromstring(xml)
    assert Decimal(root.get("Total")) == total
    assert [c.get("Descripcion") for c in root.findall("cfdi:Conceptos/cfdi:Concepto", NS)] == [
        "Producto", "Tortilla", "Café"]
    # FormaPago: the form that paid the largest amount (Guía de llenado, FormaPago): cash (01).
    assert root.get("FormaPago") == "01"

    # Every ticket now answers "already invoiced", through the lookup and through issueInvoice.
    for t in (a, b, c):
        after = await lookup(gql, row, t["reference"], t["total"])
        assert after["__typename"] == "TicketAlreadyInvoiced" and after["maskedRfc"] == "CACX7605****8"
        assert (await issue(gql, t["ticketToken"]))["__typename"] == "TicketAlreadyInvoiced"
    edges = (await client(SALES))["data"]["sales"]["edges"]
    assert {e["node"]["reference"]: (e["node"]["status"], e["node"]["invoice"]["id"]) for e in edges} == {
        r: ("INVOICED", inv["id"]) for r in ("A-1", "B-1", "C-1")}
    assert await invoice_count(services) == 1
    # The same request again (same key) answers the same invoice, issues nothing.
    again = await combined(gql, a["ticketToken"], [b["ticketToken"], c["ticketToken"]], key=None)
    assert again["__typename"] == "TicketAlreadyInvoiced"


async def test_generic_concept_is_one_per_tax_treatment_over_all_tickets(gql, merchant, http):
    row, client = merchant
    await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "90101501", "unitKey": "ACT",
                                            "description": "Consumo de alimentos"}})
    a, b = await tickets(gql, row, client, "G-1", "G-2")
    zero = (await tickets(gql, row, client, "G-3", lines=[
        {"productKey": "50221300", "unitKey": "KGM", "description": "Tortilla", "quantity": "1", "unitPrice": "20",
         "taxes": [{"type": "IVA", "rate": "0"}]}]))[0]
    res = await combined(gql, a["ticketToken"], [b["ticketToken"], zero["ticketToken"]])
    xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
    assert validate_xml(xml) == [] and verify_seal(xml)
    concepts = etree.fromstring(xml).findall("cfdi:Conceptos/cfdi:Concepto", NS)
    assert len(concepts) == 2 and {c.get("ClaveProdServ") for c in concepts} == {"90101501"}
    assert etree.fromstring(xml).get("Total") == "2340.00"


async def test_a_ticket_that_cannot_go_in_is_named_and_nothing_is_issued(gql, merchant, other_merchant, services):
    row, client = merchant
    a, b, c, d = await tickets(gql, row, client, "A-1", "B-1", "C-1", "D-1")
    # B is invoiced alone first; C's sale is cancelled by the merchant.
    assert (await issue(gql, b["ticketToken"]))["__typename"] == "InvoiceIssued"
    edges = (await client(SALES))["data"]["sales"]["edges"]
    c_id = next(e["node"]["id"] for e in edges if e["node"]["reference"] == "C-1")
    assert (await client(CANCEL_SALE, {"id": c_id}))["data"]["cancelSale"]["__typename"] == "SaleCancelled"
    res = await combined(gql, a["ticketToken"], [d["ticketToken"], b["ticketToken"], c["ticketToken"]])
    assert res["__typename"] == "TicketsNotCombinable", res
    assert res["references"] == ["B-1", "C-1"]
    assert [(e["field"], e["code"]) for e in res["errors"]] == [
        ("additionalTicketTokens.1", "TICKET_ALREADY_INVOICED"), ("additionalTicketTokens.2", "TICKET_NOT_INVOICEABLE")]
    assert "B-1" in res["errors"][0]["message"] and "cancelada" in res["errors"][1]["message"]
    assert await invoice_count(services) == 1  # only B's
    # A and D are still invoiceable, and the refusal took no folio.
    ok = await combined(gql, a["ticketToken"], [d["ticketToken"]])
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["folio"] == "2"

    # Tokens: another merchant's ticket, the same ticket twice, a forged token, more than 20.
    theirs_row, theirs_client = other_merchant
    await record(theirs_client, "X-1")
    x = await lookup(gql, theirs_row, "X-1")
    e1, e2 = await tickets(gql, row, client, "E-1", "E-2")
    res = await combined(gql, e1["ticketToken"], [x["ticketToken"], e2["ticketToken"], e2["ticketToken"], e1["ticketToken"], "nope"])
    assert [(e["field"], e["code"]) for e in res["errors"]] == [
        ("additionalTicketTokens.0", "TICKET_OTHER_MERCHANT"), ("additionalTicketTokens.2", "TICKET_REPEATED"),
        ("additionalTicketTokens.3", "TICKET_REPEATED"), ("additionalTicketTokens.4", "TICKET_TOKEN_INVALID")]
    res = await combined(gql, e1["ticketToken"], [e2["ticketToken"]] * 21)
    assert [e["code"] for e in res["errors"]] == ["TOO_MANY_TICKETS"]
    assert await invoice_count(services) == 2


async def test_customers_racing_for_overlapping_tickets_invoice_each_exactly_once(gql, merchant, services):
    """{A,B} and {B,C} and {C,A} and B alone, all at once: each ticket ends in exactly one
    live invoice, whatever the interleaving, and the losers are told."""
    row, client = merchant
    a, b, c = await tickets(gql, row, client, "A-1", "B-1", "C-1")
    results = await asyncio.gather(
        combined(gql, a["ticketToken"], [b["ticketToken"]]),
        combined(gql, b["ticketToken"], [c["ticketToken"]], customer=OTHER),
        combined(gql, c["ticketToken"], [a["ticketToken"]]),
        issue(gql, b["ticketToken"], OTHER),
        combined(gql, a["ticketToken"], [b["ticketToken"]]),
    )
    kinds = [r["__typename"] for r in results]
    assert set(kinds) <= {"InvoiceIssued", "TicketAlreadyInvoiced", "TicketsNotCombinable"}, results
    assert 1 <= kinds.count("InvoiceIssued") <= 2
    async with services.uow_factory() as uow:
        invoices = list((await uow.session.execute(select(InvoiceRow))).scalars())
        sales = list((await uow.session.execute(select(SaleRow))).scalars())
    covering: dict[int, list[int]] = {s.id: [] for s in sales}
    for inv in invoices:
        covering[inv.sale_id].append(inv.id)
    for s in sales:
        if s.invoice_id is not None:
            covering[s.id].append(s.invoice_id)
    assert all(len(found) <= 1 for found in covering.values()), covering  # never twice
    issued_total = sum(inv.total_cents for inv in invoices)
    assert issued_total == sum(s.total_cents for s in sales if covering[s.id])
    assert {inv.status for inv in invoices} == {"ISSUED"}
    assert len({inv.folio for inv in invoices}) == len(invoices)


async def test_cancelling_a_combined_invoice_frees_every_ticket(gql, merchant, services):
    from tests.api.test_cancellation import cancel

    row, client = merchant
    a, b = await tickets(gql, row, client, "A-1", "B-1")
    inv = (await combined(gql, a["ticketToken"], [b["ticketToken"]]))["invoice"]
    res = await cancel(client, inv["id"], "02")
    assert res["invoice"]["status"] == "CANCELLED"
    for t in (a, b):
        assert (await lookup(gql, row, t["reference"], t["total"]))["__typename"] == "InvoiceableTicket"
    # B alone now, then A alone: each once more.
    assert (await issue(gql, b["ticketToken"]))["invoice"]["folio"] == "2"
    assert (await issue(gql, a["ticketToken"]))["invoice"]["folio"] == "3"


async def test_a_combined_invoice_keeps_its_tickets_out_of_the_factura_global(gql, merchant, services):
    import pytest

    from tests.api.test_global_invoice import issue_global, local, past_month, year_ok
    from tests.helpers import UPDATE_SETTINGS

    row, client = merchant
    year, month = past_month(1)
    if not year_ok(year):
        pytest.skip("period too old for InformacionGlobal@Año")
    await client(UPDATE_SETTINGS, {"i": {"monthEndLimit": False, "deadlineDays": 90}})
    a, b, c = await tickets(gql, row, client, "A-1", "B-1", "C-1", soldAt=local(year, month, 2))
    assert (await combined(gql, a["ticketToken"], [b["ticketToken"]]))["__typename"] == "InvoiceIssued"
    await client(UPDATE_SETTINGS, {"i": {"monthEndLimit": False, "deadlineDays": 1}})
    out = await issue_global(client, year, month)
    assert out["__typename"] == "GlobalInvoiceIssued", out
    assert (out["includedSales"], out["leftOutSales"]) == (1, 0)  # only C: A and B are in the combined invoice
    async with services.uow_factory() as uow:
        sales = {s.reference: s for s in (await uow.session.execute(select(SaleRow))).scalars()}
    assert (sales["A-1"].status, sales["B-1"].status, sales["C-1"].status) == ("INVOICED", "INVOICED", "IN_GLOBAL_INVOICE")


async def test_a_stamping_failure_keeps_the_tickets_together_and_the_retry_issues_once(gql, merchant, services):
    row, client = merchant
    a, b = await tickets(gql, row, client, "A-1", "B-1")
    await services.pac.warm()
    services.pac.set_failure("unavailable", times=1)
    failed = await combined(gql, a["ticketToken"], [b["ticketToken"]], key="k1")
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    # B is held by the pending combined invoice: alone it cannot be invoiced meanwhile.
    assert (await issue(gql, b["ticketToken"], OTHER))["__typename"] == "TicketAlreadyInvoiced"
    # Another set with A is refused; the same set again finishes the same folio, one stamp.
    c = (await tickets(gql, row, client, "C-1"))[0]
    assert (await combined(gql, a["ticketToken"], [c["ticketToken"]]))["__typename"] == "TicketAlreadyInvoiced"
    ok = await combined(gql, a["ticketToken"], [b["ticketToken"]], key="k1")
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["folio"] == "1" and ok["invoice"]["total"] == "2320.00"
    assert await invoice_count(services) == 1
    assert (await issue(gql, c["ticketToken"]))["invoice"]["folio"] == "2"  # C was never taken
