"""A duty repeated in the background of a process (outbox mail, webhook deliveries)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def repeat(duty: Callable[[], Awaitable[object]], every: float, name: str) -> None:
    """Run ``duty`` now and then every ``every`` seconds, until cancelled; a failing round
    is logged and the next one tries again."""
    while True:
        try:
            await duty()
        except Exception:  # keep the loop alive
            log.exception("%s round failed", name)
        await asyncio.sleep(every)
