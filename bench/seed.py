"""Databases for the benchmark: migrate, the demo merchant (SAT test CSD), and sales in bulk.

Sales are inserted with SQL in bulk, not through GraphQL: SQLite with executemany in one
transaction (synchronous=OFF, WAL while seeding), PostgreSQL with COPY. Every sale copies
the demo ticket DEMO-0001 (one line, 1,160.00) with its own reference, so it is a real,
invoiceable ticket. Databases live in bench/.data/ (SQLite) or autofactura_bench* (PG) and
are reused: seeding only tops up what is missing.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from api.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from api.settings import Settings
from bench.common import DATA, VAR
from persistence.migrate import upgrade

TEMPLATE_REFERENCE = "demo-0001"


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _ensure_pg_database(url: str) -> None:
    base, _, name = _pg_dsn(url).rpartition("/")
    conn = await asyncpg.connect(base + "/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def prepare(url: str) -> dict:
    """Migrate, seed the demo merchant; return its id, company number and login."""
    DATA.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql"):
        asyncio.run(_ensure_pg_database(url))
    upgrade(url)
    asyncio.run(seed_demo(Settings(database_url=url, var_dir=VAR)))
    return asyncio.run(_merchant(url))


async def _merchant(url: str) -> dict:
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.split(":///", 1)[1])
        mid, company = con.execute("SELECT id, company_number FROM merchant WHERE email = ?", (DEMO_EMAIL,)).fetchone()
        # A long deadline keeps reused bench sales invoiceable (365 days is the allowed maximum).
        con.execute("UPDATE merchant SET deadline_days = 365 WHERE id = ?", (mid,))
        con.commit()
        con.close()
    else:
        conn = await asyncpg.connect(_pg_dsn(url))
        mid, company = await conn.fetchrow("SELECT id, company_number FROM merchant WHERE email = $1", DEMO_EMAIL)
        await conn.execute("UPDATE merchant SET deadline_days = 365 WHERE id = $1", mid)
        await conn.close()
    return {"id": mid, "company_number": company, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}


_COLUMNS = ["merchant_id", "reference", "reference_key", "total_cents", "sold_at", "payment_form",
            "lines_json", "content_hash", "status", "customer_email", "created_at"]


def _rows(template: dict, merchant_id: int, prefix: str, start: int, count: int, now: datetime, spread_days: float):
    step = timedelta(days=spread_days) / max(count + start, 1)
    for i in range(start, start + count):
        ref = f"{prefix}{i:07d}"
        sold = now - step * (start + count - i)
        yield (merchant_id, ref, ref.casefold(), template["total_cents"], sold, template["payment_form"],
               template["lines_json"], template["content_hash"], "OPEN", None, now)


def _sqlite_text(dt: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format, UTC (UTCDateTime converts before binding).
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def count_sales(url: str, prefix: str) -> int:
    return asyncio.run(_count(url, prefix))


async def _count(url: str, prefix: str) -> int:
    like = prefix.casefold() + "%"
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.split(":///", 1)[1])
        # reference_key >= prefix AND < prefix-successor: an index range, not a scan.
        hi = like[:-2] + chr(ord(like[-2]) + 1)
        n = con.execute("SELECT count(*) FROM sale WHERE reference_key >= ? AND reference_key < ?", (like[:-1], hi)).fetchone()[0]
        con.close()
        return n
    conn = await asyncpg.connect(_pg_dsn(url))
    n = await conn.fetchval("SELECT count(*) FROM sale WHERE reference_key LIKE $1", like)
    await conn.close()
    return n


def bulk_sales(url: str, merchant_id: int, prefix: str, count: int, *, spread_days: float = 20.0,
               batch: int = 50_000, log=print) -> dict:
    """Top up sales whose reference starts with `prefix` to `count`; returns timing."""
    have = count_sales(url, prefix)
    missing = count - have
    if missing <= 0:
        return {"inserted": 0, "seconds": 0.0, "existing": have}
    now = datetime.now(UTC)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-262144")  # 256 MB page cache while seeding
        t = con.execute("SELECT total_cents, payment_form, lines_json, content_hash FROM sale "
                        "WHERE merchant_id = ? AND reference_key = ?", (merchant_id, TEMPLATE_REFERENCE)).fetchone()
        template = dict(zip(["total_cents", "payment_form", "lines_json", "content_hash"], t))
        sql = f"INSERT INTO sale ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        con.execute("BEGIN")
        buf = []
        for r in _rows(template, merchant_id, prefix, have, missing, now, spread_days):
            buf.append(r[:4] + (_sqlite_text(r[4]),) + r[5:10] + (_sqlite_text(r[10]),))
            if len(buf) >= batch:
                con.executemany(sql, buf)
                buf.clear()
        if buf:
            con.executemany(sql, buf)
        con.execute("COMMIT")
        con.execute("ANALYZE")
        con.close()
    else:
        asyncio.run(_pg_copy(url, merchant_id, prefix, have, missing, now, spread_days))
    seconds = time.perf_counter() - started
    log(f"  seeded {missing:,} sales ({prefix}*) in {seconds:.1f} s ({missing / seconds:,.0f}/s)")
    return {"inserted": missing, "seconds": seconds, "existing": have}


async def _pg_copy(url, merchant_id, prefix, have, missing, now, spread_days):
    conn = await asyncpg.connect(_pg_dsn(url))
    try:
        t = await conn.fetchrow("SELECT total_cents, payment_form, lines_json, content_hash FROM sale "
                                "WHERE merchant_id = $1 AND reference_key = $2", merchant_id, TEMPLATE_REFERENCE)
        async with conn.transaction():
            await conn.copy_records_to_table(
                "sale", records=_rows(dict(t), merchant_id, prefix, have, missing, now, spread_days), columns=_COLUMNS)
        await conn.execute("ANALYZE sale")
    finally:
        await conn.close()


def sales_for(url: str, prefix: str, count: int) -> list[str]:
    """References of `count` sales with that prefix (existing ones, in order)."""
    return [f"{prefix}{i:07d}" for i in range(count)]
