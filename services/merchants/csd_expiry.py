"""E-mail to the merchant 30 and 7 days before its CSD expires.

A duty for a background worker: `enqueue_expiry_notices(services, now)` once per sweep.
It queues the e-mails in the durable outbox (services/outbox), which sends and retries
them. Idempotent: each notice is recorded once per merchant, certificate (NoCertificado)
and threshold (the unique key of csd_expiry_notice), in the same transaction as its outbox
message, so sweeping again, or two workers sweeping at once, never sends one twice. A
replaced CSD has a new NoCertificado and its own notices. When a sweep first sees a
certificate already inside the 7-day window (a server that was down, a merchant that
registered late), only the 7-day notice is sent; the 30-day one is recorded as passed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from persistence.tables import MerchantRow, OutboxKind
from services.kernel.container import Services
from services.outbox import service as outbox

THRESHOLDS_DAYS = (30, 7)


async def enqueue_expiry_notices(services: Services, now: datetime, *, page_size: int = 200) -> int:
    """Queue the notices due at `now`; returns how many e-mails were queued."""
    queued = 0
    until = now + timedelta(days=max(THRESHOLDS_DAYS))
    page_after = None
    while True:
        async with services.uow_factory() as uow:
            page = await uow.merchants.certificates_expiring(now, until, page_after=page_after, limit=page_size)
        for merchant in page:
            queued += await _notify(services, merchant, now)
        if len(page) < page_size:
            return queued
        last = page[-1]
        assert last.id is not None
        page_after = (last.certificate_valid_to, last.id)


async def _notify(services: Services, merchant: MerchantRow, now: datetime) -> int:
    assert merchant.id is not None
    left = merchant.certificate_valid_to - now
    due = sorted(d for d in THRESHOLDS_DAYS if left <= timedelta(days=d))  # most urgent first
    async with services.uow_factory(write=True) as uow:
        claimed = [
            await uow.csd_notices.claim(merchant.id, merchant.certificate_number, days, merchant.certificate_valid_to, now)
            for days in due
        ]
        queued = 0
        if claimed[0] is not None:
            await outbox.enqueue(uow, OutboxKind.CSD_EXPIRY, merchant.email, claimed[0])
            queued = 1
        await uow.commit()
    return queued
