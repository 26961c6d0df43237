"""Failed ticket lookups, counted per client address and per company number.

Guessing references is the threat: after a burst of failures the client is told when to
try again. Counters live in the database (or in Redis when REDIS_URL is set) so they hold
across several server processes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from persistence.uow import UnitOfWork, UowFactory


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    per_client: int = 20  # failed ticket lookups per address per window
    per_company: int = 200  # failed lookups per company number per window, all clients together
    per_login_email: int = 10  # failed logins per merchant e-mail per window
    per_login_client: int = 30  # failed logins per address per window

    def limit_for(self, key: str) -> int:
        prefix = key.split(":", 1)[0]
        return {"ip": self.per_client, "co": self.per_company, "le": self.per_login_email,
                "li": self.per_login_client}.get(prefix, self.per_client)


class Throttle(Protocol):
    """Counters of failed attempts per key; both implementations below hold across processes."""

    async def blocked_for(self, keys: list[str], now: datetime, uow: UnitOfWork | None = None) -> int: ...
    async def fail(self, keys: list[str], now: datetime) -> None: ...


def keys_for(client: str, company_number: str) -> list[str]:
    return [f"ip:{client}"[:120], f"co:{company_number}"[:120]]


def login_keys(client: str, email: str) -> list[str]:
    return [f"li:{client}"[:120], f"le:{email}"[:120]]


class DatabaseThrottle:
    def __init__(self, uow_factory: UowFactory, limits: Limits = Limits()) -> None:
        self.uow_factory = uow_factory
        self.limits = limits

    def _limit(self, key: str) -> int:
        return self.limits.limit_for(key)

    async def blocked_for(self, keys: list[str], now: datetime, uow: UnitOfWork | None = None) -> int:
        """Seconds until these keys may try again; 0 when not blocked. Pass the caller's
        unit of work to read the counters in its transaction (one round trip less)."""
        if uow is None:
            async with self.uow_factory() as own:
                return await self.blocked_for(keys, now, own)
        wait = 0
        for row in await uow.throttle.get_many(keys):
            end = row.window_start + self.limits.window
            if end > now and row.count >= self._limit(row.key):
                wait = max(wait, math.ceil((end - now).total_seconds()))
        return wait

    async def fail(self, keys: list[str], now: datetime) -> None:
        async with self.uow_factory(write=True) as uow:
            for key in keys:
                row = await uow.throttle.hit(key, now, now)
                if row.window_start + self.limits.window <= now:
                    await uow.throttle.reset(key, now, 1)  # a new window starts with this failure
            await uow.commit()


class RedisThrottle:
    """The same counters in Redis: INCR with an expiry equal to the window."""

    def __init__(self, url: str, limits: Limits = Limits()) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url, socket_timeout=2)
        self.limits = limits

    def _limit(self, key: str) -> int:
        return self.limits.limit_for(key)

    async def blocked_for(self, keys: list[str], now: datetime, uow: UnitOfWork | None = None) -> int:
        wait = 0
        for key in keys:
            count = await self.redis.get(f"af:thr:{key}")
            if count is not None and int(count) >= self._limit(key):
                wait = max(wait, max(1, await self.redis.ttl(f"af:thr:{key}")))
        return wait

    async def fail(self, keys: list[str], now: datetime) -> None:
        seconds = int(self.limits.window.total_seconds())
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.incr(f"af:thr:{key}")
            pipe.expire(f"af:thr:{key}", seconds, nx=True)
        await pipe.execute()
