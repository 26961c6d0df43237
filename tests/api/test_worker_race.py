"""Two workers sweeping at once (issue 12: "several may run against PostgreSQL; each duty
is claimed so that none runs twice"): each process's services (its own engine and pool,
as two `autofactura worker` processes have) run `run_once` concurrently over a stamp left
PENDING and due e-mails; the PAC sees one recovery, the customer one invoice, each e-mail
goes out once."""
from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from api.app import build_services
from api.settings import Settings
from persistence.tables import InvoiceRow, OutboxKind, SaleRow
from services.outbox import service as outbox
from services.worker.service import run_once
from tests.helpers import emulated_pac, issue, lookup, pac_settings, record

TIMEOUT = 3.0


@pytest.fixture
def emulator(tmp_path):
    with emulated_pac(tmp_path / "emulator", "finkok") as server:
        yield server


@pytest.fixture
def settings(database_url, tmp_path, emulator) -> Settings:
    return pac_settings(database_url, tmp_path, emulator, "finkok", TIMEOUT)


def counted(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


STAMPS = "autofactura_stamps_total"
PAC = "autofactura_pac_call_duration_seconds_count"


async def test_two_workers_racing_do_each_duty_once(gql, merchant, services, settings, emulator):
    row, client = merchant
    before = {"retryable": counted(STAMPS, kind="invoice", outcome="retryable"),
              "issued": counted(STAMPS, kind="invoice", outcome="issued"),
              "timeout": counted(PAC, operation="stamp", outcome="PAC_TIMEOUT"),
              "307": counted(PAC, operation="stamp", outcome="307")}
    await record(client, "W-1")
    emulator.state.stall_next(TIMEOUT + 1.5)  # the PAC stamps it, its answer is lost: PENDING
    failed = await issue(gql, (await lookup(gql, row, "W-1"))["ticketToken"])
    assert failed["__typename"] == "StampingFailed" and failed["retryable"] is True
    async with services.uow_factory(write=True) as uow:
        (sale,) = list((await uow.session.execute(select(SaleRow))).scalars())
        for n in range(3):
            await outbox.enqueue(uow, OutboxKind.TICKET, f"cliente{n}@example.com", sale.id)
        await uow.commit()
    calls_before = len(emulator.state.calls)

    workers = [build_services(settings, pdf_inline=True) for _ in range(2)]
    try:
        sweeps = await asyncio.gather(*(run_once(w) for w in workers))
    finally:
        for w in workers:
            await w.dispose()

    async with services.uow_factory() as uow:
        (invoice,) = list((await uow.session.execute(select(InvoiceRow))).scalars())
    assert invoice.status == "ISSUED"
    assert sorted(s.stamped for s in sweeps) == [[], [invoice.public_id]]  # one of them finished it
    assert not any(s.stamp_failures for s in sweeps)
    assert emulator.state.stamp_count == 1
    assert len(emulator.state.calls) - calls_before == 1  # one re-send (answered 307 with the stamp)
    assert sum(s.mails_sent for s in sweeps) == 3
    assert len(list((settings.var_dir / "outbox").glob("*.eml"))) == 3
    # The metrics saw the same story: a retryable failure (the lost answer, a PAC timeout),
    # then one issue through the 307 answer.
    assert counted(STAMPS, kind="invoice", outcome="retryable") - before["retryable"] == 1
    assert counted(STAMPS, kind="invoice", outcome="issued") - before["issued"] == 1
    assert counted(PAC, operation="stamp", outcome="PAC_TIMEOUT") - before["timeout"] == 1
    assert counted(PAC, operation="stamp", outcome="307") - before["307"] == 1
