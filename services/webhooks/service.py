"""Signed webhooks: the merchant's systems are told when something happens.

An event is enqueued in the same transaction as the change it reports (one delivery row
per subscribed endpoint: the outbox pattern), so a rolled-back change sends nothing and
a committed one is never lost. Deliveries are sent afterwards, by the process that made
the change (in the background, never inside the request) and by `autofactura worker`,
with a timeout; a failure is retried with exponential back-off (BACKOFF: about 2 days in
all) and then marked FAILED; the merchant may retry it by hand.

A delivery is ``POST url`` with the JSON body ``{"id", "type", "createdAt", "data"}``;
``id`` is the delivery's id, the same on every retry, so a receiver can deduplicate. The
header ``Autofactura-Signature: t=<unix seconds>,v1=<hex>`` carries the HMAC-SHA256 of
``"<t>.<raw body>"`` under the endpoint's secret (the whole ``whsec_…`` string), the
scheme Stripe made familiar: the receiver recomputes it and rejects an old ``t``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from persistence.tables import WebhookDeliveryRow, WebhookDeliveryStatus, WebhookEndpointRow
from persistence.uow import UnitOfWork
from services.kernel.codes import WebhookErrorCode as Code
from services.kernel.container import Services
from services.kernel.loops import repeat
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem
from services.webhooks.models import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
    WebhookEvent,
    delivery_from_row,
    endpoint_from_row,
)

log = logging.getLogger(__name__)

MAX_ENDPOINTS = 10  # live endpoints per merchant
MAX_URL = 2000
TIMEOUT = 10.0  # seconds for one delivery: connect, send, and the receiver's answer
# Wait before attempt 2, 3, ...: 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h, 24 h
# (about 47 hours after the first try), then FAILED.
BACKOFF = (
    timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1),
    timedelta(hours=3), timedelta(hours=6), timedelta(hours=12), timedelta(hours=24),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM = timedelta(seconds=TIMEOUT * 3)  # a crash mid-send leaves the delivery due again after this
CONCURRENCY = 8  # deliveries in flight per process: one slow receiver does not hold the others
SIGNATURE_HEADER = "Autofactura-Signature"
_PURPOSE = "webhook-secret"


# ---------------- the merchant's endpoints ----------------


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, production: bool) -> FieldProblem | None:
    """https only in production (plain http allowed in development), never credentials in
    the URL, and in production no loopback, link-local or private address literal (the
    host name is resolved again before each delivery)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or len(url) > MAX_URL or not parts.hostname or parts.scheme not in ("https", "http") \
            or not url.isprintable() or " " in url:
        return FieldProblem("url", Code.URL_INVALID, "Escribe una dirección completa, p. ej. https://mi-sistema.mx/webhooks.")
    if parts.username or parts.password:
        return FieldProblem("url", Code.URL_INVALID, "La dirección no debe llevar usuario ni contraseña.")
    if production and parts.scheme != "https":
        return FieldProblem("url", Code.URL_NOT_HTTPS, "En producción la dirección debe usar https.")
    if production:
        host = parts.hostname
        try:
            if not _is_public(host):
                return FieldProblem("url", Code.URL_NOT_PUBLIC, "La dirección debe ser pública (no local ni privada).")
        except ValueError:  # a name, not an address literal
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                return FieldProblem("url", Code.URL_NOT_PUBLIC, "La dirección debe ser pública (no local ni privada).")
    del port
    return None


async def create_endpoint(
    services: Services, merchant_id: int, url: str, events: list[WebhookEvent], *, now: datetime | None = None
) -> WebhookEndpointCreated | Invalid:
    now = now or datetime.now(UTC)
    problems = [p for p in (check_url(url, production=services.production),) if p is not None]
    if not events:
        problems.append(FieldProblem("events", Code.EVENTS_REQUIRED, "Elige al menos un evento."))
    if problems:
        return Invalid(tuple(problems))
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    row = WebhookEndpointRow(
        public_id=f"we_{secrets.token_hex(12)}", merchant_id=merchant_id, url=url.strip(),
        events=" ".join(sorted({e.value for e in events})), secret_encrypted=services.box.seal(secret.encode(), _PURPOSE),
        created_at=now,
    )
    async with services.uow_factory(write=True) as uow:
        if len(await uow.webhook_endpoints.live_for_merchant(merchant_id, MAX_ENDPOINTS + 1)) >= MAX_ENDPOINTS:
            return invalid(FieldProblem(
                "url", Code.TOO_MANY_ENDPOINTS, f"Ya tienes {MAX_ENDPOINTS} destinos: borra alguno antes de crear otro."))
        await uow.webhook_endpoints.add(row)
        await uow.commit()
    return WebhookEndpointCreated(endpoint_from_row(row), secret)


async def delete_endpoint(services: Services, merchant_id: int, endpoint_id: str, *, now: datetime | None = None) -> WebhookEndpoint | Invalid:
    """Its pending deliveries are not sent any more (deliver_due skips deleted endpoints)."""
    async with services.uow_factory(write=True) as uow:
        row = await uow.webhook_endpoints.owned(merchant_id, endpoint_id)
        if row is None:
            return invalid(FieldProblem("id", Code.NOT_FOUND, "No existe ese destino de webhooks."))
        row.deleted_at = now or datetime.now(UTC)
        await uow.webhook_endpoints.save(row)
        await uow.commit()
    return endpoint_from_row(row)


