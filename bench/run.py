"""Run the benchmark and print the table.

    python -m bench.run            # quick: small counts, scale at 10 k and 100 k sales
    python -m bench.run --full     # what BENCHMARKS.md reports: scale at 10 k and 1 M, memory at 10 k invoices
    python -m bench.run --only lookup,issue --engines sqlite

Every figure sits beside the baseline it is divided by, measured in the same run: issuance
against satcfdi's in-process build + sign + XSD floor, GraphQL lookup against a bare
Starlette route in the same server (bench/server.py), our PDF against satcfdi's, and scale
at the large size against the small one. Load comes from bench/load.py in its own process.
Results: bench/results/<quick|full>.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time

import httpx

from bench import seed
from bench.common import (CUSTOMER, ISSUE_Q, LOGIN_Q, PY, ROOT, SALES_Q, TICKET_Q, DATA, Server, main_url,
                          save, scale_url)

QUICK = dict(lookup_s=6, issue_c1=40, issue_c32=400, memory=[], scale=[10_000, 100_000], scale_n=200,
             pdf_runs=2, cfdi_n=100)
FULL = dict(lookup_s=15, issue_c1=200, issue_c32=2000, memory=[1000, 2000, 5000, 10_000],
            scale=[10_000, 1_000_000], scale_n=1000, pdf_runs=5, cfdi_n=300)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load(base: str, reqs: list[dict], concurrency: int, *, duration: float | None = None, once: bool = False) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=DATA, delete=False) as fh:
        json.dump(reqs, fh)
    cmd = [PY, "-m", "bench.load", "--url", base, "--requests", fh.name, "--concurrency", str(concurrency)]
    cmd += ["--once"] if once else ["--duration", str(duration)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["errors"]:
        log("   errors:", result["errors"])
    return result


def gql(query: str, variables: dict, token: str | None = None) -> dict:
    body = {"path": "/graphql", "body": {"query": query, "variables": variables}}
    if token:
        body["token"] = token
    return body


async def _tokens(base: str, company: str, refs: list[str]) -> list[str]:
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        async def one(ref):
            async with sem:
                r = await client.post("/graphql", json={"query": TICKET_Q, "variables": {"companyNumber": company, "reference": ref, "total": "1160.00"}})
                t = r.json()["data"]["ticket"]
                assert t["__typename"] == "InvoiceableTicket", t
                return t["ticketToken"]
        return await asyncio.gather(*(one(r) for r in refs))


def _login(base: str, m: dict) -> str:
    r = httpx.post(base + "/graphql", json={"query": LOGIN_Q, "variables": {"email": m["email"], "password": m["password"]}}, timeout=60)
    return r.json()["data"]["login"]["token"]


def _summary(r: dict) -> dict:
    return {k: r[k] for k in ("count", "rps", "p50_ms", "p99_ms", "errors", "kinds", "concurrency", "seconds")}


def lookup_and_issue(engine: str, cfg: dict, only: set[str], workers: int = 1) -> dict:
    url = main_url(engine)
    m = seed.prepare(url)
    seed.bulk_sales(url, m["id"], "LK-", 2000, log=log)
    out: dict = {}
    n_issue = cfg["issue_c1"] + cfg["issue_c32"]
    extra = max(cfg["memory"] or [0]) - n_issue if "memory" in only and cfg["memory"] else 0
    prefix = f"I{int(time.time())}-"
    if "issue" in only:
        out["seed_issue"] = seed.bulk_sales(url, m["id"], prefix, n_issue + max(0, extra), log=log)
    with Server(url, log=DATA / f"server-{engine}.log", workers=workers) as server:
        base, company = server.base, m["company_number"]
        refs = [f"LK-{i:07d}" for i in range(2000)]
        g_reqs = [gql(TICKET_Q, {"companyNumber": company, "reference": r, "total": "1160.00"}) for r in refs]
        b_reqs = [{"path": "/bench/ticket", "body": {"c": company, "r": r, "t": "1160.00"}} for r in refs]
        load(base, g_reqs[:300], 8, once=True)  # warm-up: caches, pools, first queries
        load(base, b_reqs[:300], 8, once=True)
        out["memory_start"] = server.memory()
        if "lookup" in only:
            log(f"[{engine}] lookup, concurrency 64")
            out["lookup_graphql"] = _summary(load(base, g_reqs, 64, duration=cfg["lookup_s"]))
            out["lookup_bare"] = _summary(load(base, b_reqs, 64, duration=cfg["lookup_s"]))
        if "issue" in only:
            issued = 0
            plan = [("issue_c1", 1, cfg["issue_c1"]), ("issue_c32", 32, cfg["issue_c32"])]
            for name, conc, n in plan:
                refs_i = [f"{prefix}{i:07d}" for i in range(issued, issued + n)]
                log(f"[{engine}] {n} ticket tokens, then issuing at concurrency {conc}")
                tokens = asyncio.run(_tokens(base, company, refs_i))
                reqs = [gql(ISSUE_Q, {"input": {"customer": CUSTOMER}}, t) for t in tokens]
                out[name] = _summary(load(base, reqs, conc, once=True))
                issued += n
            out["memory_after_issue"] = {"issued": issued, **server.memory()}
            if "memory" in only and cfg["memory"]:
                marks = []
                for mark in cfg["memory"]:
                    if mark <= issued:
                        continue
                    refs_i = [f"{prefix}{i:07d}" for i in range(issued, mark)]
                    log(f"[{engine}] memory: issuing up to {mark}")
                    tokens = asyncio.run(_tokens(base, company, refs_i))
                    r = load(base, [gql(ISSUE_Q, {"input": {"customer": CUSTOMER}}, t) for t in tokens], 32, once=True)
                    issued = mark
                    marks.append({"issued": mark, "rps": r["rps"], "p99_ms": r["p99_ms"],
                                  "ok": r["kinds"].get("InvoiceIssued", 0), **server.memory()})
                    log(f"   {marks[-1]}")
                out["memory_marks"] = marks
        out["memory_end"] = server.memory()
    return out


def scale(engine: str, cfg: dict) -> dict:
    out = {}
    for count in cfg["scale"]:
        url = scale_url(engine, count)
        m = seed.prepare(url)
        seeded = seed.bulk_sales(url, m["id"], "S-", count, log=log)
        rnd = random.Random(count)
        refs = [f"S-{rnd.randrange(count):07d}" for _ in range(cfg["scale_n"])]
        with Server(url, log=DATA / f"server-scale-{engine}.log") as server:
            token = _login(server.base, m)
            t_reqs = [gql(TICKET_Q, {"companyNumber": m["company_number"], "reference": r, "total": "1160.00"}) for r in refs]
            p_reqs = [gql(SALES_Q, {"first": 50}, token)]
            load(server.base, t_reqs[:100], 4, once=True)
            load(server.base, p_reqs * 50, 4, once=True)
            log(f"[{engine}] scale {count:,}: ticket and first sales page, concurrency 1")
            out[count] = {"seed": seeded,
                          "ticket": _summary(load(server.base, t_reqs, 1, once=True)),
                          "sales_page": _summary(load(server.base, p_reqs * cfg["scale_n"], 1, once=True))}
    return out


def pdf(cfg: dict) -> dict:
    log("[pdf] ours vs satcfdi, 1/20/300 lines")
    r = subprocess.run([PY, "-m", "bench.pdf_bench", "--runs", str(cfg["pdf_runs"])], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def cfdi(cfg: dict) -> dict:
    log("[cfdi] satcfdi floor and our engine, in one process")
    r = subprocess.run([PY, "-m", "bench.cfdi_baseline", "--n", str(cfg["cfdi_n"])], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--only", default="cfdi,lookup,issue,memory,scale,pdf")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn workers (memory figures then cover the supervisor only)")
    args = ap.parse_args()
    cfg = FULL if args.full else QUICK
    only = set(args.only.split(","))
    engines = ["pg" if e.startswith("p") else "sqlite" for e in args.engines.split(",")]
    DATA.mkdir(parents=True, exist_ok=True)
    results: dict = {"mode": ("full" if args.full else "quick") + (f"-workers{args.workers}" if args.workers > 1 else ""), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                     "config": cfg, "engines": {}}
    if "cfdi" in only or "issue" in only:
        results["cfdi"] = cfdi(cfg)
    for engine in engines:
        e = results["engines"][engine] = {}
        if only & {"lookup", "issue", "memory"}:
            e.update(lookup_and_issue(engine, cfg, only, args.workers))
        if "scale" in only:
            e["scale"] = scale(engine, cfg)
    if "pdf" in only:
        results["pdf"] = pdf(cfg)
    default_only = ap.get_default("only")
    suffix = "" if args.only == default_only else "-" + args.only.replace(",", "-")
    path = save(f"{results['mode']}{suffix}.json", results)
    from bench.report import table

    print(table(results))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
