"""The portal's ticket lookup on the database driver: one statement, no ORM (issue 16).

The lookup is the one query anybody on the internet can make, and the hottest: profiled
under load it spent more time in SQLAlchemy's session, its statement compiler (a
multi-row upsert is compiled anew on every call) and greenlet hops than in everything
else. Here it is plain SQL sent through the pool's own driver connection (asyncpg or
aiosqlite), the way cosmicpython's read views are plain SQL, and every value goes
through the column type's own bind and result processors, so what is read and written is
exactly what the ORM reads and writes (UTCDateTime's text on SQLite, booleans, ...).

``counted_ticket`` reads the ticket and counts the attempt only when nothing was found.
On PostgreSQL it is **one statement** (a CTE: the read; then either the throttle upsert,
when the read found nothing, or a plain read of the counters). On SQLite (no
data-modifying CTE) the read comes first, on a connection taken without the process's
writer lock; a found ticket then reads the counters, and only a failed lookup takes the
lock for its upsert. A found ticket writes nothing and locks no counter row, so the
customers of one company no longer queue on its counter row (issue 16); it needs no
refund. Failed attempts are still counted one after the other under the row's lock, so no
burst of concurrent guesses can share an old count (services/kernel/throttle.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.db import driver_connection, sqlite_writer
from persistence.tables import INVOICE_SALE_ACTIVE_WHERE, InvoiceRow, MerchantRow, SaleRow, ThrottleRow

# What a lookup reads: never the merchant's key material, never an invoice's files.
_SALE = ("id", "merchant_id", "reference", "total_cents", "sold_at", "payment_form", "lines_json", "status",
         "customer_email")
_MERCHANT = ("id", "company_number", "email", "rfc", "legal_name", "tax_regime", "zip_code", "certificate_number",
             "certificate_valid_to", "certificate_der", "self_invoicing_enabled", "month_end_limit", "deadline_days",
             "series", "generic_concept_enabled", "generic_product_key", "generic_unit_key", "generic_description",
             "global_invoice_periodicity", "global_invoice_automatic")
_INVOICE = ("id", "status", "customer_rfc", "issued_at", "created_at", "correction")
_PARTS: tuple[tuple[str, str, Table, tuple[str, ...]], ...] = (
    ("s", "s_", SaleRow.__table__, _SALE),  # type: ignore[attr-defined]
    ("m", "m_", MerchantRow.__table__, _MERCHANT),  # type: ignore[attr-defined]
    ("i", "i_", InvoiceRow.__table__, _INVOICE),  # type: ignore[attr-defined]
)
_COLUMNS = ", ".join(f"{a}.{c} AS {p}{c}" for a, p, _, cols in _PARTS for c in cols)
_ALIASES = tuple(p + c for _, p, _, cols in _PARTS for c in cols)  # the read's columns, in order
# The same read as SaleRepository.ticket_with_invoice: the sale by (company number,
# reference key) and its live invoice (the newest correction), here with the total too.
_TICKET = (
    f"SELECT {_COLUMNS} FROM sale s JOIN merchant m ON m.id = s.merchant_id "
    f"LEFT OUTER JOIN invoice i ON (i.sale_id = s.id OR i.id = s.invoice_id) AND i.{INVOICE_SALE_ACTIVE_WHERE} "
    "WHERE m.company_number = {company} AND s.reference_key = {key} AND s.total_cents = {total} "
    "ORDER BY i.correction DESC LIMIT 1"
)
# A failed lookup's attempt on each key (the inserted count, excluded.count, is 1); a
# window that has ended starts again (the same semantics as ThrottleRepository.hit).
_UPSERT_SET = (
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN throttle.window_start <= {ended} THEN excluded.count ELSE throttle.count + excluded.count END, "
    "window_start = CASE WHEN throttle.window_start <= {ended} THEN excluded.window_start "
    "ELSE throttle.window_start END "
    "RETURNING key, count, window_start"
)
# Whether the ticket was found is computed once (f) and joined by both branches: written
# as two EXISTS subqueries instead, PostgreSQL's generic plan looked costlier than its
# custom ones and it planned the statement anew on every execution (0.62 against 0.20 ms;
# measured slower than the +0 upsert it replaces, issue 16). With f it keeps the generic
# plan; lookup at c64 1,106 / 1,097 → 1,158 / 1,179 req/s against the +0 upsert (two A/B
# pairs).
_PG_COUNTED = (
    "WITH t AS (" + _TICKET.format(company="$1", key="$2", total="$3") + "), "
    "f AS (SELECT EXISTS (SELECT 1 FROM t) AS found), "
    # Not found: one attempt on each key, counted under the counter row's lock.
    "h AS (INSERT INTO throttle (key, window_start, count) "
    "SELECT k, $5, 1 FROM unnest($4::text[]) AS k, f WHERE NOT f.found "
    + _UPSERT_SET.format(ended="$6") + "), "
    # Found: the counters as they stand (a window that has ended counts nothing), read
    # without a lock: the right data is no guess and writes nothing.
    "r AS (SELECT key, CASE WHEN window_start <= $6 THEN 0 ELSE count END AS count, "
    "CASE WHEN window_start <= $6 THEN $5 ELSE window_start END AS window_start "
    "FROM throttle, f WHERE f.found AND key = ANY($4::text[])), "
    "c AS (SELECT key, count, window_start FROM h UNION ALL SELECT key, count, window_start FROM r), "
    "hs AS (SELECT array_agg(key) AS h_keys, array_agg(count) AS h_counts, array_agg(window_start) AS h_starts FROM c) "
    "SELECT t.*, hs.* FROM hs LEFT OUTER JOIN t ON true"
)
# SQLite (no data-modifying CTE): the same two branches as two statements; a found
# ticket's read needs neither the writer lock nor a write.
_SQLITE_CHARGE = "INSERT INTO throttle (key, window_start, count) SELECT column1, ?, 1 FROM (VALUES {values}) WHERE true "
_SQLITE_READ = (
    "SELECT key, CASE WHEN window_start <= ? THEN 0 ELSE count END, "
    "CASE WHEN window_start <= ? THEN ? ELSE window_start END FROM throttle WHERE key IN ({marks})"
)


@dataclass(frozen=True)
class FoundTicket:
    """The rows a lookup needs, with the attributes the ORM rows have (sale_from_row and
    merchant_from_row take either); ``invoice`` is None when the ticket has no live invoice."""

    sale: Any
    merchant: Any
    invoice: Any | None


# (key, count after this attempt, window start), in no particular order (RETURNING's).
Counted = list[tuple[str, int, datetime]]


def _processors(engine: AsyncEngine, table: Table, names: Sequence[str]) -> list[tuple[str, Callable | None]]:
    dialect = engine.dialect
    out = []
    for name in names:
        column: Column = table.c[name]
        out.append((name, column.type.dialect_impl(dialect).result_processor(dialect, None)))
    return out


class TicketQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self.pg = dialect.name == "postgresql"
        self._parts = [(prefix, _processors(engine, table, cols)) for _, prefix, table, cols in _PARTS]
        window_type = ThrottleRow.__table__.c.window_start.type.dialect_impl(dialect)  # type: ignore[attr-defined]
        self._bind_instant = window_type.bind_processor(dialect) or (lambda v: v)
        self._read_instant = window_type.result_processor(dialect, None) or (lambda v: v)
        if self.pg:
            self._ticket_sql = _TICKET.format(company="$1", key="$2", total="$3")
        else:
            self._ticket_sql = _TICKET.format(company="?", key="?", total="?")
        self._sqlite_statements: dict[int, tuple[str, str]] = {}

    def _sqlite_counters(self, key_count: int) -> tuple[str, str]:
        """SQLite's (read, charge) statements for that many keys, built once per count."""
        statements = self._sqlite_statements.get(key_count)
        if statements is None:
            marks, values = ", ".join("?" * key_count), ", ".join("(?)" for _ in range(key_count))
            statements = self._sqlite_statements[key_count] = (
                _SQLITE_READ.format(marks=marks), _SQLITE_CHARGE.format(values=values) + _UPSERT_SET.format(ended="?"))
        return statements

    async def _sqlite_ticket(self, driver: Any, company_number: str, reference_key: str, total_cents: int | None
                             ) -> FoundTicket | None:
        return self._found(_first(await driver.execute_fetchall(
            self._ticket_sql, (company_number, reference_key, total_cents))))

    def _found(self, row: Any) -> FoundTicket | None:
        if row is None or row["s_id"] is None:
            return None
        parts = []
        for prefix, processors in self._parts:
            values = {}
            for name, process in processors:
                value = row[prefix + name]
                values[name] = process(value) if process is not None and value is not None else value
            parts.append(SimpleNamespace(**values))
        sale, merchant, invoice = parts
        return FoundTicket(sale, merchant, invoice if invoice.id is not None else None)

    async def ticket(self, company_number: str, reference_key: str, total_cents: int | None) -> FoundTicket | None:
        """The ticket with these three data and its live invoice, or None (``total_cents``
        None never matches)."""
        async with driver_connection(self.engine) as driver:
            if self.pg:
                return self._found(await driver.fetchrow(self._ticket_sql, company_number, reference_key, total_cents))
            return await self._sqlite_ticket(driver, company_number, reference_key, total_cents)

    async def counted_ticket(
        self, company_number: str, reference_key: str, total_cents: int | None, keys: Sequence[str], now: datetime,
        window: timedelta,
    ) -> tuple[FoundTicket | None, Counted]:
        """Read the ticket; when nothing was found, count one attempt on each of ``keys``
        in one atomic step per key (the counter row is locked while its count changes, so
        concurrent failed attempts are counted one after the other) and return the new
        counts; when the ticket was found, return the counts as they stand (0 and ``now``
        for a key without a live window). Every key is in the answer once."""
        start, ended = self._bind_instant(now), self._bind_instant(now - window)
        if self.pg:
            async with driver_connection(self.engine) as driver:
                row = await driver.fetchrow(_PG_COUNTED, company_number, reference_key, total_cents, list(keys),
                                            start, ended)
            found = self._found(row)
            counted = [(k, c, self._read_instant(s)) for k, c, s in zip(row["h_keys"] or (), row["h_counts"] or (),
                                                                        row["h_starts"] or (), strict=True)]
            return found, self._every_key(counted, keys, now) if found is not None else counted
        # SQLite: the read first, on a connection taken without the process's writer lock;
        # only a failed lookup takes the lock (before its connection, the order every
        # writing unit of work takes them) to count its attempt. execute_fetchall runs a
        # statement and reads its rows in one trip to aiosqlite's thread.
        read, charge = self._sqlite_counters(len(keys))
        async with driver_connection(self.engine) as driver:
            found = await self._sqlite_ticket(driver, company_number, reference_key, total_cents)
            if found is not None:
                rows = await driver.execute_fetchall(read, (ended, ended, start, *keys))
                return found, self._every_key([(k, c, self._read_instant(s)) for k, c, s in rows], keys, now)
        async with sqlite_writer(self.engine), driver_connection(self.engine) as driver:
            rows = await driver.execute_fetchall(charge, (start, *keys, ended, ended))
        return None, [(k, c, self._read_instant(s)) for k, c, s in rows]

    @staticmethod
    def _every_key(counted: Counted, keys: Sequence[str], now: datetime) -> Counted:
        have = {k for k, _, _ in counted}
        return counted + [(k, 0, now) for k in keys if k not in have]


def _first(rows: Any) -> dict[str, Any] | None:
    """The first of SQLite's rows (plain tuples, in the read's column order) by alias."""
    for row in rows:
        return dict(zip(_ALIASES, row, strict=True))
    return None
