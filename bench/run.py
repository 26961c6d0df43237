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
from bench.common import (CUSTOMER, ISSUE_Q, LOGIN_Q, PY, ROOT, SALES_Q, TICKET_Q, DATA, Server, cpu_seconds, main_url,
                          save, scale_url, server_env)

QUICK = dict(lookup_s=6, pages_s=3, issue_c1=40, issue_c32=300, memory=[], scale=[10_000, 100_000], scale_n=200,
             pdf_runs=2, cfdi_n=100, layers_n=1000)
FULL = dict(lookup_s=15, pages_s=6, issue_c1=200, issue_c32=2000, memory=[1000, 2000, 5000, 10_000],
            scale=[10_000, 1_000_000], scale_n=1000, pdf_runs=5, cfdi_n=300, layers_n=3000)


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
        async def one(i, ref):
            async with sem:
                # One client address per ticket (the server trusts X-Forwarded-For from 127.0.0.1).
                r = await client.post("/graphql", json={"query": TICKET_Q, "variables": {"companyNumber": company, "reference": ref, "total": "1160.00"}},
                                      headers={"X-Forwarded-For": f"10.200.{i // 250 % 250}.{i % 250 + 1}"})
                t = r.json()["data"]["ticket"]
                assert t["__typename"] == "InvoiceableTicket", t
                return t["ticketToken"]
        return await asyncio.gather(*(one(i, r) for i, r in enumerate(refs)))


def _login(base: str, m: dict) -> str:
    r = httpx.post(base + "/graphql", json={"query": LOGIN_Q, "variables": {"email": m["email"], "password": m["password"]}}, timeout=60)
    return r.json()["data"]["login"]["token"]


def _summary(r: dict) -> dict:
    return {k: r[k] for k in ("count", "rps", "p50_ms", "p99_ms", "errors", "kinds", "concurrency", "seconds")}


