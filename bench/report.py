"""The table bench/run.py prints (markdown), from a results dict or bench/results/*.json.

    python -m bench.report [bench/results/full.json]
"""
from __future__ import annotations

import json
import sys

from bench.common import RESULTS

NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}


def _ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def _found(x: dict) -> str:
    return f"{x['kinds'].get('InvoiceableTicket', 0)}/{x['count']}"


def _n(count: int) -> str:
    return f"{count // 1_000_000} M" if count >= 1_000_000 else f"{count // 1000} k"


def table(r: dict) -> str:
    out = [f"autofactura benchmark, {r['mode']} run, {r['started']} (2 shared cores; ratios are the figures, "
           "absolute numbers for context)", ""]
    cfdi = r.get("cfdi")
    engines = r.get("engines", {})
    if cfdi and any("issue_c1" in e for e in engines.values()):
        floor = cfdi["floor_per_s"]
        out += ["### Issuance: full `issueInvoice` over HTTP vs satcfdi build+sign+XSD in one process",
                "", "| engine | concurrency | invoices/s | p50 ms | p99 ms | baseline invoices/s | ratio to baseline | ok/sent | target |",
                "|---|---|---|---|---|---|---|---|---|"]
        for eng, e in engines.items():
            for key, conc in (("issue_c1", 1), ("issue_c32", 32)):
                if key not in e:
                    continue
                x = e[key]
                ok = x["kinds"].get("InvoiceIssued", 0)
                target = "–" if conc == 1 else _ok(x["rps"] >= 100 and x["p99_ms"] < 500 and ok == x["count"])
                out.append(f"| {NAMES[eng]} | {conc} | {x['rps']:.1f} | {x['p50_ms']:.0f} | {x['p99_ms']:.0f} | "
                           f"{floor:.0f} | {x['rps'] / floor:.3f}× | {ok}/{x['count']} | {target} |")
        out += ["", f"Baseline detail (ms per invoice, one process): satcfdi build+sign {cfdi['satcfdi_build_sign_ms']:.2f}, "
                f"floor with XSD compiled once {cfdi['floor_ms']:.2f}, satcfdi `to_xml(validate=True)` "
                f"{cfdi['satcfdi_to_xml_validate_true_ms']:.0f} (recompiles the XSD); our engine "
                f"{cfdi['engine_ms']:.2f} ({cfdi['engine_ms'] / cfdi['floor_ms']:.1f}× the floor) with the CSD key cache, "
                f"{cfdi['engine_no_key_cache_ms']:.1f} without (PKCS#8 decrypt alone {cfdi['pkcs8_decrypt_ms']:.1f}).", ""]
    if any("lookup_graphql" in e for e in engines.values()):
        out += ["### Lookup: `ticket` query at concurrency 64 vs a bare Starlette route, same server, same lookup", "",
                "| engine | GraphQL req/s | p99 ms | bare req/s | bare p99 ms | GraphQL overhead (bare/GraphQL req/s) | target ≥1,000 req/s | target ≤2× | answers found/sent (GraphQL, bare) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for eng, e in engines.items():
            if "lookup_graphql" not in e:
                continue
            g, b = e["lookup_graphql"], e["lookup_bare"]
            ratio = b["rps"] / g["rps"]
            out.append(f"| {NAMES[eng]} | {g['rps']:.0f} | {g['p99_ms']:.0f} | {b['rps']:.0f} | {b['p99_ms']:.0f} | "
                       f"{ratio:.2f}× | {_ok(g['rps'] >= 1000)} | {_ok(ratio <= 2)} | {_found(g)}, {_found(b)} |")
            if "lookup_graphql_fixed" in e:
                f = e["lookup_graphql_fixed"]
                out.append(f"| {NAMES[eng]}, recommended schema fix (variant, not shipped) | {f['rps']:.0f} | {f['p99_ms']:.0f} | "
                           f"{b['rps']:.0f} | {b['p99_ms']:.0f} | {b['rps'] / f['rps']:.2f}× | {_ok(f['rps'] >= 1000)} | {_ok(b['rps'] / f['rps'] <= 2)} | {_found(f)} |")
        out.append("")
    if r.get("pdf"):
        out += ["### PDF: our renderer vs satcfdi `render.pdf_bytes`, same stamped CFDI, one process", "",
                "| lines | ours ms | satcfdi ms | speedup | target |", "|---|---|---|---|---|"]
        for lines, x in r["pdf"].items():
            target = _ok(x["speedup"] >= 10) if str(lines) == "1" else "–"
            out.append(f"| {lines} | {x['ours_ms']:.0f} | {x['satcfdi_ms']:.0f} | {x['speedup']:.1f}× | {target} |")
        out.append("")
    if any("scale" in e for e in engines.values()):
        out += ["### Scale: latency at concurrency 1, large table vs small table", "",
                "| engine | request | small | p50 ms | p99 ms | large | p50 ms | p99 ms | ratio p50 (large/small) | ratio p99 | target ≤1.5× |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for eng, e in engines.items():
            sc = e.get("scale")
            if not sc or len(sc) < 2:
                continue
            sizes = sorted(sc, key=int)
            lo, hi = sc[sizes[0]], sc[sizes[-1]]
            for what, label in (("ticket", "`ticket`"), ("sales_page", "first `sales` page (50)")):
                a, b = lo[what], hi[what]
                rp50, rp99 = b["p50_ms"] / a["p50_ms"], b["p99_ms"] / a["p99_ms"]
                out.append(f"| {NAMES[eng]} | {label} | {_n(int(sizes[0]))} | {a['p50_ms']:.1f} | {a['p99_ms']:.1f} | "
                           f"{_n(int(sizes[-1]))} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {rp50:.2f}× | {rp99:.2f}× | {_ok(rp50 <= 1.5)} |")
            seeds = ", ".join(f"{_n(int(s))}: {sc[s]['seed']['seconds']:.0f} s" for s in sizes if sc[s]["seed"]["inserted"])
            if seeds:
                out.append(f"| | seeding this run ({seeds}) | | | | | | | | | |")
        out.append("")
    mem_rows = []
    for eng, e in engines.items():
        for mark in e.get("memory_marks", []):
            mem_rows.append(f"| {NAMES[eng]} | {mark['issued']:,} | {mark['hwm_kb'] / 1024:.0f} | {mark['rss_kb'] / 1024:.0f} | "
                            f"{mark['hwm_kb'] / e['memory_start']['hwm_kb']:.2f}× | {mark['children_hwm_kb'] / 1024:.0f} ({mark['children']}) |")
        if "memory_after_issue" in e and not e.get("memory_marks"):
            m = e["memory_after_issue"]
            mem_rows.append(f"| {NAMES[eng]} | {m['issued']:,} | {m['hwm_kb'] / 1024:.0f} | {m['rss_kb'] / 1024:.0f} | "
                            f"{m['hwm_kb'] / e['memory_start']['hwm_kb']:.2f}× | {m['children_hwm_kb'] / 1024:.0f} ({m['children']}) |")
    if mem_rows:
        out += ["### Memory: server peak RSS (VmHWM) after N issued invoices, vs after warm-up", "",
                "| engine | invoices issued | peak RSS MB | RSS now MB | vs warm server | child processes peak MB (count) |",
                "|---|---|---|---|---|---|", *mem_rows, ""]
    return "\n".join(out)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else str(RESULTS / "full.json")
    print(table(json.load(open(path))))
