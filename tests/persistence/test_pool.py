"""The pool pings only connections that sat idle (issue 16: asyncpg's ping is three round
trips, and SQLAlchemy's pool_pre_ping paid it on every checkout), and a unit of work in
autocommit mode runs each statement as its own transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence import db
from persistence.db import create_engine, session_factory
from persistence.uow import uow_factory


@pytest.mark.postgres
async def test_a_connection_killed_while_idle_is_replaced_without_an_error(pg_url, monkeypatch):
    engine = create_engine(pg_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # The server drops the pooled connection (a restart, a proxy timeout) ...
        killer = create_engine(pg_url)
        async with killer.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})).scalar_one()
        await killer.dispose()
        # ... and it has been idle long enough to be pinged: the checkout gets a new one.
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", -1.0)
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url):
    engine = create_engine(pg_url, pool_size=1)
    pings = []
    original = engine.sync_engine.dialect.do_ping
    engine.sync_engine.dialect.do_ping = lambda c: pings.append(c) or original(c)
    try:
        for _ in range(3):
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert pings == []
    finally:
        await engine.dispose()


async def test_autocommit_unit_of_work_commits_each_statement(database_url):
    engine = create_engine(database_url)
    uows = uow_factory(session_factory(engine))
    try:
        async with uows(write=True) as uow:
            await uow.session.execute(text("CREATE TABLE IF NOT EXISTS af_autocommit_probe (n integer)"))
            await uow.session.execute(text("DELETE FROM af_autocommit_probe"))
            await uow.commit()
        async with uows(autocommit=True) as uow:
            await uow.session.execute(text("INSERT INTO af_autocommit_probe (n) VALUES (1)"))
            # no commit(): leaving the block keeps what each statement did
        async with uows() as uow:
            assert (await uow.session.execute(text("SELECT count(*) FROM af_autocommit_probe"))).scalar_one() == 1
        async with uows(write=True) as uow:
            await uow.session.execute(text("DROP TABLE af_autocommit_probe"))
            await uow.commit()
    finally:
        await engine.dispose()


async def test_sqlite_pool_rolls_back_only_a_connection_left_in_a_transaction(sqlite_url, monkeypatch):
    # SQLite's pool has no unconditional ROLLBACK on return (a trip to aiosqlite's thread
    # on every checkin, issue 16): a connection handed back inside a transaction is still
    # rolled back, so its write lock and its uncommitted rows go with it.
    engine = create_engine(sqlite_url, pool_size=1)
    rollbacks = []
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("CREATE TABLE IF NOT EXISTS af_reset_probe (n integer)")
            await driver.execute("DELETE FROM af_reset_probe")
        raw = engine.sync_engine.pool
        async with engine.connect() as conn:
            adapter = type((await conn.get_raw_connection()).dbapi_connection)  # SQLAlchemy's aiosqlite adapter
        original = adapter.rollback
        monkeypatch.setattr(adapter, "rollback", lambda self: rollbacks.append(1) or original(self))
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("SELECT count(*) FROM af_reset_probe")  # autocommitted
        assert rollbacks == []
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO af_reset_probe (n) VALUES (1)")
            assert driver.in_transaction
        assert rollbacks == [1] and raw.checkedout() == 0
        async with engine.connect() as conn:  # the same pooled connection (pool_size=1)
            driver = (await conn.get_raw_connection()).driver_connection
            assert not driver.in_transaction
            assert await driver.execute_fetchall("SELECT count(*) FROM af_reset_probe") == [(0,)]
    finally:
        await engine.dispose()
