"""The customer's flow over GraphQL, on SQLite and PostgreSQL: lookup, issue exactly
once, failures that lose nothing, who may read an invoice, downloads."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from services.cfdi.verify import verify_seal
from services.cfdi.xsd import validate_xml
from services.stamping import verify_tfd
from tests.helpers import CUSTOMER, INVOICE, ISSUE, SET_ENABLED, TICKET, UPDATE_GENERIC, issue, lookup, operation, record

async def test_lookup_not_found_answers_alike(gql, merchant):
    row, client = merchant
    await record(client)
    unknown_company = (await gql(TICKET, {"companyNumber": "999999", "reference": "T-1", "total": "1160"}))["data"]["ticket"]
    unknown_ref = await lookup(gql, row, "NOPE")
    wrong_total = await lookup(gql, row, "T-1", "1160.01")
    assert unknown_company == unknown_ref == wrong_total
    assert unknown_company["__typename"] == "TicketNotFound"
    found = await lookup(gql, row, "  t-1 ", 1160)  # trimmed, case-folded, a number
    assert found["__typename"] == "InvoiceableTicket"
    assert found["concepts"] == [{"description": "Producto", "quantity": "2.00", "amount": "1160.00"}]


async def test_happy_path_issue_and_download(gql, merchant, http, services):
    row, client = merchant
    await record(client)
    ticket = await lookup(gql, row)
    res = await issue(gql, ticket["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    inv = res["invoice"]
    assert inv["status"] == "ISSUED" and inv["total"] == "1160.00" and inv["uuid"]
    assert inv["customerName"] == "XOCHILT CASAS CHAVEZ" and inv["series"] == "AF" and inv["folio"] == "1"

    xml_resp = await http.get(inv["xmlUrl"].replace("http://testserver", ""))
    assert xml_resp.status_code == 200 and xml_resp.headers["content-type"].startswith("application/xml")
    assert f'EKU9003173C9_AF1_{inv["uuid"]}.xml' in xml_resp.headers["content-disposition"]
    xml = xml_resp.content
    assert validate_xml(xml) == []
    assert verify_seal(xml)
    assert verify_tfd(xml, services.pac.certificate_der())  # the sandbox's SelloSAT verifies
    root = etree.fromstring(xml)
    assert root.get("Total") == "1160.00"
    pdf_resp = await http.get(inv["pdfUrl"].replace("http://testserver", ""))
    assert pdf_resp.status_code == 200 and pdf_resp.content.startswith(b"%PDF")
    assert pdf_resp.headers["content-type"] == "application/pdf"
    again = await http.get(inv["pdfUrl"].replace("http://testserver", ""))
    assert again.content == pdf_resp.content  # rendered once, then served from storage

    # Now the ticket answers "already invoiced" with the masked RFC.
    after = await lookup(gql, row)
    assert after["__typename"] == "TicketAlreadyInvoiced" and after["maskedRfc"] == "CACX7605****8"
    # The same ticket token cannot issue twice.
    assert (await issue(gql, ticket["ticketToken"]))["__typename"] == "TicketAlreadyInvoiced"


async def test_invalid_customer_gets_every_problem_and_no_folio(gql, merchant):
    row, client = merchant
    await record(client)
    ticket = await lookup(gql, row)
    bad = {"rfc": "CACX7605101P9", "legalName": " ", "zipCode": "00001", "taxRegime": "601", "cfdiUse": "D01"}
    res = await issue(gql, ticket["ticketToken"], bad)
    assert res["__typename"] == "InvalidCustomerData"
    fields = {e["field"] for e in res["errors"]}
    assert {"customer.rfc", "customer.legalName", "customer.zipCode"} <= fields
    ok = await issue(gql, ticket["ticketToken"])
    assert ok["invoice"]["folio"] == "1"  # the refusal took no folio


async def test_not_invoiceable_states(gql, merchant):
    row, client = merchant
    await record(client, "OLD", soldAt=(datetime.now(UTC) - timedelta(days=31)).isoformat())
    old = await lookup(gql, row, "OLD")
    assert old["__typename"] == "TicketNotInvoiceable" and old["reason"] == "DEADLINE_PASSED"
    assert "hora local" in old["message"]
    await record(client, "NEW")
    await client(SET_ENABLED, {"enabled": False})
    off = await lookup(gql, row, "NEW")
    assert off["reason"] == "SELF_INVOICING_DISABLED"


async def test_ticket_token_is_required_and_scoped(gql, merchant):
    row, client = merchant
    await record(client)
    denied = await gql(ISSUE, {"input": {"customer": CUSTOMER}})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    merchant_token = client.token
    wrong_aud = await gql(ISSUE, {"input": {"customer": CUSTOMER}}, token=merchant_token)
    assert wrong_aud["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_invoice_readers(gql, merchant, other_merchant, services):
    row, client = merchant
    await record(client, "A")
    await record(client, "B")
    t_a = (await lookup(gql, row, "A"))["ticketToken"]
    t_b = (await lookup(gql, row, "B"))["ticketToken"]
    a = await issue(gql, t_a)
    b = await issue(gql, t_b)
    a_id, a_token, b_token = a["invoice"]["id"], a["accessToken"], b["accessToken"]
    assert (await gql(INVOICE, {"id": a_id}, token=a_token))["data"]["invoice"]["id"] == a_id
    assert (await client(INVOICE, {"id": a_id}))["data"]["invoice"]["uuid"] == a["invoice"]["uuid"]
    # Another invoice's token, a ticket token, another merchant's token, no token, forged, expired.
    assert (await gql(INVOICE, {"id": a_id}, token=b_token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(INVOICE, {"id": a_id}, token=t_a))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await other_merchant[1](INVOICE, {"id": a_id}))["data"]["invoice"] is None
    assert (await gql(INVOICE, {"id": a_id}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    forged = a_token[:-4] + ("AAAA" if not a_token.endswith("AAAA") else "BBBB")
    assert (await gql(INVOICE, {"id": a_id}, token=forged))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    expired, _ = services.tokens.issue("invoice", a_id, timedelta(seconds=-5))
    assert (await gql(INVOICE, {"id": a_id}, token=expired))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invoices = (await client("{ invoices { edges { node { id } } } }"))["data"]["invoices"]["edges"]
    assert {e["node"]["id"] for e in invoices} == {a_id, b["invoice"]["id"]}
    assert (await other_merchant[1]("{ invoices { edges { node { id } } } }"))["data"]["invoices"]["edges"] == []


async def test_download_links_are_signed(gql, merchant, http):
    row, client = merchant
    await record(client)
    res = await issue(gql, (await lookup(gql, row))["ticketToken"])
    url = res["invoice"]["xmlUrl"].replace("http://testserver", "")
    tampered = url.replace(".xml?", ".pdf?")
    assert (await http.get(tampered)).status_code == 403
    assert (await http.get(url.split("?")[0] + "?token=nope")).status_code == 403


async def test_a_signed_link_to_no_stamped_document_answers_404(gql, merchant, http, services):
    # The link is genuine (signed by this server) but names no stamped document: an
    # invoice's or a factura global's public id, XML or PDF, all alike.
    from services.kernel.security import DOWNLOAD

    for public_id in ("0" * 32, "g" + "0" * 30):
        for kind in ("xml", "pdf"):
            token, _ = services.tokens.issue(DOWNLOAD, public_id, timedelta(minutes=5), k=kind)
            answer = await http.get(f"/downloads/{public_id}.{kind}?token={token}")
            assert answer.status_code == 404 and "timbrada" in answer.json()["error"]
    # A stamped invoice's files: the XML, and the PDF rendered on the first request only.
    row, client = merchant
    await record(client)
    inv = (await issue(gql, (await lookup(gql, row))["ticketToken"]))["invoice"]
    renders = []
    original = services.pdf.render
    services.pdf.render = lambda *a, **k: renders.append(1) or original(*a, **k)
    try:
        pdfs = [await http.get(inv["pdfUrl"].replace("http://testserver", "")) for _ in range(3)]
    finally:
        services.pdf.render = original
    assert renders == [1] and len({p.content for p in pdfs}) == 1 and pdfs[0].content.startswith(b"%PDF")
    assert f'_AF1_{inv["uuid"]}.pdf' in pdfs[0].headers["content-disposition"]


async def test_concurrent_issue_is_exactly_once(gql, merchant, services):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    results = await asyncio.gather(*(issue(gql, token, key="same-key") for _ in range(6)),
                                   *(issue(gql, token) for _ in range(4)))
    issued = [r for r in results if r["__typename"] == "InvoiceIssued"]
    kinds = {r["__typename"] for r in results}
    assert kinds <= {"InvoiceIssued", "TicketAlreadyInvoiced"}, results
    assert len({r["invoice"]["uuid"] for r in issued}) == 1
    assert len(issued) >= 1
    async with services.uow_factory() as uow:
        from sqlalchemy import func, select

        from persistence.tables import InvoiceRow
        count = (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one()
    assert count == 1


@pytest.mark.parametrize("mode,retryable", [("timeout", True), ("unavailable", True), ("error", False)])
async def test_stamping_failure_loses_nothing(gql, merchant, services, mode, retryable):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    await services.pac.warm()
    services.pac.set_failure(mode, times=1)
    normal_timeout = services.pac.timeout
    if mode == "timeout":
        services.pac.timeout = 0.3
    failed = await issue(gql, token, key="k1")
    services.pac.timeout = normal_timeout
    assert failed == {"__typename": "StampingFailed", "message": failed["message"], "retryable": retryable}
    # The sale is still invoiceable and the retry completes with the same folio, one stamp.
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
    ok = await issue(gql, token, key="k1")
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["folio"] == "1"
    await record(client, "T-2")
    second = await issue(gql, (await lookup(gql, row, "T-2"))["ticketToken"])
    assert second["invoice"]["folio"] == "2"  # gapless


async def test_generic_concept_is_what_the_invoice_lists(gql, merchant, http):
    row, client = merchant
    await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "90101501", "unitKey": "ACT", "description": "Consumo de alimentos"}})
    lines = [
        {"productKey": "50201706", "unitKey": "H87", "description": "Café", "quantity": "2", "unitPrice": "45.50"},
        {"productKey": "50221300", "unitKey": "KGM", "description": "Tortilla", "quantity": "1.25", "unitPrice": "24",
         "taxes": [{"type": "IVA", "rate": "0"}]},
    ]
    sale = await record(client, "G-1", lines=lines)
    ticket = await lookup(gql, row, "G-1", sale["total"])
    assert [c["description"] for c in ticket["concepts"]] == ["Consumo de alimentos", "Consumo de alimentos"]
    res = await issue(gql, ticket["ticketToken"])
    xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
    root = etree.fromstring(xml)
    ns = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
    concepts = root.findall("cfdi:Conceptos/cfdi:Concepto", ns)
    assert len(concepts) == 2 and {c.get("ClaveProdServ") for c in concepts} == {"90101501"}
    assert root.get("Total") == sale["total"]


async def test_failed_lookups_are_throttled(gql, merchant):
    row, client = merchant
    await record(client)
    for i in range(20):
        res = await lookup(gql, row, f"GUESS-{i}")
        assert res["retryAfterSeconds"] is None
    blocked = await lookup(gql, row, "T-1")  # even the right data waits now
    assert blocked["__typename"] == "TicketNotFound" and blocked["retryAfterSeconds"] > 0
    assert "Intenta de nuevo" in blocked["message"]


async def test_cancelled_sale_is_not_invoiceable_and_isolated(gql, merchant, other_merchant):
    row, client = merchant
    sale = await record(client, "C-1")
    cancel = "mutation($id: ID!) { cancelSale(id: $id) { __typename ... on SaleCancelled { sale { status } } ... on InvalidSale { errors { code } } } }"
    # Another merchant cannot cancel it.
    theirs = (await other_merchant[1](cancel, {"id": sale["id"]}))["data"]["cancelSale"]
    assert theirs["errors"][0]["code"] == "NOT_FOUND"
    mine = (await client(cancel, {"id": sale["id"]}))["data"]["cancelSale"]
    assert mine["sale"]["status"] == "CANCELLED"
    res = await lookup(gql, row, "C-1")
    assert res["__typename"] == "TicketNotInvoiceable" and res["reason"] == "CANCELLED"
    # An invoiced sale cannot be cancelled here.
    await record(client, "C-2")
    await issue(gql, (await lookup(gql, row, "C-2"))["ticketToken"])
    sales = (await client("{ sales { edges { node { id reference } } } }"))["data"]["sales"]["edges"]
    c2 = next(e["node"]["id"] for e in sales if e["node"]["reference"] == "C-2")
    refused = (await client(cancel, {"id": c2}))["data"]["cancelSale"]
    assert refused["errors"][0]["code"] == "SALE_NOT_CANCELLABLE"


async def test_merchant_csd_problem_is_an_honest_refusal(gql, merchant, monkeypatch):
    from services.portal import issue as portal
    from services.cfdi.csd import CsdError

    def expired(request, csd):
        raise CsdError("EXPIRED", "El certificado venció.")

    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    monkeypatch.setattr(portal, "build_signed_cfdi", expired)
    res = await issue(gql, token)
    assert res["__typename"] == "StampingFailed" and res["retryable"] is False
    assert "EXPIRED" in res["message"]
    monkeypatch.undo()
    # Nothing was lost: once the merchant fixes its CSD, the same ticket issues with folio 1.
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
    assert (await issue(gql, token))["invoice"]["folio"] == "1"


SALES_WITH_INVOICE = "query { sales(first: 5) { edges { node { reference invoice { id uuid xmlUrl pdfUrl } } } } }"


async def test_sales_list_carries_the_invoice_download_links(gql, merchant, http):
    """Regression: sales { invoice { xmlUrl pdfUrl } } was null for issued invoices."""
    row, client = merchant
    await record(client)
    issued = (await issue(gql, (await lookup(gql, row))["ticketToken"]))["invoice"]
    node = (await client(SALES_WITH_INVOICE))["data"]["sales"]["edges"][0]["node"]
    assert node["invoice"]["id"] == issued["id"] and node["invoice"]["uuid"] == issued["uuid"]
    xml = await http.get(node["invoice"]["xmlUrl"].replace("http://testserver", ""))
    assert xml.status_code == 200 and issued["uuid"].encode() in xml.content
    assert node["invoice"]["pdfUrl"]


async def test_company_numbers_cannot_be_enumerated(gql, merchant):
    row, _ = merchant
    portal = operation("Portal")
    for i in range(60):
        assert (await gql(portal, {"companyNumber": str(900000 + i)}))["data"]["portal"] is None
    refused = await gql(portal, {"companyNumber": "900999"})
    assert refused["data"]["portal"] is None
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_REQUESTS" and 0 < error["extensions"]["retryAfterSeconds"] <= 900
    assert "Intenta de nuevo" in error["message"]


async def test_past_the_company_burst_a_solved_challenge_gets_the_ticket(app, services, gql, merchant):
    import httpx

    from services.kernel.throttle import Limits
    from tests.helpers import solve

    row, client = merchant
    await record(client)
    services.throttle.limits = Limits(company_burst=3)

    async def lookup_from(address: str, reference: str, total: str, challenge: str | None = None) -> dict:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            variables = {"companyNumber": row.company_number, "reference": reference, "total": total, "challenge": challenge}
            return (await http.post("/graphql", json={"query": TICKET, "variables": variables})).json()["data"]["ticket"]

    for i in range(3):  # from rotating addresses
        assert (await lookup_from(f"198.51.100.{i}", f"GUESS-{i}", "1.00"))["__typename"] == "TicketNotFound"
    asked = await lookup_from("192.0.2.7", "T-1", "1160.00")
    assert asked["__typename"] == "TicketChallenge" and "verificación" in asked["message"]
    payload = solve(asked["challenge"])
    found = await lookup_from("192.0.2.7", "T-1", "1160.00", payload)
    assert found["__typename"] == "InvoiceableTicket" and found["ticketToken"]
    replayed = await lookup_from("192.0.2.7", "T-1", "1160.00", payload)
    assert replayed["__typename"] == "TicketChallenge"
