"""Each call to a PAC, recorded for the merchant's audit (operation, document hash,
outcome, duration).

The clients know the call but not the merchant; the services know the merchant but not
how many HTTP calls a stamp took (stamp, then `stamped` after a 307). So the clients
`record()` into a list held in a context variable that the caller opened with
`collect()`, and the caller stores that list with the merchant's id (the `pac_call` table,
persistence/repositories/pac_calls.py). Context variables follow the task through
`await`, `asyncio.timeout` and `asyncio.to_thread`; outside `collect()` nothing is kept.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.kernel import metrics

OK = "OK"


@dataclass(frozen=True)
class PacCall:
    operation: str  # stamp, stamped, cancel_signature, get_sat_status, authenticate ...
    document_hash: str | None  # SHA-256 of the sealed CFDI, or None (cancellation, status)
    uuid: str | None
    outcome: str  # OK, or a PacErrorCode / the PAC's code ("307", "708" ...)
    duration_ms: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


_calls: ContextVar[list[PacCall] | None] = ContextVar("pac_calls", default=None)


@contextlib.contextmanager
def collect() -> Iterator[list[PacCall]]:
    """Collect the PAC calls made inside the block (nested blocks share the outer list)."""
    current = _calls.get()
    if current is not None:
        yield current
        return
    calls: list[PacCall] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)


def record(call: PacCall) -> None:
    metrics.pac_call(call.operation, call.outcome, call.duration_ms)  # every call, collected or not
    calls = _calls.get()
    if calls is not None:
        calls.append(call)


class Timer:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)
