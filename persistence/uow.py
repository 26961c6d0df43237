"""Unit of work: the one place that commits (CONVENTIONS 3).

``async with uow_factory(write=True) as uow:`` opens a session; leaving the block
normally commits, an exception rolls back. Services use the repositories and never commit.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import WRITE_OPTION
from persistence.repositories import (
    CounterRepository,
    GlobalInvoiceRepository,
    InvoiceRepository,
    MerchantRepository,
    OutboxRepository,
    SaleRepository,
    ThrottleRepository,
)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, write: bool = False) -> None:
        self._sessions = sessions
        self._write = write

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self._sessions()
        if self._write:
            await self.session.connection(execution_options={WRITE_OPTION: True})
        self.counters = CounterRepository(self.session)
        self.merchants = MerchantRepository(self.session)
        self.sales = SaleRepository(self.session)
        self.invoices = InvoiceRepository(self.session)
        self.global_invoices = GlobalInvoiceRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.throttle = ThrottleRepository(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def flush(self) -> None:
        await self.session.flush()


UowFactory = Callable[..., UnitOfWork]


def uow_factory(sessions: async_sessionmaker[AsyncSession]) -> UowFactory:
    def make(*, write: bool = False) -> UnitOfWork:
        return UnitOfWork(sessions, write=write)

    return make
