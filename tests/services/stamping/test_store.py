"""The idempotency stores and BasePac's timeout/idempotency on a fake PAC."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timezone

import pytest

from services.stamping import BasePac, FileStampStore, MemoryStampStore, StampingTimeout, StampResult


def _result(uuid: str) -> StampResult:
    return StampResult(
        xml=f"<x uuid='{uuid}'/>".encode(),
        uuid=uuid,
        stamped_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        sat_certificate_number="9" * 20,
        is_sandbox=True,
    )


KEY = hashlib.sha256(b"doc").hexdigest()


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    return MemoryStampStore() if request.param == "memory" else FileStampStore(tmp_path / "stamps")


def test_first_writer_wins(store):
    assert store.get(KEY) is None
    assert store.put(KEY, _result("A")) == _result("A")
    assert store.put(KEY, _result("B")) == _result("A")
    assert store.get(KEY) == _result("A")


def test_lock_is_exclusive_until_unlocked(store):
    assert store.try_lock(KEY)
    assert not store.try_lock(KEY)
    store.unlock(KEY)
    assert store.try_lock(KEY)
    store.unlock(KEY)


def test_file_lock_is_exclusive_between_store_instances(tmp_path):
    first, second = FileStampStore(tmp_path), FileStampStore(tmp_path)
    assert first.try_lock(KEY)
    assert not second.try_lock(KEY)
    first.unlock(KEY)
    assert second.try_lock(KEY)
    second.unlock(KEY)


def test_file_store_leaves_no_temporary_files(tmp_path):
    store = FileStampStore(tmp_path)
    store.put(KEY, _result("A"))
    store.put(KEY, _result("B"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{KEY}.json", "locks"])


def test_file_store_rejects_keys_that_are_not_hashes(tmp_path):
    with pytest.raises(ValueError):
        FileStampStore(tmp_path).get("../../etc/passwd")


class CountingPac(BasePac):
    def __init__(self, delay: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = 0
        self.delay = delay

    async def _stamp(self, xml: bytes) -> StampResult:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return _result(f"U{self.calls}")


async def test_base_pac_stamps_each_document_once_even_concurrently():
    pac = CountingPac(delay=0.05)
    results = await asyncio.gather(*(pac.stamp(b"doc") for _ in range(10)))
    assert pac.calls == 1 and {r.uuid for r in results} == {"U1"}
    assert (await pac.stamp(b"other")).uuid == "U2"


async def test_two_pacs_sharing_a_store_wait_for_each_other(tmp_path):
    store = FileStampStore(tmp_path)
    a, b = CountingPac(delay=0.1, store=store), CountingPac(delay=0.1, store=FileStampStore(tmp_path))
    results = await asyncio.gather(a.stamp(b"doc"), b.stamp(b"doc"))
    assert a.calls + b.calls == 1
    assert results[0] == results[1]


async def test_base_pac_timeout():
    pac = CountingPac(delay=5, timeout=0.1)
    with pytest.raises(StampingTimeout) as info:
        await pac.stamp(b"doc")
    assert info.value.retryable
    assert pac.store.get(hashlib.sha256(b"doc").hexdigest()) is None
    assert pac.store.try_lock(hashlib.sha256(b"doc").hexdigest())  # the lock was released


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        CountingPac(timeout=0)
