"""`autofactura worker`: the background duties, one sweep at a time.

- PENDING documents (self-invoices and facturas globales) whose lease expired: finished
  as the customer's retry would (services/invoicing/issuing.py): the same signed bytes
  again, so the PAC answers with the earlier stamp if the first answer was lost; a new
  seal only once the PAC says it never stamped them.
- CANCELLATION_PENDING invoices: SAT's status until Cancelado or the receiver rejects
  (services/cancellation/service.follow_pending), at most every POLL_EVERY.
- the CSD expiry notices, 30 and 7 days before (services/merchants/csd_expiry), queued
  once per certificate;
- the e-mail outbox (services/outbox: due messages, with back-off);
- webhook deliveries (services/webhooks: due deliveries, with back-off; each claimed).

Each duty claims its row with a conditional UPDATE of the lease column (lease_until <
now), which PostgreSQL and SQLite both run atomically: two workers (or a worker and a
customer's request) never do the same duty at once, without SKIP LOCKED.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.cancellation import service as cancellation
from services.global_invoice import service as global_invoice
from services.invoicing.issuing import StampFailed
from services.kernel import logs
from services.kernel.container import Services
from services.kernel.results import Invalid
from services.merchants import csd_expiry
from services.outbox import service as outbox
from services.portal import issue as portal
from services.webhooks import service as webhooks

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20  # a document refused this often waits for a person (last_error says why)
BATCH = 50


@dataclass
class Sweep:
    stamped: list[str] = field(default_factory=list)  # public ids finished ISSUED
    stamp_failures: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # UUIDs now CANCELLED
    cancellation_rejected: list[str] = field(default_factory=list)  # UUIDs back to ISSUED
    cancellation_waiting: int = 0
    mails_sent: int = 0
    csd_notices: int = 0
    webhooks_delivered: int = 0

    def summary(self) -> str:
        return (f"timbradas {len(self.stamped)}, fallidas {len(self.stamp_failures)}, canceladas "
                f"{len(self.cancelled)}, cancelaciones rechazadas {len(self.cancellation_rejected)}, "
                f"en espera del SAT {self.cancellation_waiting}, avisos de CSD {self.csd_notices}, "
                f"correos enviados {self.mails_sent}, webhooks entregados {self.webhooks_delivered}")


async def run_once(services: Services, *, now: datetime | None = None) -> Sweep:
    sweep = Sweep()
    now = now or datetime.now(UTC)
    async with services.uow_factory() as uow:
        invoices = await uow.invoices.pending_past_lease(now, MAX_ATTEMPTS, BATCH)
        globals_ = await uow.global_invoices.pending_past_lease(now, MAX_ATTEMPTS, BATCH)
        pending_cancellations = await uow.invoices.cancellation_pending_due(now, BATCH)
    for invoice_id in invoices:
        outcome = await portal.finish_pending(services, invoice_id)
        _count(sweep, outcome, invoice_id)
    for global_id in globals_:
        outcome = await global_invoice.finish_pending(services, global_id)
        _count(sweep, outcome, global_id)
    for invoice_id in pending_cancellations:
        state = await cancellation.follow_pending(services, invoice_id, now=now)
        if state is None:
            continue
        async with services.uow_factory() as uow:
            row = await uow.invoices.by_id(invoice_id)
        uuid = row.uuid if row is not None and row.uuid else str(invoice_id)
        if state == "CANCELLED":
            sweep.cancelled.append(uuid)
        elif state == "ISSUED":
            sweep.cancellation_rejected.append(uuid)
        else:
            sweep.cancellation_waiting += 1
    sweep.csd_notices = await csd_expiry.enqueue_expiry_notices(services, now)
    sweep.mails_sent = await outbox.deliver_due(services)
    sweep.webhooks_delivered = await webhooks.deliver_due(services, now=now)
    return sweep


def _count(sweep: Sweep, outcome, row_id: int) -> None:
    if outcome is None:
        return  # another process holds it
    if isinstance(outcome, (StampFailed, Invalid)):
        sweep.stamp_failures.append(str(row_id))
    elif isinstance(outcome, (portal.Issued, global_invoice.GlobalIssued)):
        sweep.stamped.append(outcome.invoice.public_id)
    else:  # NothingToInvoice and the like: nothing was stamped
        sweep.stamp_failures.append(str(row_id))


async def run_forever(services: Services, every: float = 30.0) -> None:
    while True:
        try:
            with logs.bound(f"sweep-{logs.new_id()}"):  # the lines of one sweep share an id
                sweep = await run_once(services)
                log.info("worker: %s", sweep.summary())
        except Exception:  # keep the loop alive; the next sweep tries again
            log.exception("worker sweep failed")
        await asyncio.sleep(every)
