"""The request id every log line carries (issue 10, 12).

A context variable: the HTTP middleware (api/logs.py) sets it for each request and the
worker for each sweep; it follows the task through `await`, `asyncio.to_thread` and the
tasks a request starts, so a service's log line names the request that caused it without
passing the id around.
"""
from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# An id a proxy or a client sends is kept only if it is a short plain token: it ends up in
# every log line and in a response header, so nothing that could forge a line or a header.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def new_id() -> str:
    return secrets.token_hex(8)


def sane(candidate: str | None) -> str | None:
    if candidate and _SANE.fullmatch(candidate):
        return candidate
    return None


def current() -> str | None:
    return request_id.get()


@contextlib.contextmanager
def bound(value: str | None = None) -> Iterator[str]:
    """Run the block with `value` (or a new id) as the request id."""
    value = value or new_id()
    token = request_id.set(value)
    try:
        yield value
    finally:
        request_id.reset(token)
