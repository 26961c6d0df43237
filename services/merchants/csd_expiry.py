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

from persistence.tables import OutboxKind
from services.kernel.container import Services
from services.outbox import service as outbox

THRESHOLDS_DAYS = (30, 7)


async def enqueue_expiry_notices(services: Services, now: datetime) -> int:
    """Queue the notices due at `now`; returns how many e-mails were queued."""
    queued = 0
    async with services.uow_factory() as uow:
        expiring = await uow.merchants.certificates_expiring(now, now + timedelta(days=max(THRESHOLDS_DAYS)))
    for merchant in expiring:
        assert merchant.id is not None
        left = merchant.certificate_valid_to - now
        due = sorted(d for d in THRESHOLDS_DAYS if left <= timedelta(days=d))  # most urgent first
        async with services.uow_factory(write=True) as uow:
            claimed = [
                (days, await uow.csd_notices.claim(merchant.id, merchant.certificate_number, days,
                                                   merchant.certificate_valid_to, now))
                for days in due
            ]
            urgent_days, urgent_id = claimed[0]
            if urgent_id is not None:
                await outbox.enqueue(uow, OutboxKind.CSD_EXPIRY, merchant.email, urgent_id)
                queued += 1
            await uow.commit()
    return queued
