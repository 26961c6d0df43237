"""Read models of stamped documents (self-invoices and facturas globales) as the API shows
them, with short-lived download links. Built here from rows; never a row outside
services/ (CONVENTIONS 6a)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from persistence.tables import DocumentStatus, GlobalInvoiceRow, InvoiceRow, StampedDocument
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.kernel.security import DOWNLOAD

# A document has files to download once stamped, cancelled or not.
STAMPED_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.CANCELLATION_PENDING, DocumentStatus.CANCELLED)


@dataclass(frozen=True)
class Downloads:
    xml_url: str | None
    pdf_url: str | None


@dataclass(frozen=True)
class InvoiceView:
    public_id: str
    uuid: str | None
    series: str
    folio: int
    status: DocumentStatus
    issued_at: datetime | None
    total: Decimal
    customer_rfc: str
    customer_name: str
    sandbox: bool
    cancellation_reason: str | None
    replacement_uuid: str | None
    cancelled_at: datetime | None
    created_at: datetime
    downloads: Downloads
    # Why a requested cancellation did not happen (SAT: the receiver rejected it).
    cancellation_note: str | None = None


@dataclass(frozen=True)
class GlobalInvoiceView:
    public_id: str
    uuid: str | None
    series: str
    folio: int
    periodicity: str  # c_Periodicidad
    months: str  # c_Meses
    year: int
    total: Decimal
    sale_count: int
    status: DocumentStatus
    issued_at: datetime | None
    sandbox: bool
    created_at: datetime
    downloads: Downloads
    # The fiscal clock (services/global_invoice): the period [period_start, period_end),
    # its part, and the chain global -> cancelled (motivo 04) -> replacement.
    period_start: datetime | None = None
    period_end: datetime | None = None
    part: int = 1
    cancellation_reason: str | None = None
    cancelled_at: datetime | None = None
    row_id: int = 0  # internal: how resolvers ask for the related globals
    replaces_id: int | None = None


def downloads(services: Services, row: StampedDocument) -> Downloads:
    """Signed links to the XML and the PDF, once the document is stamped."""
    if row.status not in STAMPED_STATUSES or row.uuid is None:
        return Downloads(None, None)
    base = services.public_url.rstrip("/")
    urls = []
    for kind in ("xml", "pdf"):
        token, _ = services.tokens.issue(DOWNLOAD, row.public_id, services.download_link_ttl, k=kind)
        urls.append(f"{base}/downloads/{row.public_id}.{kind}?token={token}")
    return Downloads(urls[0], urls[1])


def invoice_view(services: Services, row: InvoiceRow) -> InvoiceView:
    return InvoiceView(
        public_id=row.public_id, uuid=row.uuid, series=row.series, folio=row.folio,
        status=DocumentStatus(row.status), issued_at=row.issued_at, total=from_cents(row.total_cents),
        customer_rfc=row.customer_rfc, customer_name=row.customer_name, sandbox=row.sandbox,
        cancellation_reason=row.cancellation_reason, replacement_uuid=row.replacement_uuid,
        cancelled_at=row.cancelled_at, created_at=row.created_at, downloads=downloads(services, row),
        cancellation_note=row.cancellation_note,
    )


def global_invoice_view(services: Services, row: GlobalInvoiceRow) -> GlobalInvoiceView:
    return GlobalInvoiceView(
        public_id=row.public_id, uuid=row.uuid, series=row.series, folio=row.folio,
        periodicity=row.periodicity, months=row.months, year=row.year, total=from_cents(row.total_cents),
        sale_count=row.sale_count, status=DocumentStatus(row.status), issued_at=row.issued_at,
        sandbox=row.sandbox, created_at=row.created_at, downloads=downloads(services, row),
        period_start=row.period_start, period_end=row.period_end, part=row.part,
        cancellation_reason=row.cancellation_reason, cancelled_at=row.cancelled_at, row_id=row.id or 0,
        replaces_id=row.replaces_id,
    )
