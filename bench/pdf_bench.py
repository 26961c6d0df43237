"""Our PDF renderer against satcfdi's `render.pdf_bytes`, same stamped CFDI, one process.

    python -m bench.pdf_bench [--xml path/to/stamped.xml] [--lines 1,20,300] [--runs 5] [--skip-satcfdi]
        -> one JSON object: per line count, median and minimum milliseconds of each renderer

The CFDI is SAT's stamped test invoice (EKU9003173C9, sample 02 in tests/fixtures/sat/samples)
unless --xml names another; for 20 and 300 lines its first concept is repeated (`with_lines`;
the seal then no longer verifies, which the renderer does not check). Both renderers are
warmed up first (imports, fontconfig, our per-process engine).
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

from lxml import etree

from services.pdf.render import NS, render_invoice_pdf

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLE = ROOT / "tests" / "fixtures" / "sat" / "samples" / "02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml"


def with_lines(xml: bytes, lines: int) -> bytes:
    """The same CFDI with its first Concepto repeated to `lines` concepts (seal not valid)."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    conceptos = root.find("cfdi:Conceptos", NS)
    first = conceptos[0]
    for i in range(lines - len(conceptos)):
        extra = copy.deepcopy(first)
        extra.set("NoIdentificacion", f"SKU-{i:04d}")
        conceptos.append(extra)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _ms(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(xml: bytes, lines: list[int], runs: int, *, satcfdi: bool = True) -> dict:
    out = {}
    for n in lines:
        doc = with_lines(xml, n) if n > 1 else xml
        ours = _ms(lambda: render_invoice_pdf(doc, sandbox=True), runs)
        row = {"ours_ms": statistics.median(ours), "ours_min_ms": min(ours), "ours_runs": len(ours)}
        if satcfdi:
            from satcfdi import render as satcfdi_render
            from satcfdi.cfdi import CFDI

            with tempfile.NamedTemporaryFile(suffix=".xml") as fh:
                fh.write(doc)
                fh.flush()
                cfdi = CFDI.from_file(fh.name)
            theirs = _ms(lambda: satcfdi_render.pdf_bytes(cfdi), max(1, runs // 2 if n < 300 else 1))
            row.update({"satcfdi_ms": statistics.median(theirs), "satcfdi_min_ms": min(theirs),
                        "speedup": statistics.median(theirs) / statistics.median(ours),
                        "satcfdi_runs": len(theirs)})
        out[n] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--xml", type=Path, default=DEFAULT_SAMPLE)
    ap.add_argument("--lines", default="1,20,300")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-satcfdi", action="store_true", help="time our renderer only")
    args = ap.parse_args()
    lines = [int(x) for x in args.lines.split(",")]
    print(json.dumps(measure(args.xml.read_bytes(), lines, args.runs, satcfdi=not args.skip_satcfdi)))


if __name__ == "__main__":
    main()
