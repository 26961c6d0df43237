"""Attempt counters for ticket lookups, portal pages and logins, and the decision they feed.

Guessing is the threat (a ticket's three data, a merchant's password). Every attempt is
counted *before* it is answered, in one atomic step that also returns the new count
(``Throttle.hit``: INSERT ... ON CONFLICT DO UPDATE ... RETURNING, or a Redis script), so
a burst of concurrent attempts cannot all read the same old count: at most the limit gets
through. An attempt that turns out not to be a guess (the right data, the right password,
or one sent back a challenge instead of an answer) is refunded. A ticket lookup with the
counters in the database counts the attempt only when the ticket was not found, under
the counter row's lock (persistence/repositories/tickets.py); a found ticket reads the
counters, writing and locking nothing, and is decided on them as if counted (a client
past its limit waits even with the right data); nothing to refund. Unlike a failed
attempt, a found one does not wait for failed attempts still in flight: it may be
answered on a count that has not seen them yet. That is one answer with the right data,
which ends the guessing it could have helped.

Two kinds of limit (``admit``):

- hard limits, keyed by what the attacker controls (its address, and its address with the
  target): past them that client waits for the window to end;
- a burst limit keyed by the target alone (a company, a merchant's e-mail): past it nobody
  is refused, but every attempt must carry a solved proof-of-work challenge
  (services/kernel/challenge.py). An attacker rotating addresses therefore cannot lock a
  merchant's customers, nor the merchant, out; it can only make them solve one challenge.

Counters live in the database (or in Redis when REDIS_URL is set) so they hold across
several server processes. Windows are fixed: they start with a key's first attempt.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from persistence.uow import UowFactory

_MAX_KEY = 120  # ThrottleRow.key


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    # Ticket lookups and portal pages: hard limits per address and per (address, company).
    per_client: int = 60  # failed attempts per address per window, all companies together
    per_client_company: int = 20  # failed lookups per (address, company number) per window
    # Failed lookups per company number per window, all addresses together, answered
    # without proof of work; past it every lookup of that company needs a solved challenge.
    company_burst: int = 100
    # Logins: hard limits per (address, e-mail) and per address; per e-mail a challenge.
    per_login_client_email: int = 10
    per_login_client: int = 30
    login_email_burst: int = 10
    # registerMerchant: attempts (accepted or not) per address per window.
    per_signup_client: int = 10


@dataclass(frozen=True)
class Hit:
    """A key's count after one more attempt, and the seconds left in its window."""

    key: str
    count: int
    retry_after: int


class Throttle(Protocol):
    """Attempt counters per key; both implementations below hold across processes."""

    window: timedelta
    limits: Limits
    in_database: bool  # the counters share the tickets' database (one statement counts and reads)

    async def hit(self, keys: Sequence[str], now: datetime) -> list[Hit]:
        """Count one attempt on every key (distinct keys) and return the new counts; each
        key is counted and read in one atomic step."""
        ...

    async def refund(self, keys: Sequence[str], now: datetime) -> None:
        """Take one attempt back from every key."""
        ...


def key(prefix: str, *parts: str) -> str:
    """``prefix:part|part``; hashed when longer than the column (never truncated: two long
    e-mails sharing their first 117 characters must not share a counter) or when it holds
    what a database column cannot store (NUL, a lone surrogate) or nobody should read in it."""
    raw = f"{prefix}:" + "|".join(parts)
    if len(raw) <= _MAX_KEY and raw.isprintable():
        return raw
    return f"{prefix}#" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def lookup_keys(client: str, company_number: str) -> tuple[str, str, str]:
    """(per address, per address and company, per company)."""
    return key("ip", client), key("ic", client, company_number), key("co", company_number)


def login_keys(client: str, email: str) -> tuple[str, str, str]:
    """(per address and e-mail, per address, per e-mail)."""
    return key("la", client, email), key("li", client), key("le", email)


@dataclass(frozen=True)
class Admitted:
    """Go ahead; refund ``keys`` if the attempt turns out not to be a guess."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """A hard limit is spent: this client waits ``retry_after`` seconds."""

    retry_after: int


@dataclass(frozen=True)
class ChallengeRequired:
    """The target's burst is spent: the attempt must carry a solved challenge."""


Admission = Admitted | Refused | ChallengeRequired


def attempt_keys(hard: dict[str, int], burst: tuple[str, int] | None = None) -> list[str]:
    """The distinct keys one attempt is counted on: the hard limits', then the burst's."""
    return list(dict.fromkeys([*hard, *([burst[0]] if burst else [])]))