async def list_endpoints(services: Services, merchant_id: int, recent: int = 10) -> list[WebhookEndpoint]:
    async with services.uow_factory() as uow:
        rows = await uow.webhook_endpoints.live_for_merchant(merchant_id, MAX_ENDPOINTS)
        deliveries = await uow.webhook_deliveries.recent([r.id for r in rows if r.id is not None], recent)
    return [endpoint_from_row(r, deliveries.get(r.id or 0)) for r in rows]


async def retry_delivery(services: Services, merchant_id: int, delivery_id: str, *, now: datetime | None = None) -> WebhookDelivery | Invalid:
    """Send a delivery again now (the same id and body), whatever its state."""
    now = now or datetime.now(UTC)
    async with services.uow_factory(write=True) as uow:
        row = await uow.webhook_deliveries.owned(merchant_id, delivery_id)
        if row is None:
            return invalid(FieldProblem("id", Code.NOT_FOUND, "No existe esa entrega."))
        row.status, row.next_attempt_at = WebhookDeliveryStatus.PENDING, now
        await uow.webhook_deliveries.save(row)
        await uow.commit()
    kick(services)
    return delivery_from_row(row)


# ---------------- events ----------------


async def enqueue(
    uow: UnitOfWork, merchant_id: int, event: WebhookEvent, data: Mapping[str, Any], *, now: datetime | None = None
) -> int:
    """One delivery per live endpoint subscribed to ``event``, in the caller's transaction.
    Returns how many were queued (the caller kicks the sender after committing)."""
    now = now or datetime.now(UTC)
    queued = 0
    for endpoint in await uow.webhook_endpoints.live_for_merchant(merchant_id, MAX_ENDPOINTS):
        if event.value not in endpoint.events.split():
            continue
        delivery_id = f"evt_{secrets.token_hex(12)}"
        body = json.dumps(
            {"id": delivery_id, "type": event.value, "createdAt": now.isoformat().replace("+00:00", "Z"), "data": dict(data)},
            ensure_ascii=False, separators=(",", ":"), default=str,
        )
        assert endpoint.id is not None
        await uow.webhook_deliveries.add(WebhookDeliveryRow(
            public_id=delivery_id, endpoint_id=endpoint.id, merchant_id=merchant_id, event_type=event.value,
            payload=body, next_attempt_at=now, created_at=now,
        ))
        queued += 1
    return queued


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Autofactura-Signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def kick(services: Services) -> None:
    """Send what is due now, in the background of the current event loop."""
    task = asyncio.get_running_loop().create_task(deliver_due(services))
    services.mail_tasks.add(task)
    task.add_done_callback(services.mail_tasks.discard)


async def _public_destination(url: str) -> bool:
    """In production the host must resolve only to public addresses (no SSRF into the
    merchant's or our own network through a name that points inside)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return True  # unresolvable: the POST fails on its own and is retried
    return all(_is_public(str(info[4][0])) for info in infos)


async def _send(services: Services, client: httpx.AsyncClient, delivery: WebhookDeliveryRow) -> tuple[int | None, str | None]:
    """POST one delivery; (status code, error) — error None means delivered (2xx)."""
    async with services.uow_factory() as uow:
        endpoint = await uow.webhook_endpoints.by_id(delivery.endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        return None, "endpoint deleted"
    if services.production and not await _public_destination(endpoint.url):
        return None, "destination resolves to a non-public address"
    secret = services.box.open(endpoint.secret_encrypted, _PURPOSE).decode()
    body = delivery.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "autofactura-webhooks/1",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        "Autofactura-Delivery": delivery.public_id,
        "Autofactura-Event": delivery.event_type,
    }
    try:
        response = await client.post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def deliver_due(services: Services, *, limit: int = 50, now: datetime | None = None) -> int:
    """Send the deliveries that are due; returns how many were delivered. Each is claimed
    first, so several processes (servers, workers) never send one twice at once."""
    async with services.uow_factory() as uow:
        due = await uow.webhook_deliveries.due(now or datetime.now(UTC), limit)
    if not due:
        return 0
    delivered = 0
    gate = asyncio.Semaphore(CONCURRENCY)
    # No redirects: a receiver cannot bounce the signed body to another (internal) host.
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:

        async def one(delivery: WebhookDeliveryRow) -> None:
            nonlocal delivered
            async with gate:
                async with services.uow_factory(write=True) as uow:
                    claimed = await uow.webhook_deliveries.claim(
                        delivery.id, delivery.next_attempt_at, datetime.now(UTC) + CLAIM)
                    await uow.commit()
                if not claimed:
                    return
                try:
                    code, error = await _send(services, client, delivery)
                except Exception as exc:  # a bug: recorded and retried, never raised into a request
                    log.exception("webhook delivery %s failed", delivery.public_id)
                    code, error = None, f"{type(exc).__name__}"
                async with services.uow_factory(write=True) as uow:
                    row = await uow.webhook_deliveries.by_id(delivery.id)
                    assert row is not None
                    at = datetime.now(UTC)
                    row.attempts += 1
                    row.last_status_code = code
                    if error is None:
                        row.status, row.delivered_at, row.last_error = WebhookDeliveryStatus.DELIVERED, at, None
                        delivered += 1
                    else:
                        row.last_error = error
                        if row.attempts >= MAX_ATTEMPTS or error == "endpoint deleted":
                            row.status = WebhookDeliveryStatus.FAILED
                        else:
                            row.next_attempt_at = at + BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
                    await uow.webhook_deliveries.save(row)
                    await uow.commit()

        await asyncio.gather(*(one(d) for d in due))
    return delivered


async def run_forever(services: Services, every: float = 15.0) -> None:
    """The retry loop a server process runs in the background (the worker runs it too)."""
    await repeat(lambda: deliver_due(services), every, "webhooks")
