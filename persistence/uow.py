"""Unit of work: the one place that commits (CONVENTIONS 3; cosmicpython's unit_of_work).

``async with uow_factory(write=True) as uow: ...; await uow.commit()`` opens a session and
commits only when asked; leaving the block without commit() (a refusal, an exception)
rolls back. Services use the repositories and never touch the session.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import WRITE_OPTION, autocommit_options, sqlite_writer
from persistence.repositories import (
    ApiKeyRepository,
    BrandingRepository,
    CounterRepository,
    CsdNoticeRepository,
    GlobalInvoiceRepository,
    InvoiceRepository,
    MerchantRepository,
    OutboxRepository,
    PacCallRepository,
    SaleRepository,
    ThrottleRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, write: bool = False,
                 autocommit: bool = False) -> None:
        self._sessions = sessions
        self._write = write
        self._autocommit = autocommit

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self._sessions()
        self._writer = None
        if self._autocommit or self._write:
            # SQLite: one writer at a time in this process (persistence.db.sqlite_writer).
            self._writer = sqlite_writer(self.session.bind)
            await self._writer.__aenter__()
        if self._autocommit:
            # Each statement is its own transaction, committed by the database as it ends:
            # for one atomic statement (the throttle's upsert ... RETURNING) whose row lock
            # must not wait for this process's event loop to send a COMMIT (issue 16: under
            # load that wait serialised every lookup of a company behind its counter row).
            await self.session.connection(execution_options=autocommit_options(self.session.bind))
        elif self._write:
            await self.session.connection(execution_options={WRITE_OPTION: True})
        else:
            # A reading unit of work runs without BEGIN/ROLLBACK, each statement on its own
            # snapshot. On PostgreSQL, READ COMMITTED takes a snapshot per statement inside a
            # transaction too, so the two round trips bought nothing (issue 16: 5 of an
            # issuance's 34). SQLite's BEGIN did hold one snapshot for the block; it is
            # dropped too, so both engines read alike (no service may count on a snapshot
            # across statements) and a read costs no trips to aiosqlite's thread for BEGIN
            # and ROLLBACK (persistence.db._end_only_open_transactions).
            await self.session.connection(execution_options=autocommit_options(self.session.bind))
        self.counters = CounterRepository(self.session)
        self.merchants = MerchantRepository(self.session)
        self.sales = SaleRepository(self.session)
        self.invoices = InvoiceRepository(self.session)
        self.global_invoices = GlobalInvoiceRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.throttle = ThrottleRepository(self.session)
        self.api_keys = ApiKeyRepository(self.session)
        self.webhook_endpoints = WebhookEndpointRepository(self.session)
        self.webhook_deliveries = WebhookDeliveryRepository(self.session)
        self.csd_notices = CsdNoticeRepository(self.session)
        self.branding = BrandingRepository(self.session)
        self.pac_calls = PacCallRepository(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        # close() rolls back what was not committed and detaches the loaded rows without
        # expiring them (rollback() would expire them: services read them after the block).
        try:
            await self.session.close()
        finally:
            if self._writer is not None:
                await self._writer.__aexit__(None, None, None)

    async def ping(self) -> None:
        """One round trip to the database (the health check)."""
        await self.session.execute(text("SELECT 1"))

    async def commit(self) -> None:
        await self.session.commit()

    async def flush(self) -> None:
        await self.session.flush()


UowFactory = Callable[..., UnitOfWork]


def uow_factory(sessions: async_sessionmaker[AsyncSession]) -> UowFactory:
    def make(*, write: bool = False, autocommit: bool = False) -> UnitOfWork:
        """``autocommit``: every statement commits as it ends (single-statement writes
        only; ``commit()`` is then a no-op)."""
        return UnitOfWork(sessions, write=write, autocommit=autocommit)

    return make