async def admit(
    throttle: Throttle, now: datetime, *, hard: dict[str, int], burst: tuple[str, int] | None = None,
    solved: bool = False,
) -> Admission:
    """Count this attempt on every key, then decide from the counts the same step returned."""
    hits = {h.key: h for h in await throttle.hit(attempt_keys(hard, burst), now)}
    admission, refund = decide(hits, hard=hard, burst=burst, solved=solved)
    if refund:
        await throttle.refund(refund, now)
    return admission


def decide(
    hits: dict[str, Hit], *, hard: dict[str, int], burst: tuple[str, int] | None = None, solved: bool = False,
) -> tuple[Admission, list[str]]:
    """The decision from the counts with this attempt counted, and the keys whose count
    must give this attempt back (it was not answered, so it was no guess)."""
    keys = attempt_keys(hard, burst)
    over = [hits[k] for k, limit in hard.items() if hits[k].count > limit]
    if over:
        # The attempt is not answered: the target's counter does not keep it (the hard
        # counters do, and stay past their limit until the window ends).
        return Refused(max(1, max(h.retry_after for h in over))), [burst[0]] if burst else []
    if burst and not solved and hits[burst[0]].count > burst[1]:
        return ChallengeRequired(), keys  # a challenge sent back is no guess
    return Admitted(tuple(keys)), []


def hits_from_rows(rows: Sequence[tuple[str, int, datetime]], now: datetime, window: timedelta) -> list[Hit]:
    """(key, count, window start) rows as Hits; the seconds left are clamped: a concurrent
    attempt that read the clock later may have opened the window."""
    seconds = math.ceil(window.total_seconds())
    return [Hit(k, count, min(seconds, max(0, math.ceil((start + window - now).total_seconds()))))
            for k, count, start in rows]


def wait_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"Demasiados intentos fallidos. Intenta de nuevo en {minutes} minuto{'s' if minutes != 1 else ''}."


class DatabaseThrottle:
    # The counters live in the database the tickets live in: a ticket lookup counts its
    # attempt and reads the ticket in one statement (persistence/repositories/tickets.py).
    in_database = True

    def __init__(self, uow_factory: UowFactory, limits: Limits = Limits()) -> None:
        self.uow_factory = uow_factory
        self.limits = limits
        self.window = limits.window

    async def hit(self, keys: Sequence[str], now: datetime) -> list[Hit]:
        # One atomic statement, committed by the database as it ends: the counter rows are
        # locked only while it runs, not until this process gets round to a COMMIT (under
        # load, that wait serialised every lookup of a company behind its counter).
        async with self.uow_factory(autocommit=True) as uow:
            rows = await uow.throttle.hit(keys, now, self.window)
        return hits_from_rows(rows, now, self.window)

    async def refund(self, keys: Sequence[str], now: datetime) -> None:
        if keys:
            async with self.uow_factory(autocommit=True) as uow:  # one statement, as hit()
                await uow.throttle.refund(keys)


# KEYS: the counters; ARGV[1]: the window in milliseconds. INCR and the expiry in one
# script, so a counter never outlives its window and the count returned is this attempt's.
_HIT = """
local out = {}
for i, k in ipairs(KEYS) do
  local c = redis.call('INCR', k)
  local ttl = redis.call('PTTL', k)
  if ttl < 0 then
    redis.call('PEXPIRE', k, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = c
  out[#out + 1] = ttl
end
return out
"""
_REFUND = """
for i, k in ipairs(KEYS) do
  local c = tonumber(redis.call('GET', k) or '0')
  if c > 0 then redis.call('DECR', k) end
end
return 0
"""


class RedisThrottle:
    """The same counters in Redis: one Lua script (INCR, then the expiry of a new key)."""

    in_database = False

    def __init__(self, url: str, limits: Limits = Limits(), *, prefix: str = "af:thr:") -> None:
        import redis.asyncio as redis

        self.prefix = prefix

        # A blocking pool: a burst of requests waits for a connection (up to 5 s) instead of
        # failing with "Too many connections" past the pool's size.
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=50, timeout=5, socket_timeout=2)
        self.redis = redis.Redis(connection_pool=pool)
        self.limits = limits
        self.window = limits.window
        self._hit = self.redis.register_script(_HIT)
        self._refund = self.redis.register_script(_REFUND)

    async def hit(self, keys: Sequence[str], now: datetime) -> list[Hit]:
        if not keys:
            return []
        window_ms = int(self.window.total_seconds() * 1000)
        out = await self._hit(keys=[self.prefix + k for k in keys], args=[window_ms])
        return [Hit(k, int(out[2 * i]), math.ceil(int(out[2 * i + 1]) / 1000)) for i, k in enumerate(keys)]

    async def refund(self, keys: Sequence[str], now: datetime) -> None:
        if keys:
            await self._refund(keys=[self.prefix + k for k in keys])
