"""HTTP load generator, run as its own process (never inside the server).

    python -m bench.load --url http://127.0.0.1:8000 --requests reqs.json --concurrency 32 [--duration 10 | --once]

reqs.json: a list of {"path", "body" (JSON value), "token" (optional), "method" (POST unless
"GET": then no body)}. With --once every
request is sent exactly once (issuance: one fresh ticket token each); otherwise the list is
cycled for --duration seconds. Keep-alive connections over raw asyncio streams: a few tens
of microseconds of client CPU per request, so the 2-core machine spends its time in the
server. Prints one JSON object: count, errors, seconds, rps, p50/p90/p99/max ms, and a
tally of the `__typename` answers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from urllib.parse import urlsplit

_TYPENAME = re.compile(rb'"__typename":\s*"(\w+)"')


def _encode(host: str, req: dict) -> bytes:
    if req.get("method", "POST") == "GET":
        return f"GET {req['path']} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    body = json.dumps(req["body"]).encode()
    head = [f"POST {req['path']} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
            f"Content-Length: {len(body)}"]
    if req.get("token"):
        head.append(f"Authorization: Bearer {req['token']}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, float]:
    head = await reader.readuntil(b"\r\n\r\n")
    first_byte = time.perf_counter()
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body, first_byte


async def run(url: str, requests: list[dict], concurrency: int, duration: float | None, once: bool,
              timeout: float = 120.0) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    payloads = [_encode(f"{host}:{port}", r) for r in requests]
    latencies: list[float] = []
    firsts: list[float] = []  # time to the end of the response head (first byte, near enough)
    errors: dict[str, int] = {}
    kinds: dict[str, int] = {}
    sample: dict[str, str] = {}
    state = {"next": 0}
    stop_at = None

    def take() -> bytes | None:
        i = state["next"]
        if once:
            if i >= len(payloads):
                return None
        elif time.perf_counter() >= stop_at:
            return None
        state["next"] = i + 1
        return payloads[i % len(payloads)]

    async def worker(n: int) -> None:
        # Each connection is one customer: its own address (X-Forwarded-For, which the bench
        # server trusts from 127.0.0.1), so the per-address lookup throttle sees 64 customers
        # with one request each in flight, not one address with 64 (which it rightly refuses).
        forwarded = f"\r\nX-Forwarded-For: 10.{n // 250}.{n % 250}.{1 + int(time.time()) % 250}\r\n".encode()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (payload := take()) is not None:
                t0 = time.perf_counter()
                try:
                    writer.write(payload.replace(b"\r\n", forwarded, 1))
                    status, body, first_byte = await asyncio.wait_for(_read_response(reader), timeout)
                except Exception as exc:  # noqa: BLE001 - counted, connection renewed
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latencies.append(time.perf_counter() - t0)
                firsts.append(first_byte - t0)
                if status != 200:
                    errors[f"http {status}"] = errors.get(f"http {status}", 0) + 1
                    continue
                m = _TYPENAME.search(body)
                kind = m.group(1).decode() if m else ("errors" if b'"errors"' in body else "data")
                kinds[kind] = kinds.get(kind, 0) + 1
                sample.setdefault(kind, body[:300].decode(errors="replace"))
        finally:
            writer.close()

    started = time.perf_counter()
    stop_at = started + (duration or 0)
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    seconds = time.perf_counter() - started
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "count": len(lat), "errors": errors, "seconds": seconds, "concurrency": concurrency,
        "rps": len(lat) / seconds if seconds else 0.0,
        "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": lat[-1] * 1000 if lat else None,
        "mean_ms": statistics.fmean(lat) * 1000 if lat else None,
        "ttfb_p50_ms": statistics.median(firsts) * 1000 if firsts else None, "kinds": kinds, "samples": sample,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args()
    with open(args.requests) as fh:
        requests = json.load(fh)
    result = asyncio.run(run(args.url, requests, args.concurrency, args.duration, args.once))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
