"""Replicas that start together run `autofactura migrate` at once (issue 12): on PostgreSQL
the migrations run under an advisory lock (persistence/migrations/env.py), so one process
migrates and the others find the schema at head, instead of racing to create the same
tables."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.migrate import alembic_config
from tests.helpers import PG_URL, ROOT

REPLICAS = 4


@pytest.mark.postgres
def test_concurrent_migrate_processes_migrate_once(pg_url, tmp_path):
    # A fresh database of its own (an empty public schema): the other tests' schema stays.
    name = f"af_migrate_lock_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"

    async def admin_sql(sql: str):
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
        await engine.dispose()

    async def query(sql: str):
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql(sql)).fetchall()
        await engine.dispose()
        return rows

    # template0: nobody can be connected to it (CREATE DATABASE from template1 fails while
    # another session, another test run's, is connected to template1).
    asyncio.run(admin_sql(f"CREATE DATABASE {name} TEMPLATE template0"))
    try:
        env = {**os.environ, "DATABASE_URL": url, "ENV": "development", "VAR_DIR": str(tmp_path / "var"),
               "JWT_SECRET": "j" * 48, "ENCRYPTION_SECRET": "k" * 48, "LOG_FORMAT": "json"}
        procs = [subprocess.Popen([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(REPLICAS)]
        results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
        for code, out, err in results:
            assert code == 0, err[-3000:]
            assert "Migraciones aplicadas" in out
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert asyncio.run(query("SELECT version_num FROM alembic_version")) == [(head,)]
        tables = {r[0] for r in asyncio.run(query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
        assert {"merchant", "sale", "invoice", "outbox_message", "pac_call"} <= tables
        # The lock is released: nobody holds an advisory lock once the processes are gone.
        assert asyncio.run(query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                 f" AND database = (SELECT oid FROM pg_database WHERE datname = '{name}')")) == [(0,)]
    finally:
        asyncio.run(admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
