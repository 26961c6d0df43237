"""E-mail to customers through a durable outbox.

A message is queued in the same transaction as what it reports (the invoice, the sale)
and sent afterwards; a send failure never fails the invoice: it is recorded and retried
with back-off until MAX_ATTEMPTS.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from persistence.tables import OutboxKind, OutboxMessageRow, OutboxStatus
from persistence.uow import UnitOfWork
from services.invoicing import documents
from services.kernel.container import Services
from services.kernel.folio import serie_folio
from services.kernel.loops import repeat
from services.kernel.money import from_cents
from services.outbox import mail
from services.sales.ticket import portal_url

log = logging.getLogger(__name__)

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = 8
CLAIM = timedelta(minutes=5)


async def enqueue(uow: UnitOfWork, kind: OutboxKind, recipient: str, ref_id: int) -> None:
    """Queue a message in the caller's transaction: it is sent only if that commits."""
    now = datetime.now(UTC)
    await uow.outbox.add(OutboxMessageRow(kind=kind, recipient=recipient, ref_id=ref_id, next_attempt_at=now, created_at=now))


def kick(services: Services) -> None:
    """Send what is due now, in the background of the current event loop."""
    task = asyncio.get_running_loop().create_task(deliver_due(services))
    services.mail_tasks.add(task)
    task.add_done_callback(services.mail_tasks.discard)


async def _build(services: Services, msg: OutboxMessageRow):
    # ref_id comes from our own outbox row (trusted), not from a caller.
    async with services.uow_factory() as uow:
        if msg.kind == OutboxKind.CSD_EXPIRY:
            notice = await uow.csd_notices.by_id(msg.ref_id)
            assert notice is not None
            owner = await uow.merchants.by_id(notice.merchant_id)
            assert owner is not None
            return mail.csd_expiry_message(
                to=msg.recipient, from_addr=services.mail_from, merchant_name=owner.legal_name, rfc=owner.rfc,
                certificate_number=notice.certificate_number, valid_to=notice.valid_to,
                days_left=max(0, (notice.valid_to - notice.created_at).days),
            )
        if msg.kind in (OutboxKind.INVOICE, OutboxKind.CANCELLATION):
            row = await uow.invoices.by_id(msg.ref_id)
            assert row is not None
            merchant = await uow.merchants.by_id(row.merchant_id)
        else:
            sale = await uow.sales.by_id(msg.ref_id)
            assert sale is not None
            merchant = await uow.merchants.by_id(sale.merchant_id)
    assert merchant is not None
    if msg.kind == OutboxKind.INVOICE:
        pdf = await documents.ensure_pdf(services, row)
        return mail.invoice_message(
            to=msg.recipient, from_addr=services.mail_from, merchant_name=merchant.legal_name,
            series_folio=serie_folio(row.series, row.folio), uuid=row.uuid,
            xml_name=documents.file_name(merchant.rfc, row, "xml"), xml_bytes=row.stamped_xml,
            pdf_name=documents.file_name(merchant.rfc, row, "pdf"), pdf_bytes=pdf, sandbox=row.sandbox,
        )
    if msg.kind == OutboxKind.CANCELLATION:
        pdf = await documents.ensure_pdf(services, row)
        return mail.cancellation_message(
            to=msg.recipient, from_addr=services.mail_from, merchant_name=merchant.legal_name,
            series_folio=serie_folio(row.series, row.folio), uuid=row.uuid,
            pdf_name=documents.file_name(merchant.rfc, row, "pdf"), pdf_bytes=pdf, sandbox=row.sandbox,
        )
    total = from_cents(sale.total_cents)
    return mail.ticket_message(
        to=msg.recipient, from_addr=services.mail_from, merchant_name=merchant.legal_name,
        company_number=merchant.company_number, reference=sale.reference, total=total,
        portal_url=portal_url(services.public_url, merchant.company_number, sale.reference, total),
    )


async def deliver_due(services: Services, *, limit: int = 20) -> int:
    """Send the messages that are due; returns how many were sent."""
    sent = 0
    async with services.mail_lock:  # one sender per process; across processes each row is claimed below
        async with services.uow_factory() as uow:
            due = await uow.outbox.due(datetime.now(UTC), limit)
        for msg in due:
            async with services.uow_factory(write=True) as uow:
                # Claim: push the row's next attempt past a send's timeout, only if no other
                # process moved it first. A crash mid-send leaves it due again after CLAIM.
                claimed = await uow.outbox.claim(msg.id, msg.next_attempt_at, datetime.now(UTC) + CLAIM)
                await uow.commit()
            if not claimed:
                continue
            error = None
            try:
                message = await _build(services, msg)
                await services.mailer.send(message)
            except mail.MailError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a bug or missing data: recorded, retried, never raised into a request
                log.exception("building or sending outbox message %s failed", msg.id)
                error = f"{type(exc).__name__}: {exc}"
            async with services.uow_factory(write=True) as uow:
                row = await uow.outbox.by_id(msg.id)
                assert row is not None
                now = datetime.now(UTC)
                row.attempts += 1
                if error is None:
                    row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
                    sent += 1
                else:
                    row.last_error = error[:500]
                    if row.attempts >= MAX_ATTEMPTS:
                        row.status = OutboxStatus.FAILED
                    else:
                        row.next_attempt_at = now + BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
                await uow.outbox.save(row)
                await uow.commit()
    return sent


async def run_forever(services: Services, every: float = 30.0) -> None:
    """The retry loop the server runs in the background."""
    await repeat(lambda: deliver_due(services), every, "outbox")
