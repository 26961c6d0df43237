"""Alembic environment: one migration history for SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.tables import metadata

config = context.config
target_metadata = metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# pg_advisory_lock key of the migrations (any constant bigint shared by every process).
MIGRATION_LOCK = 0x6175746F666163  # "autofac"


async def _run_async() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        locked = connection.dialect.name == "postgresql"
        if locked:
            # Replicas that start together (N x `autofactura migrate`) queue here; each one
            # reads the schema's version only once it holds the lock, so the first migrates
            # and the others find it at head. A session lock: released at unlock or when the
            # connection closes (a killed process never leaves it held).
            await connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            await connection.commit()
        try:
            await connection.run_sync(_run)
            await connection.commit()
        finally:
            if locked:
                await connection.rollback()
                await connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
