"""GET /metrics in the Prometheus text format, and the HTTP request metrics (issue 12).

Counters and histograms live in services/kernel/metrics.py. With `serve --workers N` each
worker process has its own; prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
an empty directory shared by the processes of one host, set before they start: `serve`
sets one up itself for --workers > 1) adds them up, so any worker answers the scrape with
the host's totals. The backlogs are read from the database at scrape time
(services/monitoring/backlog.py).
"""
from __future__ import annotations

import hmac
import os
import time
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel import metrics
from services.kernel.container import Services
from services.monitoring.backlog import Backlog, Queue, backlog

UNMATCHED = "unmatched"  # 404s and scanners: one label value, not one per path


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class HttpMetricsMiddleware:
    """Counts each HTTP request by route template, method and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None

    def _template(self, scope: Scope) -> str:
        if self._templates is None:
            templates: dict[int, str] = {}
            for route in getattr(scope.get("app"), "routes", []):
                target = getattr(route, "endpoint", None) or getattr(route, "app", None)
                path = getattr(route, "path", None)
                if target is not None and path is not None:
                    templates.setdefault(id(target), path or "/")
            self._templates = templates
        endpoint = scope.get("endpoint")
        return self._templates.get(id(endpoint), UNMATCHED) if endpoint is not None else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route, method = self._template(scope), scope.get("method", "")
            metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            metrics.HTTP_LATENCY.labels(route=route, method=method).observe(time.perf_counter() - started)


class _BacklogCollector:
    def __init__(self, snapshot: Backlog, now: datetime) -> None:
        self.snapshot, self.now = snapshot, now

    def _queue(self, name: str, what: str, one: str, queue: Queue):
        rows = GaugeMetricFamily(f"autofactura_{name}_backlog", f"{what} waiting to be sent (state=waiting: all "
                                 "pending, state=due: due now)", labels=["state"])
        rows.add_metric(["waiting"], queue.waiting)
        rows.add_metric(["due"], queue.due)
        yield rows
        age = 0.0 if queue.oldest_due is None else max(0.0, (self.now - queue.oldest_due).total_seconds())
        yield GaugeMetricFamily(f"autofactura_{name}_oldest_due_age_seconds",
                                f"How long the oldest due {one} has been due, in seconds (0: none due)", value=age)

    def collect(self):
        yield from self._queue("outbox", "E-mails", "e-mail", self.snapshot.outbox)
        yield from self._queue("webhook", "Webhook deliveries", "webhook delivery", self.snapshot.webhooks)
        if self.snapshot.next_global_due is not None:
            yield GaugeMetricFamily("autofactura_next_global_invoice_due_timestamp_seconds",
                                    "When the next factura global falls due (Unix time)",
                                    value=self.snapshot.next_global_due.timestamp())


def metrics_endpoint(services: Services, token: str):
    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("unauthorized\n", status_code=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        now = datetime.now(UTC)
        per_scrape = CollectorRegistry(auto_describe=False)
        per_scrape.register(_BacklogCollector(await backlog(services, now), now))
        body = generate_latest(process_registry()) + generate_latest(per_scrape)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"})

    return endpoint
