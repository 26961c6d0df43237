"""Engines and session factories for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession


WRITE_OPTION = "autofactura_write"
SQLITE_BUSY_SECONDS = 30  # how long a SQLite writer waits for the write lock
# Each statement its own transaction (UnitOfWork(autocommit=True)). On SQLite the driver
# already runs with isolation_level None, so skipping our BEGIN is all it takes (SQLAlchemy's
# own AUTOCOMMIT would set the driver's isolation_level to "" when the connection goes back
# to the pool, and the driver would then begin transactions itself).
AUTOCOMMIT_OPTION = "autofactura_autocommit"


def autocommit_options(engine: AsyncEngine) -> dict:
    if engine.dialect.name == "sqlite":
        return {AUTOCOMMIT_OPTION: True}
    return {"isolation_level": "AUTOCOMMIT"}


def create_engine(database_url: str, *, pool_size: int = 20) -> AsyncEngine:
    # hide_parameters: a database error's message would quote the statement's parameters
    # (customers' names, RFCs, e-mails) into whatever logs or stores it (issue 10).
    if database_url.startswith("sqlite"):
        # Connections kept open, no overflow (as for PostgreSQL below): each new aiosqlite
        # connection is a new thread and four PRAGMAs, and the default pool (5 + 10 overflow)
        # closed and opened them again under a burst (issue 16).
        engine = create_async_engine(database_url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, hide_parameters=True,
                                     pool_size=min(pool_size, 10), max_overflow=0, pool_timeout=30)
        _end_only_open_transactions(engine)

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
            options = conn.get_execution_options()
            if options.get(AUTOCOMMIT_OPTION):
                return  # each statement its own transaction (UnitOfWork(autocommit=True))
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")

        return engine
    # No overflow: under a burst, SQLAlchemy's overflow connections were closed as they came
    # back to a full queue and opened again for the next request (a backend start, and the
    # SSL attempt of asyncpg's sslmode=prefer, several times a second: 8 % of a lookup under
    # load, issue 16). All pool_size connections stay open; past them a request waits.
    engine = create_async_engine(database_url, pool_size=pool_size, max_overflow=0, pool_timeout=30,
                                 hide_parameters=True)
    _ping_when_idle(engine)
    return engine


def _end_only_open_transactions(engine: AsyncEngine) -> None:
    """SQLite: COMMIT and ROLLBACK sent only when the connection is inside a transaction.

    Every call on an aiosqlite connection is a trip to its thread (a queue, a future, a
    wake-up of the event loop: about 0.1 ms of CPU). SQLAlchemy ends every unit of work and
    resets every connection it gets back with a ROLLBACK, also where none is open: a
    statement run on the raw connection (the ticket lookup), an autocommitted unit of work,
    a read without BEGIN. sqlite3 itself does nothing for those (its commit() and
    rollback() return at once outside a transaction), so asking it first gives the same
    result without the trip (issue 16). ``in_transaction`` is sqlite3's own flag, read
    while no statement of this connection runs (SQLAlchemy waits for each)."""
    dialect = engine.sync_engine.dialect

    def do_rollback(dbapi_connection) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    def do_commit(dbapi_connection) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.commit()

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    dialect.do_commit = do_commit  # type: ignore[method-assign]


# A pooled connection used this recently is trusted without a ping.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """pool_pre_ping, only for connections idle more than IDLE_PING_SECONDS.

    SQLAlchemy's pool_pre_ping pings on every checkout, and asyncpg's ping is three round
    trips (BEGIN, ``;``, ROLLBACK): 9 of the 14 round trips of a ticket lookup (issue 16,
    BENCHMARKS.md). A connection that answered a moment ago is taken as is; one that sat
    in the pool longer (the server restarted, a proxy dropped it) is pinged, and a failed
    ping makes the pool discard it and connect anew (DisconnectionError: the pool retries),
    so a restart still costs no request an error."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_conn, record):  # pragma: no cover - trivial
        record.info["af_checked_in"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        since = record.info.get("af_checked_in")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new (just connected) or used a moment ago
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator:
    """A pooled connection's own driver connection (asyncpg's or aiosqlite's), for the hot
    paths that send plain SQL without the ORM (persistence/repositories/tickets.py,
    downloads.py); back to the pool when the block ends."""
    async with engine.connect() as conn:
        yield (await conn.get_raw_connection()).driver_connection


# One writer at a time per process and event loop, on SQLite. SQLite has one write lock per
# database; a connection that finds it taken sleeps in SQLite's busy handler (1, 2, 5, 10 …
# ms) and tries again, so ten pooled connections of one process writing at once spent most
# of their time asleep (issue 16: a lookup writes its attempt counters; issuance writes four
# times). Waiting here instead hands the lock over as soon as it is free; other processes
# still meet at SQLite's own lock (busy_timeout). A unit of work never opens a second
# writing one inside itself (on SQLite that would wait for itself already).
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def sqlite_writer(engine: AsyncEngine) -> AsyncIterator[None]:
    """Held around a writing transaction or statement on SQLite; nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        yield
        return
    per_loop = _WRITE_LOCKS.get(engine.sync_engine)
    if per_loop is None:
        per_loop = _WRITE_LOCKS.setdefault(engine.sync_engine, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    lock = per_loop.get(loop)
    if lock is None:
        lock = per_loop[loop] = asyncio.Lock()
    # As long as SQLite's own busy_timeout (30 s): past it the writer fails as it did
    # before, instead of waiting for ever should a unit of work ever nest a second writer.
    async with asyncio.timeout(SQLITE_BUSY_SECONDS):
        await lock.acquire()
    try:
        yield
    finally:
        lock.release()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
