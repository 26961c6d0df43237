"""Render PDFs off the event loop: a process pool (WeasyPrint is CPU-bound and holds the
GIL; two processes beat two threads, see shared notes), or a thread for tests."""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ProcessPoolExecutor


def _warm() -> bool:
    from services.pdf import render  # noqa: F401 - imports WeasyPrint once per worker

    return True


def _render(xml: bytes, sandbox: bool) -> bytes:
    from services.pdf.render import render_invoice_pdf

    return render_invoice_pdf(xml, sandbox=sandbox)


class PdfRenderer:
    def __init__(self, workers: int | None = None, *, inline: bool = False) -> None:
        self.inline = inline
        self.workers = workers or min(2, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self._pool

    async def warm(self) -> None:
        if not self.inline:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self._executor(), _warm) for _ in range(self.workers)))

    async def render(self, xml: bytes, sandbox: bool = False) -> bytes:
        if self.inline:
            return await asyncio.to_thread(_render, xml, sandbox)
        return await asyncio.get_running_loop().run_in_executor(self._executor(), _render, xml, sandbox)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
