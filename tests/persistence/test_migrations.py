"""The migrations are the schema: they run up, down and up again on SQLite and on
PostgreSQL, and after them the tables match the SQLModel definitions exactly."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.migrate import downgrade, upgrade
from persistence.tables import metadata
from tests.helpers import PG_URL


def _diff(url: str) -> list:
    async def run():
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata))
        await engine.dispose()
        return diff

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run():
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
        await engine.dispose()
        return set(names)

    return asyncio.run(run())


def _round_trip(url: str) -> None:
    upgrade(url)
    assert _diff(url) == []
    assert {"merchant", "sale", "invoice", "counter", "outbox_message", "throttle"} <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert _diff(url) == []


def test_sqlite_round_trip(tmp_path):
    _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgresql_round_trip(pg_url):
    # A database of its own: going down to base must not disturb the other tests' schema.
    name = f"af_migrations_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"

    async def admin_sql(sql: str):
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
        await engine.dispose()

    asyncio.run(admin_sql(f"CREATE DATABASE {name}"))
    try:
        _round_trip(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        asyncio.run(admin_sql(f"DROP DATABASE IF EXISTS {name}"))


@pytest.mark.postgres
def test_postgresql_throttle_counters_are_unlogged(pg_url):
    """Migration 0010: the attempt counters write no WAL and wait for no disk (issue 16);
    the tables that hold what must survive a crash stay logged."""
    async def persistence() -> dict[str, str]:
        engine = create_async_engine(pg_url)
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql(
                "SELECT relname, relpersistence::text FROM pg_class WHERE relname IN ('throttle', 'sale', 'invoice', 'counter')"
            )).all()
        await engine.dispose()
        return dict(rows)

    assert asyncio.run(persistence()) == {"throttle": "u", "sale": "p", "invoice": "p", "counter": "p"}
