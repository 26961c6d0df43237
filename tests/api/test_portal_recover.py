"""recoverInvoice (issue 15) on SQLite and PostgreSQL: the ticket's three data and the full
RFC give the invoice back with a fresh invoice token; anything else answers alike, and
guesses are throttled on the ticket lookup's counters."""
from __future__ import annotations

from tests.helpers import CUSTOMER, INVOICE, issue, lookup, operation, record

RECOVER = operation("RecoverInvoice")


async def recover(gql, row, reference="T-1", total="1160.00", rfc=CUSTOMER["rfc"]):
    variables = {"companyNumber": row.company_number, "reference": reference, "total": total, "rfc": rfc}
    return (await gql(RECOVER, variables))["data"]["recoverInvoice"]


async def test_the_full_rfc_recovers_the_invoice_with_a_fresh_token(gql, merchant):
    row, client = merchant
    await record(client)
    first = await issue(gql, (await lookup(gql, row))["ticketToken"])
    got = await recover(gql, row, " t-1 ", "1160", " cacx7605101p8 ")  # as a person types it
    assert got["__typename"] == "InvoiceIssued", got
    assert got["invoice"]["uuid"] == first["invoice"]["uuid"] and got["accessToken"] != first["accessToken"]
    read = (await gql(INVOICE, {"id": got["invoice"]["id"]}, token=got["accessToken"]))["data"]["invoice"]
    assert read["status"] == "ISSUED" and read["xmlUrl"]


async def test_anything_that_does_not_match_answers_alike(gql, merchant):
    row, client = merchant
    await record(client)
    await record(client, "T-2")  # never invoiced
    await issue(gql, (await lookup(gql, row))["ticketToken"])
    answers = [
        await recover(gql, row, rfc="CACX7605****8"),  # the masked RFC the lookup shows
        await recover(gql, row, rfc="EKU9003173C9"),  # another RFC
        await recover(gql, row, total="1160.01"),
        await recover(gql, row, reference="T-2"),  # a ticket without an invoice
        await recover(gql, row, reference="NOPE"),
    ]
    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["__typename"] == "TicketNotFound" and answers[0]["retryAfterSeconds"] is None
    assert "RFC completo" in answers[0]["message"]


async def test_rfc_guesses_are_throttled_like_lookups(gql, merchant):
    row, client = merchant
    await record(client)
    await issue(gql, (await lookup(gql, row))["ticketToken"])
    for i in range(20):
        res = await recover(gql, row, rfc=f"ZAZZ7605{i:02d}AB8")
        assert res["__typename"] == "TicketNotFound" and res["retryAfterSeconds"] is None
    blocked = await recover(gql, row)  # even the right RFC waits now
    assert blocked["__typename"] == "TicketNotFound" and blocked["retryAfterSeconds"] > 0
    # ... and so does the ticket lookup from this address: one counter for both.
    assert (await lookup(gql, row))["retryAfterSeconds"] > 0
