"""Signed webhooks, on SQLite and PostgreSQL, delivered over real HTTP to a receiver this
test runs on 127.0.0.1: INVOICE_ISSUED arrives signed, a failing receiver gets retries
with the same delivery id, and a receiver that never answers does not hold up issuing."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from persistence.tables import WebhookDeliveryRow, WebhookDeliveryStatus
from services.webhooks import service as webhooks
from services.webhooks.service import check_url
from tests.helpers import CUSTOMER, issue, lookup, operation, record

CREATE = operation("CreateWebhookEndpoint")  # $input
ENDPOINTS = operation("WebhookEndpoints")
DELETE = operation("DeleteWebhookEndpoint")  # $id
RETRY = operation("RetryWebhookDelivery")  # $id
CANCEL = operation("CancelInvoice")  # $input


class Receiver:
    """A real HTTP server: records each request; answers `statuses` in turn (then 200);
    with `hang`, holds every answer until released."""

    def __init__(self, statuses=(), hang=False):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        self.release = threading.Event()
        self.arrived = threading.Event()
        if not hang:
            self.release.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                receiver.arrived.set()
                receiver.release.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


async def settle(services):
    """Wait for the background sends this process started (outbox and webhooks)."""
    while services.mail_tasks:
        await asyncio.gather(*list(services.mail_tasks), return_exceptions=True)


async def subscribe(client, url, *events):
    res = (await client(CREATE, {"input": {"url": url, "events": list(events)}}))["data"]["createWebhookEndpoint"]
    assert res["__typename"] == "WebhookEndpointCreated", res
    return res


def verify(secret: str, request: dict) -> dict:
    """What a receiver does: recompute the signature over t and the raw body."""
    parts = dict(p.split("=", 1) for p in request["headers"]["Autofactura-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    return json.loads(request["body"])


async def deliveries(services) -> list[WebhookDeliveryRow]:
    async with services.uow_factory() as uow:
        return list((await uow.session.execute(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id))).scalars())


async def test_invoice_issued_arrives_signed(gql, merchant, services, receiver):
    row, client = merchant
    hook = receiver()
    created = await subscribe(client, hook.url, "INVOICE_ISSUED", "SALE_RECORDED")
    await record(client, "T-1")
    issued = await issue(gql, (await lookup(gql, row))["ticketToken"], CUSTOMER)
    assert issued["__typename"] == "InvoiceIssued"
    await settle(services)
    bodies = [verify(created["secret"], r) for r in hook.requests]
    assert [b["type"] for b in bodies] == ["sale.recorded", "invoice.issued"]
    invoice = bodies[1]
    assert invoice["data"]["uuid"] == issued["invoice"]["uuid"] and invoice["data"]["total"] == "1160.00"
    assert invoice["data"]["id"] == issued["invoice"]["id"] and invoice["data"]["sandbox"] is True
    assert invoice["id"].startswith("evt_") and invoice["createdAt"].endswith("Z")
    assert hook.requests[1]["headers"]["Autofactura-Delivery"] == invoice["id"]
    listed = (await client(ENDPOINTS))["data"]["webhookEndpoints"][0]["recentDeliveries"]
    assert [(d["event"], d["status"], d["attempts"]) for d in listed] == [
        ("INVOICE_ISSUED", "DELIVERED", 1), ("SALE_RECORDED", "DELIVERED", 1)]


async def test_a_failing_receiver_gets_retries_with_the_same_delivery_id(gql, merchant, services, receiver):
    row, client = merchant
    hook = receiver(statuses=[500, 503])
    created = await subscribe(client, hook.url, "SALE_RECORDED")
    await record(client, "T-9")
    await settle(services)
    [first] = await deliveries(services)
    assert first.status == WebhookDeliveryStatus.PENDING and first.attempts == 1 and first.last_status_code == 500
    assert first.next_attempt_at > datetime.now(UTC)  # backed off: not due again at once
    assert await webhooks.deliver_due(services) == 0  # nothing due yet
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await webhooks.deliver_due(services, now=later) == 0  # 503 this time
    assert await webhooks.deliver_due(services, now=later + timedelta(hours=1)) == 1
    [done] = await deliveries(services)
    assert done.status == WebhookDeliveryStatus.DELIVERED and done.attempts == 3
    ids = {verify(created["secret"], r)["id"] for r in hook.requests}
    bodies = {r["body"] for r in hook.requests}
    assert len(hook.requests) == 3 and ids == {done.public_id} and len(bodies) == 1
    # The merchant may send it again by hand: the same id and body once more.
    again = (await client(RETRY, {"id": done.public_id}))["data"]["retryWebhookDelivery"]
    assert again["__typename"] == "WebhookDelivery"
    await settle(services)
    assert len(hook.requests) == 4 and hook.requests[-1]["body"] in bodies


async def test_gives_up_after_the_last_attempt(merchant, services, receiver):
    _, client = merchant
    hook = receiver(statuses=[500] * webhooks.MAX_ATTEMPTS)
    await subscribe(client, hook.url, "SALE_RECORDED")
    await record(client, "T-2")
    await settle(services)
    at = datetime.now(UTC)
    for _ in range(webhooks.MAX_ATTEMPTS):
        at += timedelta(days=1)
        await webhooks.deliver_due(services, now=at)
    [gone] = await deliveries(services)
    assert gone.status == WebhookDeliveryStatus.FAILED and gone.attempts == webhooks.MAX_ATTEMPTS
    assert len(hook.requests) == webhooks.MAX_ATTEMPTS


async def test_a_receiver_that_never_answers_does_not_hold_up_issuing(gql, merchant, services, receiver):
    row, client = merchant
    hook = receiver(hang=True)
    await subscribe(client, hook.url, "INVOICE_ISSUED")
    await record(client, "T-1")
    issued = await issue(gql, (await lookup(gql, row))["ticketToken"], CUSTOMER)
    # The invoice is issued and answered while the receiver still holds its answer.
    assert issued["__typename"] == "InvoiceIssued"
    assert await asyncio.to_thread(hook.arrived.wait, 30)
    assert not hook.release.is_set()
    [pending] = await deliveries(services)
    assert pending.status == WebhookDeliveryStatus.PENDING and pending.attempts == 0
    hook.release.set()
    await settle(services)
    [done] = await deliveries(services)
    assert done.status == WebhookDeliveryStatus.DELIVERED


async def test_cancellation_events_and_deleted_endpoints(gql, merchant, services, receiver):
    row, client = merchant
    hook = receiver()
    created = await subscribe(client, hook.url, "INVOICE_CANCELLED")
    await record(client, "T-1")
    issued = await issue(gql, (await lookup(gql, row))["ticketToken"], CUSTOMER)
    res = (await client(CANCEL, {"input": {"id": issued["invoice"]["id"], "reason": "02"}}))["data"]["cancelInvoice"]
    assert res["__typename"] == "InvoiceCancelled"
    await settle(services)
    [body] = [verify(created["secret"], r) for r in hook.requests]
    assert body["type"] == "invoice.cancelled" and body["data"]["cancellationReason"] == "02"
    gone = (await client(DELETE, {"id": created["endpoint"]["id"]}))["data"]["deleteWebhookEndpoint"]
    assert gone["__typename"] == "WebhookEndpoint"
    await record(client, "T-3")
    await settle(services)
    assert len(hook.requests) == 1 and (await client(ENDPOINTS))["data"]["webhookEndpoints"] == []


async def test_endpoint_urls_are_checked(merchant):
    _, client = merchant
    bad = (await client(CREATE, {"input": {"url": "ftp://x", "events": []}}))["data"]["createWebhookEndpoint"]
    assert {e["code"] for e in bad["errors"]} == {"URL_INVALID", "EVENTS_REQUIRED"}


@pytest.mark.parametrize("url, code", [
    ("http://example.com/hooks", "URL_NOT_HTTPS"),
    ("https://127.0.0.1/hooks", "URL_NOT_PUBLIC"),
    ("https://10.1.2.3/hooks", "URL_NOT_PUBLIC"),
    ("https://192.168.0.10/hooks", "URL_NOT_PUBLIC"),
    ("https://169.254.169.254/latest", "URL_NOT_PUBLIC"),
    ("https://[::1]/hooks", "URL_NOT_PUBLIC"),
    ("https://localhost/hooks", "URL_NOT_PUBLIC"),
    ("https://user:pw@example.com/hooks", "URL_INVALID"),
    ("https://example.com/hooks", None),
])
def test_production_urls_are_https_and_public(url, code):
    problem = check_url(url, production=True)
    assert (problem.code if problem else None) == code
    assert check_url("http://127.0.0.1:9/hooks", production=False) is None  # development receivers


async def test_the_worker_sweep_retries_due_deliveries(merchant, services, receiver):
    from services.worker.service import run_once

    _, client = merchant
    hook = receiver(statuses=[503])
    await subscribe(client, hook.url, "SALE_RECORDED")
    await record(client, "T-7")
    await settle(services)  # the first try, in the request's background, got 503
    assert (await run_once(services)).webhooks_delivered == 0  # not due yet
    sweep = await run_once(services, now=datetime.now(UTC) + timedelta(hours=1))
    assert sweep.webhooks_delivered == 1 and len(hook.requests) == 2
    [done] = await deliveries(services)
    assert done.status == WebhookDeliveryStatus.DELIVERED
