"""Measure our renderer against satcfdi's on the same stamped CFDI, in one process.

    python -m services.pdf.benchmark [path/to/stamped.xml] [--lines 300] [--runs 7]

Prints median and minimum milliseconds per render and the ratio. Both renderers are warmed
up once first (imports, fontconfig, our per-process engine).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

from lxml import etree

from .render import NS, render_invoice_pdf

DEFAULT_SAMPLE = Path("/work/shared/sat/samples/02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml")


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


def _time(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("xml", nargs="?", type=Path, default=DEFAULT_SAMPLE)
    ap.add_argument("--lines", type=int, default=0, help="repeat the first concept up to N lines")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--skip-satcfdi", action="store_true")
    args = ap.parse_args()

    xml = args.xml.read_bytes()
    if args.lines:
        xml = with_lines(xml, args.lines)
    ours = _time(lambda: render_invoice_pdf(xml), args.runs)
    print(f"autofactura  median {statistics.median(ours):8.0f} ms  min {min(ours):8.0f} ms")
    if args.skip_satcfdi:
        return
    from satcfdi import render as satcfdi_render
    from satcfdi.cfdi import CFDI

    with tempfile.NamedTemporaryFile(suffix=".xml") as fh:
        fh.write(xml)
        fh.flush()
        cfdi = CFDI.from_file(fh.name)
    theirs = _time(lambda: satcfdi_render.pdf_bytes(cfdi), max(3, args.runs // 2))
    print(f"satcfdi      median {statistics.median(theirs):8.0f} ms  min {min(theirs):8.0f} ms")
    print(f"ratio (satcfdi / ours, medians): {statistics.median(theirs) / statistics.median(ours):.1f}x")


if __name__ == "__main__":
    main()
