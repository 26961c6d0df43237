"""correctInvoice (issue 15) on SQLite and PostgreSQL: the customer's own correction is a
new CFDI related to the old one (CfdiRelacionados TipoRelacion 04) and the old one is
cancelled through the PAC with motivo 01 naming the new UUID (Anexo 20; c_MotivoCancelacion
01 requires FolioSustitucion); exactly once; within the deadline; at most MAX_CORRECTIONS."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from lxml import etree
from sqlalchemy import func, select

from persistence.tables import InvoiceRow, OutboxMessageRow, SaleRow
from services.cfdi.verify import verify_seal
from services.cfdi.xsd import validate_xml
from services.portal.correct import MAX_CORRECTIONS
from tests.helpers import CUSTOMER, INVOICE, ISSUE, UPDATE_SETTINGS, issue, lookup, operation, record

CORRECT = operation("CorrectInvoice")
NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
FIXED = {**CUSTOMER, "legalName": "XOCHILT CASAS CHAVEZ", "cfdiUse": "G01", "zipCode": "36257"}
OTHER_RFC = {"rfc": "EWE1709045U0", "legalName": "Escuela Wilson Esquivel", "zipCode": "26015", "taxRegime": "601", "cfdiUse": "G03"}


async def _row_of(services, public_id):
    async with services.uow_factory() as uow:
        return await uow.invoices.by_public_id(public_id)


async def correct(gql, token, customer):
    return (await gql(CORRECT, {"input": {"customer": customer}}, token=token))["data"]["correctInvoice"]


async def xml_of(http, invoice):
    return (await http.get(invoice["xmlUrl"].replace("http://testserver", ""))).content


async def issued(gql, row, client, reference="T-1", **over):
    sale = await record(client, reference, **over)
    res = await issue(gql, (await lookup(gql, row, reference, sale["total"]))["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    return res


async def test_a_correction_substitutes_and_cancels_the_old_cfdi_as_sat_requires(gql, merchant, http, services):
    row, client = merchant
    first = await issued(gql, row, client)
    old = first["invoice"]
    res = await correct(gql, first["accessToken"], OTHER_RFC)
    assert res["__typename"] == "InvoiceCorrected", res
    new, replaced = res["invoice"], res["replaced"]
    assert new["status"] == "ISSUED" and new["folio"] == "2" and new["customerRfc"] == "EWE1709045U0"
    assert new["total"] == old["total"] and new["uuid"] != old["uuid"]
    # The old CFDI: cancelled with motivo 01 and the new UUID as FolioSustitucion.
    assert replaced == {"id": old["id"], "uuid": old["uuid"], "folio": "1", "status": "CANCELLED",
                        "cancellationReason": "01", "replacementUuid": new["uuid"]}
    # The new CFDI passes SAT's XSD, its seal verifies, and it relates to the old one (04).
    xml = await xml_of(http, new)
    assert validate_xml(xml) == [] and verify_seal(xml)
    root = etree.fromstring(xml)
    related = root.find("cfdi:CfdiRelacionados", NS)
    assert related is not None and related.get("TipoRelacion") == "04"
    assert [r.get("UUID") for r in related.findall("cfdi:CfdiRelacionado", NS)] == [old["uuid"]]
    assert root.find("cfdi:Receptor", NS).get("Rfc") == "EWE1709045U0"
    # Its PDF prints the relation too.
    import io

    from pypdf import PdfReader
    pdf = (await http.get(new["pdfUrl"].replace("http://testserver", ""))).content
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "CFDI relacionado (04 - Sustitución de los CFDI previos)" in text and old["uuid"][:8] in text
    # SAT (the sandbox PAC) holds the old one cancelled.
    status = await services.pac.status(old["uuid"], "EKU9003173C9", rfc_receptor=CUSTOMER["rfc"], total=old["total"])
    assert status.status == "Cancelado"
    # The old invoice's token now reads the new one's state; the new token reads it too.
    via_old = (await gql(INVOICE, {"id": old["id"]}, token=first["accessToken"]))["data"]["invoice"]
    assert via_old["uuid"] == new["uuid"] and via_old["status"] == "ISSUED"
    via_new = (await gql(INVOICE, {"id": new["id"]}, token=res["accessToken"]))["data"]["invoice"]
    assert via_new["uuid"] == new["uuid"]
    # The ticket stays invoiced (by the correction), never reopened.
    after = await lookup(gql, row)
    assert after["__typename"] == "TicketAlreadyInvoiced" and after["maskedRfc"] == "EWE1709****0"
    async with services.uow_factory() as uow:
        sale = (await uow.session.execute(select(SaleRow))).scalar_one()
    assert sale.status == "INVOICED"
    # Recovering it with the RFC the correction went to finds the correction; the old RFC finds nothing.
    recover = operation("RecoverInvoice")
    ticket_data = {"companyNumber": row.company_number, "reference": "T-1", "total": "1160.00"}
    got = (await gql(recover, {**ticket_data, "rfc": "EWE1709045U0"}))["data"]["recoverInvoice"]
    assert got["__typename"] == "InvoiceIssued" and got["invoice"]["uuid"] == new["uuid"]
    gone = (await gql(recover, {**ticket_data, "rfc": CUSTOMER["rfc"]}))["data"]["recoverInvoice"]
    assert gone["__typename"] == "TicketNotFound"
    # Resending with the old token sends the correction.
    resent = (await gql(operation("ResendInvoice"), {"email": "yo@example.com"}, token=first["accessToken"]))
    assert resent["data"]["resendInvoice"] == {"__typename": "InvoiceResent", "email": "yo@example.com"}
    async with services.uow_factory() as uow:
        outbox = await uow.session.execute(select(OutboxMessageRow).where(OutboxMessageRow.recipient == "yo@example.com"))
        message = outbox.scalar_one()
    assert message.ref_id == (await _row_of(services, new["id"])).id
    # Repeating the request (same old token) is the same correction, never a second one.
    again = await correct(gql, first["accessToken"], OTHER_RFC)
    assert again["invoice"]["uuid"] == new["uuid"] and again["replaced"]["status"] == "CANCELLED"


async def test_concurrent_corrections_issue_exactly_once(gql, merchant, services):
    row, client = merchant
    first = await issued(gql, row, client)
    results = await asyncio.gather(*(correct(gql, first["accessToken"], OTHER_RFC) for _ in range(5)))
    done = [r for r in results if r["__typename"] == "InvoiceCorrected"]
    assert {r["__typename"] for r in results} <= {"InvoiceCorrected", "StampingFailed"}, results
    assert done and len({r["invoice"]["uuid"] for r in done}) == 1
    async with services.uow_factory() as uow:
        rows = list((await uow.session.execute(select(InvoiceRow).order_by(InvoiceRow.id))).scalars())
    assert [(r.folio, r.correction, r.status) for r in rows] == [(1, 0, "CANCELLED"), (2, 1, "ISSUED")]
    assert rows[1].related_uuid == rows[0].uuid and rows[0].replacement_uuid == rows[1].uuid


async def test_refusals_limit_deadline_same_data_and_invalid_data(gql, merchant, services):
    row, client = merchant
    first = await issued(gql, row, client)
    same = await correct(gql, first["accessToken"], CUSTOMER)
    assert same["__typename"] == "CorrectionRefused" and same["code"] == "CORRECTION_SAME_DATA"
    bad = await correct(gql, first["accessToken"], {**CUSTOMER, "rfc": "CACX7605101P9"})
    assert bad["__typename"] == "InvalidCustomerData" and bad["errors"][0]["field"] == "customer.rfc"
    token = first["accessToken"]
    customers = [OTHER_RFC, FIXED, OTHER_RFC]
    for n in range(MAX_CORRECTIONS):
        res = await correct(gql, token, customers[n])
        assert res["__typename"] == "InvoiceCorrected", res
        token = res["accessToken"]
    limit = await correct(gql, token, customers[MAX_CORRECTIONS])
    assert limit["__typename"] == "CorrectionRefused" and limit["code"] == "CORRECTION_LIMIT"
    async with services.uow_factory() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one()
    assert count == 1 + MAX_CORRECTIONS  # refusals took no folio

    # Past the ticket's self-invoicing deadline the customer can no longer correct.
    late = await issued(gql, row, client, "T-2", soldAt=(datetime.now(UTC) - timedelta(days=10)).isoformat())
    await client(UPDATE_SETTINGS, {"i": {"monthEndLimit": False, "deadlineDays": 5}})
    res = await correct(gql, late["accessToken"], OTHER_RFC)
    assert res["__typename"] == "CorrectionRefused" and res["code"] == "CORRECTION_DEADLINE_PASSED"
    assert "T-2" in res["message"]


async def test_correcting_a_combined_invoice_keeps_every_ticket(gql, merchant, http, services):
    row, client = merchant
    tickets = []
    for ref in ("A-1", "B-1"):
        sale = await record(client, ref)
        tickets.append(await lookup(gql, row, ref, sale["total"]))
    first = (await gql(ISSUE, {"input": {"customer": CUSTOMER, "additionalTicketTokens": [tickets[1]["ticketToken"]]}},
                       token=tickets[0]["ticketToken"]))["data"]["issueInvoice"]
    res = await correct(gql, first["accessToken"], FIXED)
    assert res["__typename"] == "InvoiceCorrected", res
    assert res["invoice"]["total"] == "2320.00" and res["replaced"]["status"] == "CANCELLED"
    xml = await xml_of(http, res["invoice"])
    assert validate_xml(xml) == [] and verify_seal(xml)
    root = etree.fromstring(xml)
    assert root.get("Total") == "2320.00" and len(root.findall("cfdi:Conceptos/cfdi:Concepto", NS)) == 2
    assert root.find("cfdi:CfdiRelacionados/cfdi:CfdiRelacionado", NS).get("UUID") == first["invoice"]["uuid"]
    for t in tickets:  # both tickets stay invoiced, by the correction
        assert (await lookup(gql, row, t["reference"], t["total"]))["__typename"] == "TicketAlreadyInvoiced"
    async with services.uow_factory() as uow:
        sales = list((await uow.session.execute(select(SaleRow))).scalars())
    assert {s.status for s in sales} == {"INVOICED"}


async def test_only_the_invoice_token_corrects(gql, merchant):
    row, client = merchant
    await issued(gql, row, client)
    ticket = await lookup(gql, row)  # TicketAlreadyInvoiced: no token; try the merchant's token
    assert ticket["__typename"] == "TicketAlreadyInvoiced"
    denied = await client(CORRECT, {"input": {"customer": OTHER_RFC}})
    assert denied["data"] is None and "token de factura" in denied["errors"][0]["message"]


async def test_a_cancellation_the_pac_failed_is_retried_and_the_worker_finishes_it(gql, merchant, services, monkeypatch):
    from services.stamping import StampingError
    from services.worker.service import run_once

    row, client = merchant
    first = await issued(gql, row, client)
    real_cancel = services.pac.cancel

    async def unavailable(*args, **kwargs):
        raise StampingError("PAC caído", retryable=True, code="PAC_UNAVAILABLE")

    monkeypatch.setattr(services.pac, "cancel", unavailable)
    res = await correct(gql, first["accessToken"], OTHER_RFC)
    assert res["__typename"] == "InvoiceCorrected" and res["invoice"]["status"] == "ISSUED"
    assert res["replaced"]["status"] == "ISSUED" and "no se completó" in res["message"]
    monkeypatch.setattr(services.pac, "cancel", real_cancel)
    # The worker cancels it with motivo 01 and the correction's UUID; nothing else changes.
    sweep = await run_once(services)
    assert sweep.cancelled == [first["invoice"]["uuid"]]
    old = await _row_of(services, first["invoice"]["id"])
    assert (old.status, old.cancellation_reason, old.replacement_uuid) == ("CANCELLED", "01", res["invoice"]["uuid"])
    assert (await run_once(services)).cancelled == []  # once
    async with services.uow_factory() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one() == 2
