"""Issuing and cancelling through a real PAC protocol: the Finkok emulator over HTTP
(127.0.0.1, a port the OS picks), on SQLite and PostgreSQL (issue 11's "done when").

- an invoice issues with the PAC's TFD, and the PAC call is in the audit;
- a stamp whose answer was lost (stalled past the timeout) ends ISSUED with the first
  UUID and the PAC holds exactly one stamp, whether the customer retries or the worker
  finishes it;
- 708 is retryable; bad credentials are not, and the ticket stays invoiceable;
- 10 concurrent issues of one ticket make one stamp;
- a cancellation that needs the receiver's acceptance goes CANCELLATION_PENDING, then
  CANCELLED through `autofactura worker --once`; a rejection goes back to ISSUED.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.settings import Settings
from persistence.tables import InvoiceRow, OutboxKind, OutboxMessageRow, SaleRow
from services.cancellation import service as cancellation
from services.invoicing import service as invoicing
from services.kernel.results import NotFound
from services.stamping import verify_tfd
from services.worker.service import run_once
from tests.helpers import CUSTOMER, EMULATOR_PASSWORD, EMULATOR_USER, ROOT, emulated_pac, issue, lookup, pac_settings, record

AUDIT = """query($id: ID!) { invoice(id: $id) { status sandbox cancellationNote cancellationAcuse
  pacCalls { operation outcome uuid documentHash durationMs at } } }"""
ISSUE_CODES = """mutation($input: IssueInvoiceInput!) { issueInvoice(input: $input) {
  __typename ... on StampingFailed { message retryable code pacCode } ... on InvoiceIssued { invoice { id } } } }"""

USER, PASSWORD = EMULATOR_USER, EMULATOR_PASSWORD
TIMEOUT = 3.0  # PAC_TIMEOUT_SECONDS of these tests; a stalled answer comes after it
JWT = "test-secret-" + "x" * 40
ENCRYPTION = "test-encryption-" + "y" * 40


@pytest.fixture
def emulator(tmp_path):
    with emulated_pac(tmp_path / "emulator", "finkok") as server:
        yield server


@pytest.fixture
def settings(database_url, tmp_path, emulator) -> Settings:
    return pac_settings(database_url, tmp_path, emulator, "finkok", TIMEOUT, jwt_secret=JWT, encryption_secret=ENCRYPTION)


async def invoice_of(services, uuid: str | None = None) -> InvoiceRow:
    async with services.uow_factory() as uow:
        rows = list((await uow.session.execute(select(InvoiceRow))).scalars())
    assert len(rows) == 1
    return rows[0]


async def test_an_invoice_issues_with_the_pacs_tfd(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    res = await issue(gql, (await lookup(gql, row))["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    (stamp,) = emulator.state.stamps_of()
    assert res["invoice"]["uuid"] == stamp.uuid
    invoice = await invoice_of(services)
    assert invoice.stamped_xml == stamp.xml
    assert verify_tfd(invoice.stamped_xml, emulator.state.certificate_der)
    assert invoice.sandbox  # the emulator's TFD says SANDBOX - SIN VALIDEZ FISCAL
    async with services.uow_factory() as uow:
        calls = await uow.pac_calls.of_document(row.id, "invoice", invoice.id)
    assert [(c.operation, c.outcome, c.document_hash, c.uuid) for c in calls] == [
        ("stamp", "OK", invoice.document_hash, stamp.uuid)]
    # The merchant reads the same audit over GraphQL; the customer's invoice token may not.
    audit = (await client(AUDIT, {"id": res["invoice"]["id"]}))["data"]["invoice"]
    assert audit["sandbox"] is True and [(c["operation"], c["outcome"], c["uuid"]) for c in audit["pacCalls"]] == [
        ("stamp", "OK", stamp.uuid)]
    denied = await gql(AUDIT, {"id": res["invoice"]["id"]}, token=res["accessToken"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_lost_answer_ends_issued_with_the_first_uuid_when_the_customer_retries(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    emulator.state.stall_next(TIMEOUT + 1.5)
    failed = await issue(gql, token, key="k1")
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True, failed
    (first,) = emulator.state.stamps_of()  # the PAC stamped it; the answer was lost
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
    ok = await issue(gql, token, key="k1")
    assert ok["__typename"] == "InvoiceIssued", ok
    assert ok["invoice"]["uuid"] == first.uuid and ok["invoice"]["folio"] == "1"
    assert emulator.state.stamp_count == 1
    async with services.uow_factory() as uow:
        invoice = await invoice_of(services)
        outcomes = [(c.operation, c.outcome) for c in await uow.pac_calls.of_document(row.id, "invoice", invoice.id)]
    # the lost answer, then 307 "timbre previo" answered with the earlier stamp
    assert outcomes == [("stamp", "PAC_TIMEOUT"), ("stamp", "307")]


@pytest.mark.parametrize("earlier_xml", [True, False], ids=["307-with-xml", "307-then-stamped"])
async def test_a_lost_answer_is_finished_by_the_worker(gql, merchant, services, emulator, earlier_xml):
    row, client = merchant
    await record(client)
    emulator.state.earlier_xml_on_307 = earlier_xml
    emulator.state.stall_next(TIMEOUT + 1.5)
    failed = await issue(gql, (await lookup(gql, row))["ticketToken"])
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    (first,) = emulator.state.stamps_of()
    sweep = await run_once(services)
    invoice = await invoice_of(services)
    assert sweep.stamped == [invoice.public_id]
    assert invoice.status == "ISSUED" and invoice.uuid == first.uuid and invoice.stamped_xml == first.xml
    assert emulator.state.stamp_count == 1
    assert (await lookup(gql, row))["__typename"] == "TicketAlreadyInvoiced"
    if not earlier_xml:
        assert emulator.state.calls[-2:] == ["stamp", "stamped"]


async def test_a_stale_seal_is_replaced_only_after_the_pac_says_it_never_stamped_it(gql, merchant, services, emulator):
    """Re-sealing with a new Fecha (RESIGN_AFTER; PACs refuse a Fecha over 72 h old, code
    401) asks `stamped` first: a stamp it holds is the invoice; none: a new seal."""
    from services.invoicing import issuing

    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    emulator.state.fail_next_with_708()
    assert (await issue(gql, token))["retryable"] is True  # sealed, never stamped
    invoice = await invoice_of(services)
    kept = invoice.signed_xml
    original = issuing.RESIGN_AFTER
    issuing.RESIGN_AFTER = timedelta(seconds=-60)  # every kept seal counts as stale now
    try:
        ok = await issue(gql, token)
    finally:
        issuing.RESIGN_AFTER = original
    assert ok["__typename"] == "InvoiceIssued"
    invoice = await invoice_of(services)
    async with services.uow_factory() as uow:
        calls = [(c.operation, c.outcome, c.document_hash)
                 for c in await uow.pac_calls.of_document(row.id, "invoice", invoice.id)]
    kept_hash = hashlib.sha256(kept).hexdigest()
    # 708 on the first bytes; `stamped` on them: 603, never stamped; then the new seal stamped
    assert calls == [("stamp", "708", kept_hash), ("stamped", "603", kept_hash),
                     ("stamp", "OK", invoice.document_hash)]
    assert emulator.state.stamp_count == 1


async def test_708_is_retryable_and_loses_nothing(gql, merchant, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    emulator.state.fail_next_with_708()
    failed = (await gql(ISSUE_CODES, {"input": {"customer": CUSTOMER}}, token=token))["data"]["issueInvoice"]
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    assert (failed["code"], failed["pacCode"]) == ("SAT_UNAVAILABLE", "708")
    assert emulator.state.stamp_count == 0
    ok = await issue(gql, token)
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["folio"] == "1"
    assert emulator.state.stamp_count == 1


async def test_bad_credentials_are_not_retryable_and_leave_the_ticket_invoiceable(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    services.pac.password = "wrong"
    failed = await issue(gql, token)
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is False
    assert "300" in failed["message"]
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
    assert emulator.state.stamp_count == 0
    services.pac.password = PASSWORD
    assert (await issue(gql, token))["__typename"] == "InvoiceIssued"


async def test_ten_concurrent_issues_of_one_ticket_make_one_stamp(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    results = await asyncio.gather(*(issue(gql, token, key="same") for _ in range(10)))
    issued = [r for r in results if r["__typename"] == "InvoiceIssued"]
    assert issued and {r["__typename"] for r in results} <= {"InvoiceIssued", "TicketAlreadyInvoiced"}, results
    assert {r["invoice"]["uuid"] for r in issued} == {s.uuid for s in emulator.state.stamps_of()}
    assert emulator.state.stamp_count == 1


def worker_once(settings: Settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAC")}
    env.update({"ENV": "development", "DATABASE_URL": settings.database_url, "VAR_DIR": str(settings.var_dir),
                "JWT_SECRET": JWT, "ENCRYPTION_SECRET": ENCRYPTION, "PAC": "finkok", "PAC_URL": settings.pac_url,
                "PAC_USERNAME": USER, "PAC_PASSWORD": PASSWORD, "PAC_TIMEOUT_SECONDS": str(TIMEOUT)})
    result = subprocess.run([sys.executable, "-m", "api.cli", "worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


async def test_a_cancellation_needing_acceptance_is_pending_then_cancelled_by_the_worker(
        gql, merchant, services, emulator, settings):
    row, client = merchant
    await record(client)  # $1,160.00 to CACX7605101P8: over $1,000, not PUBLICO EN GENERAL
    res = await issue(gql, (await lookup(gql, row))["ticketToken"], {
        "rfc": "CACX7605101P8", "legalName": "xochilt casas chavez", "zipCode": "36257", "taxRegime": "612",
        "cfdiUse": "G03", "email": "cliente@example.com"})
    invoice = await invoice_of(services)
    # cancelled three days later: past the next business day (RMF 2.7.1.35)
    later = invoice.issued_at + timedelta(days=3)
    outcome = await cancellation.cancel_invoice(services, row.id, res["invoice"]["id"], "02", None, now=later)
    assert isinstance(outcome, cancellation.Cancelled), outcome
    assert outcome.invoice.status == "CANCELLATION_PENDING"
    assert emulator.state.status(invoice.uuid).cancellation_status == "En proceso"
    pending = await invoice_of(services)
    assert pending.cancellation_acuse and invoice.uuid.encode() in pending.cancellation_acuse
    pdf_before = pending.pdf

    emulator.state.accept(invoice.uuid)
    result = worker_once(settings)
    assert "canceladas 1" in result.stdout

    done = await invoice_of(services)
    assert done.status == "CANCELLED" and done.cancelled_at is not None
    assert done.pdf is not None and done.pdf != pdf_before  # re-printed with the CANCELADO mark
    async with services.uow_factory() as uow:
        sale = (await uow.session.execute(select(SaleRow))).scalar_one()
        mails = list((await uow.session.execute(select(OutboxMessageRow))).scalars())
    assert sale.status == "OPEN"  # motivo 02: the customer may invoice it again
    assert {(m.kind, m.recipient) for m in mails} >= {(OutboxKind.CANCELLATION, "cliente@example.com")}
    # what the merchant sees: SAT's acuse and every PAC call about the invoice
    acuse = await invoicing.cancellation_acuse(services, row.id, res["invoice"]["id"])
    assert isinstance(acuse, bytes) and b"<EstatusUUID>201</EstatusUUID>" in acuse
    calls = await invoicing.invoice_pac_calls(services, row.id, res["invoice"]["id"])
    assert [(c.operation, c.outcome) for c in calls] == [
        ("stamp", "OK"), ("cancel_signature", "OK"), ("get_sat_status", "OK")]
    assert isinstance(await invoicing.invoice_pac_calls(services, row.id + 1000, res["invoice"]["id"]), NotFound)


async def test_a_rejected_cancellation_goes_back_to_issued(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    res = await issue(gql, (await lookup(gql, row))["ticketToken"])
    invoice = await invoice_of(services)
    outcome = await cancellation.cancel_invoice(services, row.id, res["invoice"]["id"], "02", None,
                                                now=invoice.issued_at + timedelta(days=3))
    assert outcome.invoice.status == "CANCELLATION_PENDING"
    sweep = await run_once(services)
    assert sweep.cancellation_waiting == 1 and (await invoice_of(services)).status == "CANCELLATION_PENDING"
    emulator.state.reject(invoice.uuid)
    sweep = await run_once(services, now=invoice.issued_at + timedelta(days=4))  # past the poll interval
    assert sweep.cancellation_rejected == [invoice.uuid]
    back = await invoice_of(services)
    assert back.status == "ISSUED" and back.cancellation_note == cancellation.RECEIVER_REJECTED
    seen = (await client(AUDIT, {"id": res["invoice"]["id"]}))["data"]["invoice"]
    assert seen["status"] == "ISSUED" and seen["cancellationNote"] == cancellation.RECEIVER_REJECTED
    assert back.cancellation_reason is None


async def test_a_cancellation_without_acceptance_is_cancelled_at_once(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    res = await issue(gql, (await lookup(gql, row))["ticketToken"])
    # the same day it was issued: no acceptance (RMF 2.7.1.35, by the next business day)
    outcome = await cancellation.cancel_invoice(services, row.id, res["invoice"]["id"], "02", None)
    assert outcome.invoice.status == "CANCELLED"
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
