"""The `data` of each webhook event: what a merchant's system needs to act on it, with
the same names and formats as the GraphQL API (camelCase, amounts as "1160.00")."""
from __future__ import annotations

from typing import Any

from persistence.tables import GlobalInvoiceRow, InvoiceRow, SaleRow
from services.kernel.money import from_cents


def _instant(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def sale_data(row: SaleRow) -> dict[str, Any]:
    return {
        "id": str(row.id), "reference": row.reference, "total": f"{from_cents(row.total_cents):.2f}",
        "soldAt": _instant(row.sold_at), "status": str(row.status),
    }


def invoice_data(row: InvoiceRow) -> dict[str, Any]:
    return {
        "id": row.public_id, "uuid": row.uuid, "series": row.series, "folio": str(row.folio),
        "status": str(row.status), "total": f"{from_cents(row.total_cents):.2f}", "saleId": str(row.sale_id),
        "customerRfc": row.customer_rfc, "issuedAt": _instant(row.issued_at), "sandbox": row.sandbox,
        "cancellationReason": row.cancellation_reason, "replacementUuid": row.replacement_uuid,
        "cancelledAt": _instant(row.cancelled_at),
    }


def global_invoice_data(row: GlobalInvoiceRow) -> dict[str, Any]:
    return {
        "id": row.public_id, "uuid": row.uuid, "series": row.series, "folio": str(row.folio),
        "periodicity": row.periodicity, "months": row.months, "year": row.year,
        "total": f"{from_cents(row.total_cents):.2f}", "saleCount": row.sale_count,
        "issuedAt": _instant(row.issued_at), "sandbox": row.sandbox,
    }
