"""cancelInvoice over GraphQL, on SQLite and PostgreSQL: SAT's motivos (c_MotivoCancelacion
01-04), what happens to the sale, PAC failures that change nothing, who may cancel, and
that a reopened ticket is invoiced again exactly once, with a new folio."""
from __future__ import annotations

import asyncio
import uuid as uuid_module

from sqlalchemy import func, select

from persistence.tables import InvoiceRow
from services.stamping import CancelResult
from tests.helpers import CUSTOMER, INVOICE, issue, lookup, operation, record

CANCEL = operation("CancelInvoice")  # $input
SALES = "{ sales { edges { node { id reference status invoice { id folio status } } } } }"


async def cancel(client, invoice_id, reason, replacement=None, *, token=None):
    variables = {"input": {"id": invoice_id, "reason": reason, "replacementUuid": replacement}}
    data = await client(CANCEL, variables, token=token)
    return data["data"]["cancelInvoice"] if data.get("data") else data


async def issued(gql, merchant_row, client, reference="T-1"):
    """Record a sale and self-invoice it; returns the InvoiceIssued payload."""
    await record(client, reference)
    res = await issue(gql, (await lookup(gql, merchant_row, reference))["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    return res


async def sale_of(client, reference):
    edges = (await client(SALES))["data"]["sales"]["edges"]
    return next(e["node"] for e in edges if e["node"]["reference"] == reference)


async def invoice_rows(services, sale_id: int) -> list[InvoiceRow]:
    async with services.uow_factory() as uow:
        result = await uow.session.execute(select(InvoiceRow).where(InvoiceRow.sale_id == sale_id).order_by(InvoiceRow.id))
        return list(result.scalars())


async def test_motive_02_reopens_the_ticket_and_reinvoicing_takes_a_new_folio(gql, merchant, services):
    row, client = merchant
    first = await issued(gql, row, client)
    inv = first["invoice"]

    res = await cancel(client, inv["id"], "02")
    assert res["__typename"] == "InvoiceCancelled", res
    assert res["invoice"]["status"] == "CANCELLED" and res["invoice"]["cancellationReason"] == "02"
    assert res["invoice"]["uuid"] == inv["uuid"] and res["invoice"]["cancelledAt"]
    # The merchant and the customer's invoice token both read it as CANCELLED; SAT (the sandbox) agrees.
    assert (await client(INVOICE, {"id": inv["id"]}))["data"]["invoice"]["status"] == "CANCELLED"
    assert (await gql(INVOICE, {"id": inv["id"]}, token=first["accessToken"]))["data"]["invoice"]["status"] == "CANCELLED"
    assert (await services.pac.status(inv["uuid"], row.rfc)).status == "Cancelado"
    assert (await sale_of(client, "T-1"))["status"] == "OPEN"

    # The customer invoices the ticket again with corrected data: folio 2, a new UUID.
    ticket = await lookup(gql, row)
    assert ticket["__typename"] == "InvoiceableTicket", ticket
    corrected = {**CUSTOMER, "cfdiUse": "G01"}
    again = await issue(gql, ticket["ticketToken"], corrected)
    assert again["__typename"] == "InvoiceIssued", again
    assert again["invoice"]["folio"] == "2" and again["invoice"]["uuid"] != inv["uuid"]
    assert (await lookup(gql, row))["__typename"] == "TicketAlreadyInvoiced"
    sale = await sale_of(client, "T-1")
    assert sale["status"] == "INVOICED" and sale["invoice"]["id"] == again["invoice"]["id"]
    rows = await invoice_rows(services, int(sale["id"]))
    assert [(r.folio, r.status) for r in rows] == [(1, "CANCELLED"), (2, "ISSUED")]
    # A later sale keeps the series gapless: folio 3 (folios are never reused).
    nxt = await issued(gql, row, client, "T-2")
    assert nxt["invoice"]["folio"] == "3"


async def test_motive_03_cancels_the_sale(gql, merchant):
    row, client = merchant
    await record(client)
    ticket_token = (await lookup(gql, row))["ticketToken"]
    inv = (await issue(gql, ticket_token))["invoice"]
    res = await cancel(client, inv["id"], "03")
    assert res["__typename"] == "InvoiceCancelled" and res["invoice"]["status"] == "CANCELLED"
    assert (await sale_of(client, "T-1"))["status"] == "CANCELLED"
    after = await lookup(gql, row)
    assert after["__typename"] == "TicketNotInvoiceable" and after["reason"] == "CANCELLED"
    # Not even the old ticket token invoices it again.
    assert (await issue(gql, ticket_token))["__typename"] == "TicketNotInvoiceable"


async def test_motive_01_requires_another_issued_invoice_as_replacement(gql, merchant, services):
    row, client = merchant
    a = (await issued(gql, row, client, "A"))["invoice"]
    b = (await issued(gql, row, client, "B"))["invoice"]

    async def codes(reason, replacement=None):
        res = await cancel(client, a["id"], reason, replacement)
        assert res["__typename"] == "InvalidCancellation", res
        return [(e["field"], e["code"]) for e in res["errors"]]

    assert await codes("01") == [("replacementUuid", "REPLACEMENT_REQUIRED")]
    assert await codes("01", str(uuid_module.uuid4())) == [("replacementUuid", "REPLACEMENT_NOT_FOUND")]
    assert await codes("01", "not-a-uuid") == [("replacementUuid", "REPLACEMENT_INVALID")]
    assert await codes("01", a["uuid"]) == [("replacementUuid", "REPLACEMENT_IS_SAME_INVOICE")]
    assert await codes("02", b["uuid"]) == [("replacementUuid", "REPLACEMENT_NOT_ALLOWED")]
    assert await codes("05") == [("reason", "REASON_INVALID")]
    # None of that reached the PAC or changed anything.
    assert (await client(INVOICE, {"id": a["id"]}))["data"]["invoice"]["status"] == "ISSUED"
    assert (await services.pac.status(a["uuid"], row.rfc)).status == "Vigente"

    res = await cancel(client, a["id"], "01", b["uuid"].lower())  # case does not matter
    assert res["__typename"] == "InvoiceCancelled", res
    assert res["invoice"]["status"] == "CANCELLED" and res["invoice"]["replacementUuid"] == b["uuid"]
    assert (await services.pac.status(a["uuid"], row.rfc)).replacement_uuid == b["uuid"]
    assert (await lookup(gql, row, "A"))["__typename"] == "InvoiceableTicket"
    # A cancelled invoice cannot be the replacement of another one.
    res = await cancel(client, b["id"], "01", a["uuid"])
    assert [e["code"] for e in res["errors"]] == ["REPLACEMENT_NOT_ISSUED"]


async def test_pac_failure_changes_nothing_and_the_retry_cancels(gql, merchant, services):
    row, client = merchant
    inv = (await issued(gql, row, client))["invoice"]
    services.pac.set_failure("unavailable", times=1)
    failed = await cancel(client, inv["id"], "02")
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True, failed
    assert "sigue vigente" in failed["message"]
    assert (await client(INVOICE, {"id": inv["id"]}))["data"]["invoice"]["status"] == "ISSUED"
    assert (await sale_of(client, "T-1"))["status"] == "INVOICED"
    assert (await lookup(gql, row))["__typename"] == "TicketAlreadyInvoiced"
    retried = await cancel(client, inv["id"], "02")
    assert retried["__typename"] == "InvoiceCancelled" and retried["invoice"]["status"] == "CANCELLED"


async def test_only_the_owning_merchant_token_cancels(gql, merchant, other_merchant):
    row, client = merchant
    await record(client)
    ticket_token = (await lookup(gql, row))["ticketToken"]
    res = await issue(gql, ticket_token)
    inv, invoice_token = res["invoice"], res["accessToken"]

    theirs = await cancel(other_merchant[1], inv["id"], "02")
    assert theirs["__typename"] == "InvalidCancellation" and theirs["errors"][0]["code"] == "NOT_FOUND"
    for token in (invoice_token, ticket_token, None):
        denied = await gql(CANCEL, {"input": {"id": inv["id"], "reason": "02"}}, token=token)
        assert denied["data"] is None and denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await cancel(client, "0" * 32, "02"))["errors"][0]["code"] == "NOT_FOUND"
    assert (await client(INVOICE, {"id": inv["id"]}))["data"]["invoice"]["status"] == "ISSUED"


async def test_cancelling_again_returns_it_and_never_reopens_the_sale_twice(gql, merchant, services):
    row, client = merchant
    inv = (await issued(gql, row, client))["invoice"]
    first = await cancel(client, inv["id"], "02")
    again = await cancel(client, inv["id"], "02")
    assert again == first
    # The customer invoices the reopened ticket; a late repeat (even with motive 03) must
    # not touch the sale, which now belongs to the new invoice.
    new = await issue(gql, (await lookup(gql, row))["ticketToken"])
    late = await cancel(client, inv["id"], "03")
    assert late == first
    sale = await sale_of(client, "T-1")
    assert sale["status"] == "INVOICED" and sale["invoice"]["id"] == new["invoice"]["id"]


async def test_concurrent_cancellations_then_concurrent_reissue_is_exactly_once(gql, merchant, services):
    row, client = merchant
    inv = (await issued(gql, row, client))["invoice"]
    results = await asyncio.gather(*(cancel(client, inv["id"], "02") for _ in range(5)))
    assert {r["__typename"] for r in results} == {"InvoiceCancelled"}, results
    assert {r["invoice"]["status"] for r in results} == {"CANCELLED"}
    assert (await sale_of(client, "T-1"))["status"] == "OPEN"

    # Re-invoicing races on the partial unique index exactly as the first issue does.
    token = (await lookup(gql, row))["ticketToken"]
    reissued = await asyncio.gather(*(issue(gql, token, key="same-key") for _ in range(4)),
                                    *(issue(gql, token) for _ in range(3)))
    assert {r["__typename"] for r in reissued} <= {"InvoiceIssued", "TicketAlreadyInvoiced"}, reissued
    uuids = {r["invoice"]["uuid"] for r in reissued if r["__typename"] == "InvoiceIssued"}
    assert len(uuids) == 1 and inv["uuid"] not in uuids
    sale = await sale_of(client, "T-1")
    rows = await invoice_rows(services, int(sale["id"]))
    assert [(r.folio, r.status) for r in rows] == [(1, "CANCELLED"), (2, "ISSUED")]
    async with services.uow_factory() as uow:
        total = (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one()
    assert total == 2


async def test_a_pending_invoice_cannot_be_cancelled(gql, merchant, services):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    services.pac.set_failure("unavailable", times=1)
    assert (await issue(gql, token))["__typename"] == "StampingFailed"
    pending = (await client("{ invoices { edges { node { id status } } } }"))["data"]["invoices"]["edges"][0]["node"]
    assert pending["status"] == "PENDING"
    res = await cancel(client, pending["id"], "02")
    assert [e["code"] for e in res["errors"]] == ["INVOICE_NOT_CANCELLABLE"]


async def test_a_cancellation_in_process_is_cancellation_pending(gql, merchant, services, monkeypatch):
    """A real PAC may answer "En proceso" (SAT waits for the receptor's acceptance): the
    invoice is CANCELLATION_PENDING, the sale keeps it, and a later call completes it."""
    row, client = merchant
    inv = (await issued(gql, row, client))["invoice"]
    real_cancel = services.pac.cancel

    async def in_process(uuid, rfc_emisor, reason, replacement_uuid=None):
        done = await real_cancel(uuid, rfc_emisor, reason, replacement_uuid)
        return CancelResult(done.uuid, "En proceso", done.reason, done.replacement_uuid, done.cancelled_at, True)

    monkeypatch.setattr(services.pac, "cancel", in_process)
    res = await cancel(client, inv["id"], "02")
    assert res["invoice"]["status"] == "CANCELLATION_PENDING" and res["invoice"]["cancelledAt"] is None
    assert (await lookup(gql, row))["__typename"] == "TicketAlreadyInvoiced"
    assert (await sale_of(client, "T-1"))["status"] == "INVOICED"
    monkeypatch.setattr(services.pac, "cancel", real_cancel)
    res = await cancel(client, inv["id"], "02")
    assert res["invoice"]["status"] == "CANCELLED"
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
