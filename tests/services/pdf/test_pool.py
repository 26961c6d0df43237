"""PdfRenderer: renders off the event loop, in worker processes by default."""
from __future__ import annotations

import asyncio
import os

import pytest

from services.pdf import PdfRenderer, PdfRenderError, render_invoice_pdf


async def test_pool_renders_in_a_subprocess_the_same_bytes(sample_02, sample_01):
    async with PdfRenderer(workers=1) as renderer:
        pids = await renderer.worker_pids()
        assert pids and os.getpid() not in pids

        from_pool = await renderer.render(sample_02, sandbox=True)
        both = await asyncio.gather(renderer.render(sample_01), renderer.render(sample_01, True))

    # Deterministic across processes too: the worker's bytes equal this process's.
    assert from_pool == render_invoice_pdf(sample_02, sandbox=True)
    assert both[0] == render_invoice_pdf(sample_01)
    assert both[1] != both[0]


async def test_pool_errors_reach_the_caller_with_their_code(sample_02):
    renderer = PdfRenderer(workers=1)
    try:
        with pytest.raises(PdfRenderError) as err:
            await renderer.render(sample_02[:100])
        assert err.value.code == "invalid_xml"
    finally:
        await renderer.close()


async def test_inline_mode_renders_in_a_thread_of_this_process(sample_02):
    renderer = PdfRenderer(inline=True)
    await renderer.start()
    assert await renderer.worker_pids() == {os.getpid()}
    pdf = await renderer.render(sample_02, sandbox=False)
    assert pdf == render_invoice_pdf(sample_02)
    await renderer.close()


async def test_event_loop_stays_responsive_while_rendering(sample_02):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with PdfRenderer(workers=1) as renderer:
        task = asyncio.create_task(ticker())
        await asyncio.gather(*(renderer.render(sample_02) for _ in range(3)))
        task.cancel()
    assert ticks >= 5


def test_default_pool_size_is_at_most_two():
    assert 1 <= PdfRenderer().workers <= 2