class PacEmulator:
    """`autofactura pac emulate --kind finkok --port 0` in its own process: the PAC's work
    (XSD, seal check, TFD signature) is not in our figure, as with a real PAC."""

    def __enter__(self) -> "PacEmulator":
        out = open(DATA / "pac-emulator.log", "ab")
        self.proc = subprocess.Popen([PY, "-m", "api.cli", "pac", "emulate", "--kind", "finkok", "--port", "0",
                                      "--state-dir", str(DATA / "pac-emulator")],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=out, text=True)
        line = self.proc.stdout.readline()
        self.url = line.split("PAC_URL=")[1].strip()
        self.env = {"PAC": "finkok", "PAC_URL": self.url, "PAC_USERNAME": "demo@example.com",
                    "PAC_PASSWORD": "demo-password"}
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _merge(parts: list[dict]) -> dict:
    """Rounds of one subject, interleaved with the others': summed counts and seconds; p50 the
    median of the rounds', p99 the worst round's (conservative)."""
    count = sum(p["count"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    kinds: dict = {}
    errors: dict = {}
    for p in parts:
        for k, v in p["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + v
    p50 = sorted(p["p50_ms"] for p in parts)[len(parts) // 2]
    ttfb = sorted(p.get("ttfb_p50_ms") or 0 for p in parts)[len(parts) // 2]
    return {"count": count, "seconds": seconds, "rps": count / seconds if seconds else 0.0, "p50_ms": p50,
            "p99_ms": max(p["p99_ms"] for p in parts), "ttfb_p50_ms": ttfb, "errors": errors, "kinds": kinds,
            "concurrency": parts[0]["concurrency"], "rounds": len(parts)}


def interleaved(base: str, subjects: dict[str, list[dict]], concurrency: int, seconds: float, rounds: int = 3) -> dict:
    """Each subject for seconds/rounds, round-robin, so the shared machine's load falls on all alike."""
    parts: dict[str, list] = {k: [] for k in subjects}
    for _ in range(rounds):
        for name, reqs in subjects.items():
            parts[name].append(load(base, reqs, concurrency, duration=seconds / rounds))
    return {name: _merge(p) for name, p in parts.items()}


def _loadavg() -> list[float]:
    return [round(x, 2) for x in __import__("os").getloadavg()]


def lookup(engine: str, cfg: dict, workers: int, redis_url: str | None = None) -> dict:
    """GraphQL `ticket` beside its floors, one server, interleaved; then the portal page and
    a stored PDF beside the same server's static files."""
    url = main_url(engine)
    m = seed.prepare(url)
    seed.bulk_sales(url, m["id"], "LK-", 2000, log=log)
    out: dict = {"workers": workers, "loadavg_before": _loadavg(), "throttle": "redis" if redis_url else "database"}
    env = {"REDIS_URL": redis_url} if redis_url else None
    with Server(url, log=DATA / f"server-{engine}.log", workers=workers, env=env) as server:
        base, company = server.base, m["company_number"]
        refs = [f"LK-{i:07d}" for i in range(2000)]
        body = lambda r: {"c": company, "r": r, "t": "1160.00"}  # noqa: E731
        subjects = {
            "graphql": [gql(TICKET_Q, {"companyNumber": company, "reference": r, "total": "1160.00"}) for r in refs],
            "orm_route": [{"path": "/bench/ticket", "body": body(r)} for r in refs],
            "raw_floor": [{"path": "/bench/raw-ticket", "body": body(r)} for r in refs],
            "plain_json": [{"path": "/bench/json", "body": body(r)} for r in refs],
        }
        for reqs in subjects.values():
            load(base, reqs[:300], 8, once=True)  # warm-up: caches, pools, first queries
        out["memory_start"] = server.memory()
        log(f"[{engine}] lookup, concurrency 64, interleaved: GraphQL, ORM route, raw-driver floor, plain JSON")
        out["lookup"] = interleaved(base, subjects, 64, cfg["lookup_s"])
        out["memory_end"] = server.memory()
    out["loadavg_after"] = _loadavg()
    if redis_url is None:
        out["cpu_layers"] = lookup_layers(engine, cfg)
    return out


def lookup_layers(engine: str, cfg: dict) -> dict:
    """CPU per lookup layer by layer, in one process without a network (bench/inprocess.py)."""
    log(f"[{engine}] lookup CPU by layer, in process")
    r = subprocess.run([PY, "-m", "bench.inprocess", engine, "--n", str(cfg["layers_n"])], cwd=ROOT,
                       capture_output=True, text=True, check=True, env=server_env(main_url(engine)), timeout=900)
    return json.loads(r.stdout)["cpu_ms"]


def issue(engine: str, cfg: dict, workers: int) -> dict:
    url = main_url(engine)
    m = seed.prepare(url)
    n_issue = cfg["issue_c1"] + cfg["issue_c32"] + 1
    prefix = f"I{int(time.time())}-"
    out: dict = {"workers": workers, "loadavg_before": _loadavg()}
    out["seed_issue"] = seed.bulk_sales(url, m["id"], prefix, n_issue, log=log)
    with PacEmulator() as pac, Server(url, log=DATA / f"server-issue-{engine}.log", workers=workers, env=pac.env) as server:
        base, company = server.base, m["company_number"]
        out["pac"] = "finkok emulator, own process"
        issued = 0
        for name, conc, n in [("issue_c1", 1, cfg["issue_c1"]), ("issue_c32", 32, cfg["issue_c32"])]:
            refs_i = [f"{prefix}{i:07d}" for i in range(issued, issued + n)]
            log(f"[{engine}] {n} ticket tokens, then issuing at concurrency {conc} ({workers} workers)")
            tokens = asyncio.run(_tokens(base, company, refs_i))
            reqs = [gql(ISSUE_Q, {"input": {"customer": CUSTOMER}}, t) for t in tokens]
            pids = {"server": server.proc.pid, "pac_emulator": pac.proc.pid}
            before = cpu_seconds(pids)
            out[name] = _summary(load(base, reqs, conc, once=True))
            after = cpu_seconds(pids)
            done = max(1, out[name]["kinds"].get("InvoiceIssued", 0))
            # CPU per invoice of each process group: on 2 shared cores the PAC emulator's and
            # PostgreSQL's CPU comes out of the same budget as ours.
            out[name]["cpu_ms_per_invoice"] = {g: round((after[g] - before[g]) * 1000 / done, 2) for g in after}
            issued += n
        # One more invoice: its stored PDF and the portal page against static files of the same size.
        token = asyncio.run(_tokens(base, company, [f"{prefix}{issued:07d}"]))[0]
        r = httpx.post(base + "/graphql", json={"query": ISSUE_Q, "variables": {"input": {"customer": CUSTOMER}}},
                       headers={"Authorization": f"Bearer {token}"}, timeout=120).json()
        pdf_url = r["data"]["issueInvoice"]["invoice"]["pdfUrl"]
        pdf_path = pdf_url[pdf_url.index("/downloads/"):]
        pdf = httpx.get(base + pdf_path, timeout=120)  # renders and stores it
        assert pdf.status_code == 200, pdf.text[:200]
        floor_dir = DATA / "static-floor"
        floor_dir.mkdir(parents=True, exist_ok=True)
        (floor_dir / "invoice.pdf").write_bytes(pdf.content)
        page = httpx.get(base + "/" + company, timeout=60)
        (floor_dir / "index.html").write_bytes(page.content)
        get = lambda p: [{"path": p, "method": "GET"}]  # noqa: E731
        subjects = {"portal_page": get("/" + company), "static_page": get("/bench/static/index.html"),
                    "pdf_download": get(pdf_path), "static_pdf": get("/bench/static/invoice.pdf")}
        for reqs in subjects.values():
            load(base, reqs * 50, 4, once=True)
        log(f"[{engine}] portal page and stored PDF vs static files, concurrency 8, interleaved")
        out["pages"] = interleaved(base, subjects, 8, cfg["pages_s"])
        out["pdf_bytes"] = len(pdf.content)
        out["memory_after_issue"] = {"issued": issued + 1, **server.memory()}
    out["loadavg_after"] = _loadavg()
    return out


def memory(engine: str, cfg: dict) -> dict:
    """Peak RSS per worker process after N issued invoices (one worker, so the process measured is the worker)."""
    url = main_url(engine)
    m = seed.prepare(url)
    top = max(cfg["memory"])
    prefix = f"M{int(time.time())}-"
    seed.bulk_sales(url, m["id"], prefix, top, log=log)
    marks = []
    with PacEmulator() as pac, Server(url, log=DATA / f"server-mem-{engine}.log", workers=1, env=pac.env) as server:
        base, company = server.base, m["company_number"]
        load(base, [gql(TICKET_Q, {"companyNumber": company, "reference": "LK-0000001", "total": "1160.00"})] * 100, 4, once=True)
        start = server.memory()
        issued = 0
        for mark in cfg["memory"]:
            refs_i = [f"{prefix}{i:07d}" for i in range(issued, mark)]
            log(f"[{engine}] memory: issuing up to {mark}")
            tokens = asyncio.run(_tokens(base, company, refs_i))
            r = load(base, [gql(ISSUE_Q, {"input": {"customer": CUSTOMER}}, t) for t in tokens], 32, once=True)
            issued = mark
            marks.append({"issued": mark, "rps": r["rps"], "p99_ms": r["p99_ms"],
                          "ok": r["kinds"].get("InvoiceIssued", 0), **server.memory()})
            log(f"   {marks[-1]}")
    return {"start": start, "marks": marks}


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
    ap.add_argument("--workers", type=int, default=2,
                    help="uvicorn workers for lookup and issuance (issue 16's targets: `serve --workers 2`); "
                         "the memory phase always runs one worker, so its figure is per worker")
    ap.add_argument("--lookup-redis", default=None, metavar="REDIS_URL",
                    help="run the lookup phase a second time with the throttle counters in this Redis")
    args = ap.parse_args()
    cfg = FULL if args.full else QUICK
    only = set(args.only.split(","))
    engines = ["pg" if e.startswith("p") else "sqlite" for e in args.engines.split(",")]
    DATA.mkdir(parents=True, exist_ok=True)
    results: dict = {"mode": ("full" if args.full else "quick") + (f"-workers{args.workers}" if args.workers != 2 else ""),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S"), "config": cfg, "engines": {}, "loadavg_start": _loadavg()}
    if "cfdi" in only or "issue" in only:
        results["cfdi"] = cfdi(cfg)
    for engine in engines:
        e = results["engines"][engine] = {}
        if "lookup" in only:
            e["lookup"] = lookup(engine, cfg, args.workers)
            if args.lookup_redis:
                e["lookup_redis"] = lookup(engine, cfg, args.workers, args.lookup_redis)
        if "issue" in only:
            e["issue"] = issue(engine, cfg, args.workers)
        if "memory" in only and cfg["memory"]:
            e["memory"] = memory(engine, cfg)
        if "scale" in only:
            e["scale"] = scale(engine, cfg)
    if "pdf" in only:
        results["pdf"] = pdf(cfg)
    results["loadavg_end"] = _loadavg()
    default_only = ap.get_default("only")
    suffix = "" if args.only == default_only else "-" + args.only.replace(",", "-")
    path = save(f"{results['mode']}{suffix}.json", results)
    from bench.report import table

    print(table(results))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
