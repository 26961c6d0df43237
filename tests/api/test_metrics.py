"""GET /metrics (issue 12): Prometheus text that parses, with the requests, stamps and
backlogs this process saw; METRICS_TOKEN; multiprocess mode across `serve --workers 2`."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from persistence.tables import OutboxKind
from services.outbox import service as outbox
from tests.helpers import ROOT, issue, lookup, record


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (the parser refuses
    anything that is not the text format)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(http, **headers) -> dict:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_by_route_template(http):
    before = await scrape(http)
    for _ in range(3):
        assert (await http.get("/health")).status_code == 200
    assert (await http.get("/downloads/nope.xml", params={"token": "x"})).status_code in (403, 404)
    assert (await http.get("/no/such/page")).status_code == 404
    after = await scrape(http)
    name = "autofactura_http_requests_total"
    assert value(after, name, route="/health", method="GET", status="200") - \
        value(before, name, route="/health", method="GET", status="200") == 3
    # The template, not the path: one series for every download.
    assert any(labels == (("method", "GET"), ("route", "/downloads/{public_id:str}.{kind:str}"),
                          ("status", status)) and n == name for (n, labels) in after for status in ("403", "404"))
    assert value(after, name, route="unmatched", method="GET", status="404") >= 1
    assert value(after, "autofactura_http_request_duration_seconds_count", route="/health", method="GET") >= 3


async def test_stamps_by_outcome_and_backlogs(merchant, gql, http, services):
    row, client = merchant
    before = await scrape(http)
    await record(client, "M-1")
    ticket = await lookup(gql, row, "M-1")
    assert (await issue(gql, ticket["ticketToken"]))["__typename"] == "InvoiceIssued"
    async with services.uow_factory(write=True) as uow:
        await outbox.enqueue(uow, OutboxKind.TICKET, "cliente@example.com", 1)
        await uow.commit()
    after = await scrape(http)
    issued = ("autofactura_stamps_total", dict(kind="invoice", outcome="issued"))
    assert value(after, issued[0], **issued[1]) - value(before, issued[0], **issued[1]) == 1
    # Read from the database at scrape time: the message queued above (and the invoice's own
    # e-mail, if the customer gave one and it is still unsent) are waiting.
    assert value(after, "autofactura_outbox_backlog", state="waiting") >= 1
    assert value(after, "autofactura_outbox_backlog", state="due") >= 1
    assert value(after, "autofactura_webhook_backlog", state="waiting") == 0
    assert ("autofactura_outbox_oldest_due_age_seconds", ()) in after


async def test_metrics_token(settings, services):
    settings.metrics_token = "m" * 40
    app = create_app(settings, services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert "autofactura_http_requests_total" in {n for n, _ in await scrape(http, Authorization="Bearer " + "m" * 40)}


@pytest.mark.slow
def test_serve_with_two_workers_adds_up_their_counters(tmp_path):
    """`serve --workers 2` (multiprocess mode: a directory shared by the two processes): the
    scrape, answered by either worker, counts the requests both answered."""
    env = {**os.environ, "ENV": "development", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
           "VAR_DIR": str(tmp_path / "var"), "JWT_SECRET": "j" * 48, "ENCRYPTION_SECRET": "k" * 48,
           "PDF_WORKERS": "1", "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "text"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve sets one up under VAR_DIR
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(set(re.findall(r"Started server process \[(\d+)\]", (tmp_path / "serve.log").read_text()))) < 2 \
                or "Application startup complete" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        requests = 40
        for _ in range(requests):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
    found = samples(text)
    assert value(found, "autofactura_http_requests_total", route="/health", method="GET", status="200") == requests
    files = list((tmp_path / "var" / "prometheus").glob("*.db"))
    assert len({re.sub(r"\D", "", f.name) for f in files}) >= 2, files  # one set of files per worker process


def test_worker_serves_its_metrics(tmp_path):
    """`worker --metrics-port 0`: the stamps and PAC calls the worker makes, for Prometheus
    (it serves no other HTTP)."""
    env = {**os.environ, "ENV": "development", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
           "VAR_DIR": str(tmp_path / "var"), "JWT_SECRET": "j" * 48, "ENCRYPTION_SECRET": "k" * 48,
           "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = (tmp_path / "worker.out").open("w+")
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--every", "3600", "--metrics-port", "0"],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"http://127\.0\.0\.1:(\d+)/metrics", (tmp_path / "worker.out").read_text())):
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.out").read_text()
            time.sleep(0.2)
        text = httpx.get(found.group(0), timeout=30).text
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        out.close()
    families = {family.name for family in text_string_to_metric_families(text)}
    assert {"autofactura_stamps", "autofactura_pac_call_duration_seconds"} <= families, families
