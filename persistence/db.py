"""Engines and session factories for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession


WRITE_OPTION = "autofactura_write"


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    # hide_parameters: a database error's message would quote the statement's parameters
    # (customers' names, RFCs, e-mails) into whatever logs or stores it (issue 10).
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # WAL lets readers proceed during a write; busy_timeout makes concurrent
            # writers (several server processes) wait instead of failing.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # Let SQLAlchemy's "begin" event below emit BEGIN, not the driver.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin_immediate(conn):  # pragma: no cover - trivial
            # A writing unit of work takes the write lock at BEGIN, so a read-then-write
            # transaction never fails with "database is locked" when it upgrades;
            # SQLite serialises writers anyway. Readers begin deferred and run in parallel.
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_async_engine(database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                               hide_parameters=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
