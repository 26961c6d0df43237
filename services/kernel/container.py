"""The services and configuration a request needs, built once at start-up by api/."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.repositories.downloads import DownloadQueries
from persistence.repositories.tickets import TicketQueries
from persistence.uow import UowFactory
from services.kernel.challenge import Challenges
from services.kernel.security import SecretBox, TokenService
from services.kernel.throttle import Throttle

if TYPE_CHECKING:  # heavy imports (WeasyPrint, lxml) stay out of what merely names the types
    from services.outbox.mail import Mailer
    from services.pdf.pool import PdfRenderer
    from services.stamping.base import Pac


@dataclass
class Services:
    engine: AsyncEngine
    uow_factory: UowFactory
    tokens: TokenService
    box: SecretBox
    public_url: str
    pac: Pac
    pdf: PdfRenderer
    mailer: Mailer
    throttle: Throttle
    challenges: Challenges  # proof of work past a target's burst of failures (ALTCHA)
    tickets: TicketQueries  # the portal's ticket lookup on the driver (issue 16)
    downloads: DownloadQueries  # a download link's stored file on the driver (issue 16)
    merchant_token_ttl: timedelta = timedelta(hours=12)
    ticket_token_ttl: timedelta = timedelta(minutes=15)
    invoice_token_ttl: timedelta = timedelta(days=30)
    download_link_ttl: timedelta = timedelta(minutes=10)
    production: bool = False
    # True with a real PAC (fiscally valid CFDIs): API keys read af_live_, else af_test_.
    live_stamping: bool = False
    allow_signup: bool = False  # registerMerchant (settings ALLOW_SIGNUP)
    mail_from: str = "facturas@autofactura.local"
    # The fiscal clock (services/global_invoice/clock.py) reads the time from here, so tests
    # inject one instead of freezing time; every clock function also takes `now`.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # A period's sales go into CFDIs of at most this many Conceptos each (a ticket is one
    # Concepto per tax treatment): PACs refuse very large documents (Finkok and SW take a
    # few MB; 2,000 Conceptos are about 1.5 MB), so a larger period is split in parts.
    global_invoice_max_concepts: int = 2000
    # Background sends of the outbox started by this process (services/outbox), kept so
    # they are not garbage-collected and so tests can wait for them; one sender at a time.
    mail_tasks: set[asyncio.Task[int]] = field(default_factory=set)
    mail_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def dispose(self) -> None:
        """Close the database pool and the PAC's connections (the PDF pool is closed by
        the app's lifespan)."""
        await self.pac.aclose()
        await self.engine.dispose()
