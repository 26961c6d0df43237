"""The failed-lookup counters in Redis (the real server at 127.0.0.1:6379), as used when
REDIS_URL is set; the database variant is exercised through the API tests."""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest

from services.kernel.throttle import Limits, RedisThrottle

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_redis_throttle_blocks_after_the_limit():
    throttle = RedisThrottle(REDIS_URL, Limits(per_client=3, per_company=100))
    try:
        await throttle.redis.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    client = f"ip:test-{uuid.uuid4().hex}"
    keys = [client, f"co:{uuid.uuid4().hex}"]
    now = datetime.now(UTC)
    try:
        for _ in range(3):
            assert await throttle.blocked_for(keys, now) == 0
            await throttle.fail(keys, now)
        wait = await throttle.blocked_for(keys, now)
        assert 0 < wait <= 15 * 60
        # Another client is not affected.
        assert await throttle.blocked_for([f"ip:other-{uuid.uuid4().hex}"], now) == 0
    finally:
        await throttle.redis.delete(*(f"af:thr:{k}" for k in keys))
        await throttle.redis.aclose()
