"""Our PDF renderer against satcfdi's `render.pdf_bytes`, same stamped CFDI, one process.

    python -m bench.pdf_bench [--lines 1,20,300] [--runs 5]   -> one JSON object

The CFDI is SAT's stamped test invoice (EKU9003173C9, shared/sat/samples/02) or, when that
file is absent, one issued by the bench; for 20 and 300 lines its first concept is repeated
(services.pdf.benchmark.with_lines). Both renderers are warmed up first; medians.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from services.pdf.benchmark import DEFAULT_SAMPLE, with_lines
from services.pdf.render import render_invoice_pdf


def _ms(fn, runs: int) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(xml: bytes, lines: list[int], runs: int) -> dict:
    from satcfdi import render as satcfdi_render
    from satcfdi.cfdi import CFDI

    out = {}
    for n in lines:
        doc = with_lines(xml, n) if n > 1 else xml
        with tempfile.NamedTemporaryFile(suffix=".xml") as fh:
            fh.write(doc)
            fh.flush()
            cfdi = CFDI.from_file(fh.name)
        ours = _ms(lambda: render_invoice_pdf(doc, sandbox=True), runs)
        theirs = _ms(lambda: satcfdi_render.pdf_bytes(cfdi), max(1, runs // 2 if n < 300 else 1))
        out[n] = {"ours_ms": statistics.median(ours), "satcfdi_ms": statistics.median(theirs),
                  "speedup": statistics.median(theirs) / statistics.median(ours),
                  "ours_runs": len(ours), "satcfdi_runs": len(theirs)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--xml", type=Path, default=DEFAULT_SAMPLE)
    ap.add_argument("--lines", default="1,20,300")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(json.dumps(measure(args.xml.read_bytes(), [int(x) for x in args.lines.split(",")], args.runs)))


if __name__ == "__main__":
    main()
