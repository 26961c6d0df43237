"""The process's Prometheus metrics (issue 12), exposed at GET /metrics (api/metrics.py).

Counters and histograms only: they add up across the processes of `serve --workers N`
through prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, read by
prometheus-client when it is imported). Values that are the state of the database (outbox
and webhook backlogs, the next factura global due) are not kept here: /metrics reads them
at scrape time, so every replica reports the same truth.

Label values are bounded: route templates (not paths), methods, status codes, PAC
operations and outcome codes, document kinds.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "autofactura_http_requests", "HTTP requests answered, by route template, method and status code",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "autofactura_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method",
    ["route", "method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STAMPS = Counter(
    "autofactura_stamps", "Stamping attempts of a CFDI (seal + PAC), by document kind and outcome: "
    "issued, invalid (data the engine refuses), retryable (the PAC or the network failed), rejected "
    "(the PAC refused it)",
    ["kind", "outcome"],
)
PAC_CALLS = Histogram(
    "autofactura_pac_call_duration_seconds", "Duration of each call to the PAC, by operation and outcome code",
    ["operation", "outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)


def stamp_outcome(kind: str, outcome: str) -> None:
    STAMPS.labels(kind=kind, outcome=outcome).inc()


def pac_call(operation: str, outcome: str, duration_ms: int) -> None:
    PAC_CALLS.labels(operation=operation, outcome=outcome[:40]).observe(duration_ms / 1000)
