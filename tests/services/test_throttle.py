"""The attempt counters on the three backends (SQLite, PostgreSQL, and Redis at
TEST_REDIS_URL as used when REDIS_URL is set), and the services that use them, under bursts
of concurrent attempts: at most the limit gets through."""
from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api.app import build_services
from api.settings import Settings
from services.kernel.throttle import DatabaseThrottle, Limits, RedisThrottle
from services.merchants import service as merchants
from services.portal import lookup
from services.portal.results import TicketNotFound
from tests.helpers import PASSWORD, make_merchant, truncate

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _redis_throttle(limits: Limits) -> RedisThrottle:
    throttle = RedisThrottle(REDIS_URL, limits)
    try:
        await throttle.redis.ping()
    except Exception as exc:  # noqa: BLE001
        await throttle.redis.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return throttle


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def backend_name(request) -> tuple[str, str]:
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    truncate(url)
    return request.param, url


@pytest.fixture
async def backend(backend_name, tmp_path):
    """Services whose throttle counts in SQLite, PostgreSQL or Redis (with SQLite data)."""
    name, url = backend_name
    settings = Settings(
        env="test", database_url=url, var_dir=tmp_path / "var", public_url="http://testserver",
        jwt_secret="test-secret-" + "x" * 40, encryption_secret="test-encryption-" + "y" * 40, pdf_workers=1,
    )
    services = build_services(settings, pdf_inline=True)
    redis = None
    if name == "redis":
        redis = services.throttle = await _redis_throttle(Limits())
    else:
        assert isinstance(services.throttle, DatabaseThrottle)
    yield services
    if redis is not None:
        await redis.redis.aclose()
    await services.dispose()


def _address() -> str:
    # Unique per test: Redis keeps its counters between runs (they expire with the window).
    return f"203.0.113.{uuid.uuid4().hex}"


def _company() -> str:
    return str(uuid.uuid4().int)[:12]


async def test_counts_and_windows(backend):
    throttle = backend.throttle
    now = datetime.now(UTC)
    a, b = f"t:{uuid.uuid4().hex}", f"t:{uuid.uuid4().hex}"
    assert [(h.key, h.count) for h in await throttle.hit([a, b], now)] == [(a, 1), (b, 1)]
    hits = await throttle.hit([a], now)
    assert hits[0].count == 2 and 0 < hits[0].retry_after <= 15 * 60
    await throttle.refund([a], now)
    assert (await throttle.hit([a], now))[0].count == 2
    if isinstance(throttle, DatabaseThrottle):
        # A window that has ended starts again with this attempt (Redis expires the key).
        later = now + throttle.window + timedelta(seconds=1)
        hits = await throttle.hit([a, b], later)
        assert [(h.count, h.retry_after) for h in hits] == [(1, 15 * 60), (1, 15 * 60)]


async def test_a_burst_of_concurrent_failed_lookups_gets_at_most_the_limit(backend):
    client, company = _address(), _company()
    limit = backend.throttle.limits.per_client
    answers = await asyncio.gather(*(
        lookup.lookup_ticket(backend, company, f"GUESS-{i}", Decimal("10.00"), client) for i in range(100)
    ))
    assert all(isinstance(a, TicketNotFound) for a in answers)
    checked = [a for a in answers if a.retry_after_seconds is None]
    assert len(checked) == limit
    assert all(0 < a.retry_after_seconds <= 15 * 60 for a in answers if a not in checked)


async def test_a_burst_of_concurrent_wrong_passwords_checks_at_most_the_limit(backend):
    row = await make_merchant(backend, f"{uuid.uuid4().hex[:10]}@example.com")
    client = _address()
    limit = backend.throttle.limits.per_login_email

    async def attempt(password: str):
        return await merchants.login(
            backend.uow_factory, backend.tokens, row.email, password, timedelta(hours=1),
            throttle=backend.throttle, client=client,
        )

    answers = await asyncio.gather(*(attempt(f"wrong-{i}") for i in range(60)))
    checked = [a for a in answers if a.message == merchants.INVALID_CREDENTIALS]
    assert len(checked) == limit
    assert all(a.retry_after_seconds and a.retry_after_seconds > 0 for a in answers if a not in checked)
    # And the right password from this address waits too.
    assert isinstance(await attempt(PASSWORD), merchants.LoginRefused)


async def test_a_successful_attempt_is_refunded(backend):
    row = await make_merchant(backend, f"{uuid.uuid4().hex[:10]}@example.com")
    client = _address()
    for _ in range(backend.throttle.limits.per_login_email + 5):
        session = await merchants.login(
            backend.uow_factory, backend.tokens, row.email, PASSWORD, timedelta(hours=1),
            throttle=backend.throttle, client=client,
        )
        assert isinstance(session, merchants.Session)


async def test_blocks_after_the_limit_only_that_client(backend):
    from services.kernel.throttle import Admitted, Refused, admit

    client, other = f"ip:test-{uuid.uuid4().hex}", f"ip:other-{uuid.uuid4().hex}"
    company = f"co:{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    for _ in range(3):
        assert isinstance(await admit(backend.throttle, now, hard={client: 3, company: 100}), Admitted)
    refused = await admit(backend.throttle, now, hard={client: 3, company: 100})
    assert isinstance(refused, Refused) and 0 < refused.retry_after <= 15 * 60
    # Another client is not affected.
    assert isinstance(await admit(backend.throttle, now, hard={other: 3}), Admitted)
