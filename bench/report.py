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
    out.append(f"Load average (1 min) at start {r.get('loadavg_start', ['?'])[0]}, at end {r.get('loadavg_end', ['?'])[0]}.")
    out.append("")
    issues = {eng: e["issue"] for eng, e in engines.items() if "issue" in e}
    if cfdi and issues:
        floor = cfdi["floor_per_s"]
        out += ["### Issuance: `issueInvoice` over HTTP (PAC emulator in its own process) vs satcfdi build+sign+XSD floor", "",
                "| engine | workers | concurrency | invoices/s | p50 ms | p99 ms | floor invoices/s | ratio | ok/sent | target | status |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for eng, e in issues.items():
            need = 0.4 if eng == "pg" else 0.25
            c1 = e.get("issue_c1")
            for key, conc in (("issue_c1", 1), ("issue_c32", 32)):
                x = e[key]
                ok = x["kinds"].get("InvoiceIssued", 0)
                if conc == 1:
                    target, status = "–", "–"
                else:
                    p99 = eng != "pg" or x["p99_ms"] < 500
                    target = f"≥{need}×" + (", p99<500" if eng == "pg" else "") + ", ≥ c1"
                    status = _ok(x["rps"] / floor >= need and p99 and ok == x["count"] and x["rps"] >= c1["rps"])
                out.append(f"| {NAMES[eng]} | {e['workers']} | {conc} | {x['rps']:.1f} | {x['p50_ms']:.0f} | {x['p99_ms']:.0f} | "
                           f"{floor:.0f} | {x['rps'] / floor:.3f}× | {ok}/{x['count']} | {target} | {status} |")
        cpu_rows = [(eng, conc, e[key]["cpu_ms_per_invoice"]) for eng, e in issues.items()
                    for key, conc in (("issue_c1", 1), ("issue_c32", 32)) if "cpu_ms_per_invoice" in e.get(key, {})]
        if cpu_rows:
            out += ["", "CPU per issued invoice (ms, /proc: user + system, the process and its children) — the "
                    "2 cores are shared by all of them:", "",
                    "| engine | concurrency | our server | PAC emulator | PostgreSQL | satcfdi floor |", "|---|---|---|---|---|---|"]
            for eng, conc, c in cpu_rows:
                out.append(f"| {NAMES[eng]} | {conc} | {c['server']:.1f} | {c['pac_emulator']:.1f} | "
                           f"{c['postgres']:.1f} | {cfdi['floor_ms']:.1f} |")
        out += ["", f"Floor detail (ms per invoice, one process): satcfdi build+sign {cfdi['satcfdi_build_sign_ms']:.2f}, "
                f"floor with XSD compiled once {cfdi['floor_ms']:.2f}, satcfdi `to_xml(validate=True)` "
                f"{cfdi['satcfdi_to_xml_validate_true_ms']:.0f} (recompiles the XSD); our engine "
                f"{cfdi['engine_ms']:.2f} ({cfdi['engine_ms'] / cfdi['floor_ms']:.1f}× the floor).", ""]
    lookups = {eng: e["lookup"] for eng, e in engines.items() if "lookup" in e}
    lookups.update({f"{eng}+redis": e["lookup_redis"] for eng, e in engines.items() if "lookup_redis" in e})
    if lookups:
        out += ["### Lookup: `ticket` at concurrency 64 vs floors in the same server, interleaved", "",
                "| engine | workers | GraphQL req/s | p99 ms | ORM route req/s | raw-driver floor req/s | plain JSON req/s | GraphQL ÷ raw floor | target | status | found/sent (GraphQL) |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for eng, e in lookups.items():
            x = e["lookup"]
            g, o, f, j = x["graphql"], x["orm_route"], x["raw_floor"], x["plain_json"]
            need = 0.5 if eng.startswith("pg") else 0.4
            ratio = g["rps"] / f["rps"]
            name = NAMES[eng.split("+")[0]] + (", throttle in Redis" if eng.endswith("+redis") else "")
            out.append(f"| {name} | {e['workers']} | {g['rps']:.0f} | {g['p99_ms']:.0f} | {o['rps']:.0f} | {f['rps']:.0f} | "
                       f"{j['rps']:.0f} | {ratio:.2f}× | ≥{need}×, p99<100 | {_ok(ratio >= need and g['p99_ms'] < 100)} | {_found(g)} |")
        out.append("")
    layers = {eng: e["lookup"]["cpu_layers"] for eng, e in engines.items() if "cpu_layers" in e.get("lookup", {})}
    if layers:
        out += ["Where a lookup's CPU goes: ms per request in one process, no network, sequential (bench/inprocess.py; "
                "uvicorn's HTTP parsing, about 0.1 ms, comes on top of each):", "",
                "| engine | plain JSON | raw-driver floor | GraphQL `{ __typename }` | lookup service alone | GraphQL lookup | "
                "GraphQL executing the selection | lookup ÷ floor (CPU) |", "|---|---|---|---|---|---|---|---|"]
        for eng, c in layers.items():
            executing = c["graphql_lookup"] - c["lookup_service"] - c["graphql_typename"]
            out.append(f"| {NAMES[eng]} | {c['plain_json']:.3f} | {c['raw_floor']:.3f} | {c['graphql_typename']:.3f} | "
                       f"{c['lookup_service']:.3f} | {c['graphql_lookup']:.3f} | {executing:.3f} | "
                       f"{c['raw_floor'] / c['graphql_lookup']:.2f}× |")
        out.append("")
    pages = {eng: e["issue"]["pages"] for eng, e in engines.items() if "pages" in e.get("issue", {})}
    if pages:
        out += ["### Portal page and stored PDF vs a static file of the same bytes, same server, concurrency 8, interleaved", "",
                "| engine | what | req/s | first byte p50 ms | static req/s | static first byte p50 ms | ratio (req/s) | target ≥0.5× |",
                "|---|---|---|---|---|---|---|---|"]
        for eng, x in pages.items():
            for what, floor_key, label in (("portal_page", "static_page", "portal page"), ("pdf_download", "static_pdf", "stored PDF")):
                a, b = x[what], x[floor_key]
                ratio = a["rps"] / b["rps"]
                out.append(f"| {NAMES[eng]} | {label} | {a['rps']:.0f} | {a['ttfb_p50_ms']:.1f} | {b['rps']:.0f} | "
                           f"{b['ttfb_p50_ms']:.1f} | {ratio:.2f}× | {_ok(ratio >= 0.5)} |")
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
        mem = e.get("memory")
        for mark in (mem or {}).get("marks", []):
            mem_rows.append(f"| {NAMES[eng]} | {mark['issued']:,} | {mark['hwm_kb'] / 1024:.0f} | {mark['rss_kb'] / 1024:.0f} | "
                            f"{mark['hwm_kb'] / mem['start']['hwm_kb']:.2f}× | {mark['children_hwm_kb'] / 1024:.0f} ({mark['children']}) |")
    if mem_rows:
        out += ["### Memory per worker: peak RSS (VmHWM) of one worker after N issued invoices, vs after warm-up", "",
                "| engine | invoices issued | peak RSS MB | RSS now MB | vs warm worker | child processes peak MB (count) |",
                "|---|---|---|---|---|---|", *mem_rows, ""]
    return "\n".join(out)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else str(RESULTS / "full.json")
    print(table(json.load(open(path))))
