"""Bench-only ASGI app: the production app plus the floor routes (never shipped).

    uvicorn bench.server:app

Floors the GraphQL and page figures are divided by, served by the same process:

- `POST /bench/ticket` with JSON {"c": company number, "r": reference, "t": total}: the
  lookup as it was before issue 16's changes, kept as a reference point (the "ORM route"):
  the throttle counters counted and checked in one ORM statement, then
  `uow.sales.ticket_with_invoice(company, reference_key)` through the ORM session, then the
  refund of a successful lookup. The product's lookup now reads and counts in one statement
  on the driver (persistence/repositories/tickets.py). It skips the policy check, the
  concept preview and the ticket token.
- `POST /bench/raw-ticket`, same JSON: **the raw-driver floor** (issue 16). The ticket read
  (sale + merchant + live invoice, without the invoice's XML/PDF columns, the same outer
  join as `ticket_with_invoice`) as **one query through the driver** (asyncpg or
  aiosqlite), no ORM, no throttle writes, JSON out. This is the least work a lookup can do.
- `POST /bench/json`: a plain JSON route (no database): the HTTP + Starlette floor.
- `GET /bench/static/<file>`: Starlette's StaticFiles serving copies of the portal page and
  of a stored PDF (bench/run.py puts them there): the first-byte floor of the portal page
  and the PDF download.
"""
from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.app import create_app
from bench.common import DATA
from services.kernel.money import cents, from_cents
from services.kernel.throttle import Admitted, admit, lookup_keys
from services.sales.ticket import reference_key

app = create_app(freeze_gc=True)  # as api.asgi serves it
services = app.state.services
DATABASE_URL = os.environ["DATABASE_URL"]
STATIC_FLOOR = DATA / "static-floor"
STATIC_FLOOR.mkdir(parents=True, exist_ok=True)


async def bare_ticket(request: Request) -> JSONResponse:
    body = await request.json()
    company, reference = str(body["c"]).strip(), str(body["r"])
    now = datetime.now(UTC)
    # The same database work as the GraphQL path: the throttle counters (counted and
    # checked in one statement), the ticket, and the refund of a successful lookup.
    limits = services.throttle.limits
    per_client, per_client_company, per_company = lookup_keys(request.client.host, company)
    admission = await admit(
        services.throttle, now, hard={per_client: limits.per_client, per_client_company: limits.per_client_company},
        burst=(per_company, limits.company_burst),
    )
    if not isinstance(admission, Admitted):
        return JSONResponse({"__typename": "TicketNotFound"})
    async with services.uow_factory() as uow:
        found = await uow.sales.ticket_with_invoice(company, reference_key(reference))
    if found is None or from_cents(found[0].total_cents) != cents(Decimal(str(body["t"]))):
        return JSONResponse({"__typename": "TicketNotFound"})
    await services.throttle.refund(admission.keys, now)
    sale, merchant, invoice = found
    if invoice is not None and invoice.status != "PENDING":
        return JSONResponse({"__typename": "TicketAlreadyInvoiced"})
    return JSONResponse({"__typename": "InvoiceableTicket", "reference": sale.reference,
                         "total": str(from_cents(sale.total_cents)), "merchant": merchant.legal_name})


# The same read as persistence.repositories.sales.ticket_with_invoice, written out by hand.
_INVOICE_COLS = ("id", "sale_id", "status", "customer_rfc", "issued_at", "created_at", "correction")
_TICKET_SQL = (
    "SELECT s.*, m.*, " + ", ".join(f"i.{c} AS inv_{c}" for c in _INVOICE_COLS) + " FROM sale s "
    "JOIN merchant m ON m.id = s.merchant_id "
    "LEFT OUTER JOIN invoice i ON (i.sale_id = s.id OR i.id = s.invoice_id) AND i.status != 'CANCELLED' "
    "WHERE m.company_number = {0} AND s.reference_key = {1} ORDER BY i.correction DESC LIMIT 1"
)


class _RawPool:
    """asyncpg's pool, or a few aiosqlite connections in a queue (10 at most, like the app's pool)."""

    def __init__(self) -> None:
        self.pool = None
        self.lock = asyncio.Lock()
        self.pg = DATABASE_URL.startswith("postgresql")

    async def _open(self) -> None:
        if self.pg:
            import asyncpg

            self.sql = _TICKET_SQL.format("$1", "$2")
            self.pool = await asyncpg.create_pool(DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://"),
                                                  min_size=2, max_size=10)
        else:
            import aiosqlite

            self.sql = _TICKET_SQL.format("?", "?")
            pool: asyncio.Queue = asyncio.Queue()
            for _ in range(4):
                conn = await aiosqlite.connect(DATABASE_URL.split(":///", 1)[1])
                conn.row_factory = aiosqlite.Row
                await pool.put(conn)
            self.pool = pool

    async def ticket(self, company: str, key: str):
        if self.pool is None:
            async with self.lock:
                if self.pool is None:
                    await self._open()
        if self.pg:
            async with self.pool.acquire() as conn:
                return await conn.fetchrow(self.sql, company, key)
        conn = await self.pool.get()
        try:
            async with conn.execute(self.sql, (company, key)) as cur:
                return await cur.fetchone()
        finally:
            self.pool.put_nowait(conn)


    async def close(self) -> None:
        if self.pool is None:
            return
        if self.pg:
            await self.pool.close()
        else:
            while not self.pool.empty():
                await self.pool.get_nowait().close()
        self.pool = None


raw = _RawPool()


async def raw_ticket(request: Request) -> JSONResponse:
    body = await request.json()
    row = await raw.ticket(str(body["c"]).strip(), reference_key(str(body["r"])))
    if row is None or from_cents(row["total_cents"]) != cents(Decimal(str(body["t"]))):
        return JSONResponse({"__typename": "TicketNotFound"})
    if row["inv_id"] is not None and row["inv_status"] != "PENDING":
        return JSONResponse({"__typename": "TicketAlreadyInvoiced"})
    return JSONResponse({"__typename": "InvoiceableTicket", "reference": row["reference"],
                         "total": str(from_cents(row["total_cents"])), "merchant": row["legal_name"]})


async def plain_json(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({"__typename": "InvoiceableTicket", "reference": body.get("r")})


app.router.routes[0:0] = [
    Route("/bench/ticket", bare_ticket, methods=["POST"]),
    Route("/bench/raw-ticket", raw_ticket, methods=["POST"]),
    Route("/bench/json", plain_json, methods=["POST"]),
    Mount("/bench/static", app=StaticFiles(directory=STATIC_FLOOR)),
]
