"""CPU per ticket lookup, layer by layer, in one process with no network (issue 16).

    python -m bench.inprocess sqlite|pg [--n 2000]   (prints JSON)

The HTTP figures of bench/run.py say how far GraphQL is from the raw-driver floor; this
says where the difference goes. Each subject runs N times in a row through the bench
app's ASGI callable (bench.server: the product's app plus the floor routes), so no load
generator, socket or second process shares the measurement, and the figure is CPU time
of this process (`time.process_time`: aiosqlite's threads included), not wall time:

- `plain_json`: POST /bench/json, Starlette and our middleware, no database;
- `raw_floor`: POST /bench/raw-ticket, the ticket read as one query through the driver;
- `graphql_typename`: POST /graphql `{ __typename }`, the GraphQL pipeline with nothing
  to resolve;
- `lookup_service`: services.portal.lookup.lookup_ticket called directly (the ticket read
  and the throttle count in one statement, the policy, the ticket token), no HTTP, no
  GraphQL;
- `graphql_lookup`: POST /graphql TicketLookup, the whole product path.

So `graphql_lookup - lookup_service - graphql_typename` is what graphql-core and
Strawberry spend executing the lookup's selection (variables, the union, 15 fields), and
`lookup_service - raw_floor + plain_json` what the product's lookup does beyond the
floor's one read. Every request comes from its own client address, as in the HTTP run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from decimal import Decimal

from bench.common import TICKET_Q, main_url, server_env


async def _call(app, path: str, body: bytes, client: str) -> bytes:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": (client, 40000), "server": ("127.0.0.1", 80)}
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    out: list[bytes] = []

    async def send(message):
        if message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(out)


def _client(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


async def measure(n: int, rounds: int) -> dict:
    from bench.server import app, raw

    try:
        return await _measure(app, n, rounds)
    finally:
        # aiosqlite's connection threads would keep the process alive past its answer.
        await raw.close()
        await app.state.services.engine.dispose()


async def _measure(app, n: int, rounds: int) -> dict:
    from bench import seed
    from services.portal.lookup import lookup_ticket

    engine_url = os.environ["DATABASE_URL"]
    company = (await seed._merchant(engine_url))["company_number"]
    services = app.state.services
    refs = [f"LK-{i:07d}" for i in range(2000)]

    def lookup_body(i: int) -> bytes:
        return json.dumps({"query": TICKET_Q, "variables": {
            "companyNumber": company, "reference": refs[i % len(refs)], "total": "1160.00"}}).encode()

    def floor_body(i: int) -> bytes:
        return json.dumps({"c": company, "r": refs[i % len(refs)], "t": "1160.00"}).encode()

    typename = json.dumps({"query": "{ __typename }"}).encode()
    offset = int(time.time()) % 1000 * 1000  # fresh client addresses on each run
    subjects = {
        "plain_json": lambda i: _call(app, "/bench/json", floor_body(i), _client(offset + i)),
        "raw_floor": lambda i: _call(app, "/bench/raw-ticket", floor_body(i), _client(offset + i)),
        "graphql_typename": lambda i: _call(app, "/graphql", typename, _client(offset + i)),
        "lookup_service": lambda i: lookup_ticket(services, company, refs[i % len(refs)], Decimal("1160.00"),
                                                  _client(offset + n * rounds + i)),
        "graphql_lookup": lambda i: _call(app, "/graphql", lookup_body(i), _client(offset + 2 * n * rounds + i)),
    }
    first = await _call(app, "/graphql", lookup_body(0), "10.255.255.1")
    assert b"InvoiceableTicket" in first, first[:300]
    for subject in subjects.values():  # warm every path once
        await subject(n * rounds * 3)
    samples: dict[str, list[float]] = {k: [] for k in subjects}
    for r in range(rounds):  # interleaved, so a noisy moment falls on all alike
        for name, subject in subjects.items():
            body = [subject(r * n + i) for i in range(n)]
            start = time.process_time()
            for call in body:
                await call
            samples[name].append((time.process_time() - start) * 1000 / n)
    return {name: round(sorted(v)[len(v) // 2], 4) for name, v in samples.items()}  # ms, median round


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", choices=["sqlite", "pg"])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.update(server_env(main_url(args.engine)))
    os.environ["FORWARDED_ALLOW_IPS"] = ""  # the ASGI scope's client address is the client
    result = asyncio.run(measure(args.n, args.rounds))
    json.dump({"engine": args.engine, "n": args.n, "rounds": args.rounds, "cpu_ms": result}, sys.stdout)


if __name__ == "__main__":
    main()
