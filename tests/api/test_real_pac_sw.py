"""Issuing through SW Sapien's protocol: the SW emulator over HTTP (REST, token from
/v2/security/authenticate, customid = the invoice's public id), on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from api.settings import Settings
from persistence.tables import InvoiceRow
from services.stamping import verify_tfd
from services.worker.service import run_once
from tests.helpers import emulated_pac, issue, lookup, pac_settings, record

TIMEOUT = 3.0


@pytest.fixture
def emulator(tmp_path):
    with emulated_pac(tmp_path / "emulator", "sw") as server:
        yield server


@pytest.fixture
def settings(database_url, tmp_path, emulator) -> Settings:
    return pac_settings(database_url, tmp_path, emulator, "sw", TIMEOUT)


async def the_invoice(services) -> InvoiceRow:
    async with services.uow_factory() as uow:
        (row,) = (await uow.session.execute(select(InvoiceRow))).scalars()
    return row


async def test_an_invoice_issues_with_the_pacs_tfd_under_its_customid(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    res = await issue(gql, (await lookup(gql, row))["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    (stamp,) = emulator.state.stamps_of()
    invoice = await the_invoice(services)
    assert invoice.uuid == stamp.uuid and verify_tfd(invoice.stamped_xml, emulator.state.certificate_der)
    assert emulator.state.customids == {invoice.public_id: stamp.uuid}


@pytest.mark.parametrize("who", ["customer", "worker"])
async def test_a_lost_answer_ends_issued_with_the_first_uuid(gql, merchant, services, emulator, who):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    emulator.state.stall_next(TIMEOUT + 1.5)
    failed = await issue(gql, token)
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    (first,) = emulator.state.stamps_of()
    if who == "customer":
        ok = await issue(gql, token)
        assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["uuid"] == first.uuid
    else:
        await run_once(services)
    invoice = await the_invoice(services)
    assert invoice.status == "ISSUED" and invoice.uuid == first.uuid
    assert emulator.state.stamp_count == 1


async def test_ten_concurrent_issues_of_one_ticket_make_one_stamp(gql, merchant, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    results = await asyncio.gather(*(issue(gql, token, key="same") for _ in range(10)))
    assert {r["__typename"] for r in results} <= {"InvoiceIssued", "TicketAlreadyInvoiced"}, results
    assert emulator.state.stamp_count == 1


async def test_bad_credentials_are_not_retryable(gql, merchant, services, emulator):
    row, client = merchant
    await record(client)
    token = (await lookup(gql, row))["ticketToken"]
    services.pac.password = "wrong"
    failed = await issue(gql, token)
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is False
    assert (await lookup(gql, row))["__typename"] == "InvoiceableTicket"
    assert emulator.state.stamp_count == 0
