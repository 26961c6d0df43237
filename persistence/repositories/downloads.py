"""The file a download link names, read through the database driver in one query (issue 16).

A signed download link is the other request anybody may make at volume (a customer's
mail client, a merchant's accounting software fetching every XML). Through the ORM it
loaded the document's row with SQLAlchemy's session machinery and, on SQLite, four trips
to aiosqlite's thread; the stored PDF's link answered at 0.39–0.41× a static file of the
same bytes. Here one plain statement on the pool's own driver connection (as
persistence/repositories/tickets.py does for the lookup) reads only the one file asked
for, whether the document is stamped, what the file name needs, and the issuer's RFC.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.db import driver_connection

_COLUMN = {"xml": "stamped_xml", "pdf": "pdf"}
_SQL = (
    "SELECT d.{column}, d.stamped_xml IS NOT NULL, d.series, d.folio, d.uuid, m.rfc "
    "FROM {table} d JOIN merchant m ON m.id = d.merchant_id WHERE d.public_id = {param}"
)


@dataclass(frozen=True)
class StoredFile:
    """``body`` is None when that file is not stored (a PDF not rendered yet, or a
    document not stamped: ``stamped`` tells which)."""

    body: bytes | None
    stamped: bool
    series: str
    folio: int
    uuid: str | None
    issuer_rfc: str


class DownloadQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        param = "$1" if self.pg else "?"
        # A factura global's public id starts with "g" (never hex, so never an invoice's).
        self._sql = {
            (is_global, kind): _SQL.format(column=column, table="global_invoice" if is_global else "invoice", param=param)
            for is_global in (False, True) for kind, column in _COLUMN.items()
        }

    async def stored_file(self, public_id: str, kind: Literal["xml", "pdf"]) -> StoredFile | None:
        """The document's file of that kind, or None when no document has that public id."""
        sql = self._sql[(public_id.startswith("g"), kind)]
        async with driver_connection(self.engine) as driver:
            if self.pg:
                row = await driver.fetchrow(sql, public_id)
            else:
                rows = await driver.execute_fetchall(sql, (public_id,))
                row = rows[0] if rows else None
        if row is None:
            return None
        body, stamped, series, folio, uuid, rfc = tuple(row)
        return StoredFile(bytes(body) if body is not None else None, bool(stamped), series, folio, uuid, rfc)
