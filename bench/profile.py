"""Profile the server under load with py-spy (sampling, from outside the process).

    python -m bench.profile lookup|bare|issue [--engine sqlite|pg] [--seconds 15]

Starts the bench server, runs the load from bench/load.py, records with
`py-spy record --format raw` (collapsed stacks, with idle frames dropped) and prints where
the samples fall: by library (inclusive) and the hottest functions (own and inclusive).
The raw stacks and a speedscope file are left in bench/.data/profile-<what>-<engine>.*.
Needs py-spy (`pip install py-spy`; bench.sh installs it) and ptrace rights (root here).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from bench import seed
from bench.common import CUSTOMER, DATA, ISSUE_Q, PY, TICKET_Q, Server, main_url
from bench.run import _tokens, gql, load

GROUPS = [
    ("strawberry/graphql-core", ("strawberry/", "graphql/")),
    ("sqlalchemy", ("sqlalchemy/",)),
    ("aiosqlite/sqlite3", ("aiosqlite/", "sqlite3/")),
    ("asyncpg", ("asyncpg/",)),
    ("uvicorn/h11/starlette", ("uvicorn/", "h11/", "starlette/")),
    ("jwt/cryptography", ("jwt/", "cryptography/")),
    ("satcfdi", ("satcfdi/",)),
    ("lxml", ("lxml",)),
    ("services/cfdi", ("services/cfdi/",)),
    ("services/stamping", ("services/stamping/",)),
    ("pydantic/sqlmodel", ("pydantic", "sqlmodel/")),
    ("asyncio", ("asyncio/",)),
]


# Leaves where a thread waits (py-spy cannot always tell a C-level wait from work):
# aiosqlite's per-connection thread blocked in SimpleQueue.get, idle executor threads,
# the event loop's selector.
IDLE = ("_connection_worker_thread (aiosqlite/core.py:59)", "Condition.wait", "_worker (concurrent/futures/thread.py:81)",
        "Selector.select", "SimpleQueue.get", "thread (")


def summarize(raw: Path, top: int = 25) -> str:
    total = 0
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    groups: collections.Counter = collections.Counter()
    threads: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        n = int(n)
        frames = stack.split(";")
        if frames and any(x in frames[-1] for x in IDLE):
            continue
        total += n
        threads[frames[0].split(" ")[0] if frames else "?"] += n
        seen_f, seen_g = set(), set()
        for f in frames[1:]:
            if f not in seen_f:
                inclusive[f] += n
                seen_f.add(f)
            for name, needles in GROUPS:
                if name not in seen_g and any(x in f for x in needles):
                    groups[name] += n
                    seen_g.add(name)
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} busy samples, all threads (waits dropped)", "", "by library (inclusive, % of non-idle samples):"]
    lines += [f"  {v / total:6.1%}  {k}" for k, v in groups.most_common()]
    lines += ["", "hottest functions (own time):"]
    lines += [f"  {v / total:6.1%}  {k}" for k, v in own.most_common(top)]
    lines += ["", "hottest functions (inclusive):"]
    lines += [f"  {v / total:6.1%}  {k}" for k, v in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "summarize":
        print(summarize(Path(sys.argv[2])))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["lookup", "bare", "issue"])
    ap.add_argument("--engine", default="sqlite", choices=["sqlite", "pg"])
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--invoices", type=int, default=600)
    args = ap.parse_args()
    url = main_url(args.engine)
    m = seed.prepare(url)
    seed.bulk_sales(url, m["id"], "LK-", 2000)
    prefix = f"P{int(time.time())}-"
    if args.what == "issue":
        seed.bulk_sales(url, m["id"], prefix, args.invoices)
    raw = DATA / f"profile-{args.what}-{args.engine}.txt"
    with Server(url, log=DATA / "server-profile.log") as server:
        base, company = server.base, m["company_number"]
        if args.what == "issue":
            tokens = asyncio.run(_tokens(base, company, [f"{prefix}{i:07d}" for i in range(args.invoices)]))
            reqs, conc, once = [gql(ISSUE_Q, {"input": {"customer": CUSTOMER}}, t) for t in tokens], 32, True
        elif args.what == "lookup":
            reqs = [gql(TICKET_Q, {"companyNumber": company, "reference": f"LK-{i:07d}", "total": "1160.00"}) for i in range(2000)]
            conc, once = 64, False
        else:
            reqs = [{"path": "/bench/ticket", "body": {"c": company, "r": f"LK-{i:07d}", "t": "1160.00"}} for i in range(2000)]
            conc, once = 64, False
        load(base, reqs[:200] if not once else [gql(TICKET_Q, {"companyNumber": company, "reference": "LK-0000001", "total": "1160.00"})] * 100, 8, once=True)
        spy = subprocess.Popen([str(Path(PY).parent / "py-spy"), "record", "--pid", str(server.proc.pid), "--format", "raw",
                                "--output", str(raw), "--rate", "200", "--duration", str(int(args.seconds)), "--threads"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        result = load(base, reqs, conc, duration=args.seconds - 2, once=once)
        spy.wait()
    print(json.dumps({k: result[k] for k in ("count", "rps", "p50_ms", "p99_ms", "kinds")}))
    print(summarize(raw))


if __name__ == "__main__":
    main()
