"""SQLModel tables. Never exposed as GraphQL types (CONVENTIONS 2).

Amounts are stored as integer cents (exact on SQLite and PostgreSQL alike); instants as
aware UTC datetimes (SQLModel's UTCDateTime: timestamptz on PostgreSQL, UTC text on SQLite).
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata



class SaleStatus(StrEnum):
    OPEN = "OPEN"  # self-invoiceable until its deadline, then a factura global's
    INVOICED = "INVOICED"
    IN_GLOBAL_INVOICE = "IN_GLOBAL_INVOICE"
    CANCELLED = "CANCELLED"


class DocumentStatus(StrEnum):
    """A stamped document's life: self-invoices use all four, facturas globales the first two."""

    PENDING = "PENDING"  # folio taken; sealed and stamped under a lease
    ISSUED = "ISSUED"
    CANCELLATION_PENDING = "CANCELLATION_PENDING"  # SAT waits for the receiver's acceptance
    CANCELLED = "CANCELLED"


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class OutboxKind(StrEnum):
    INVOICE = "invoice"  # the XML and PDF after stamping; ref_id is an invoice id
    CANCELLATION = "cancellation"  # the invoice was cancelled at SAT; ref_id is an invoice id
    TICKET = "ticket"  # the portal link when a sale is recorded; ref_id is a sale id
    CSD_EXPIRY = "csd_expiry"  # the merchant's CSD expires soon; ref_id is a csd_expiry_notice id


# Columns hold the enums' values as plain strings (no database enum type: adding a
# status is then no migration); rows read back str, which compares equal to the enum.

# BIGINT ids on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY is the rowid.
_BigId = BigInteger().with_variant(Integer, "sqlite")


class Counter(SQLModel, table=True):
    """Gapless counters: company numbers, and folios per merchant and series."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=80)
    value: int = Field(default=0, sa_column_kwargs={"nullable": False})


class MerchantRow(SQLModel, table=True):
    __tablename__ = "merchant"
    id: int | None = Field(default=None, primary_key=True)
    company_number: str = Field(max_length=12, unique=True, index=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=200)
    rfc: str = Field(max_length=13)
    legal_name: str = Field(max_length=300)
    tax_regime: str = Field(max_length=3)
    zip_code: str = Field(max_length=5)
    certificate_number: str = Field(max_length=20)
    certificate_valid_to: datetime
    certificate_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_password_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # self-invoicing settings
    self_invoicing_enabled: bool = True
    month_end_limit: bool = False
    deadline_days: int = 30
    series: str = Field(default="AF", max_length=25)
    generic_concept_enabled: bool = False
    generic_product_key: str | None = Field(default=None, max_length=8)
    generic_unit_key: str | None = Field(default=None, max_length=3)
    generic_description: str | None = Field(default=None, max_length=1000)
    # The fiscal clock (services/global_invoice/clock.py): c_Periodicidad of its facturas
    # globales (01 diario ... 05 bimestral, 05 only for RegimenFiscal 621) and whether the
    # worker issues each one when its period ends (RMF 2.7.1.21: within 24 hours).
    global_invoice_periodicity: str = Field(default="04", max_length=2)
    global_invoice_automatic: bool = True
    created_at: datetime


class SaleRow(SQLModel, table=True):
    __tablename__ = "sale"
    __table_args__ = (
        UniqueConstraint("merchant_id", "reference_key", name="uq_sale_merchant_reference"),
        Index("ix_sale_merchant_sold", "merchant_id", "sold_at", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    merchant_id: int = Field(foreign_key="merchant.id")
    reference: str = Field(max_length=100)
    reference_key: str = Field(max_length=100)  # trimmed, case-folded: what lookups match
    total_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    sold_at: datetime
    payment_form: str = Field(max_length=2)
    lines_json: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    status: str = Field(default=SaleStatus.OPEN, max_length=20)  # a SaleStatus
    customer_email: str | None = Field(default=None, max_length=254)
    created_at: datetime
    # The factura global that took this sale (status IN_GLOBAL_INVOICE); null otherwise.
    global_invoice_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    # The self-invoice that covers this sale together with other tickets of the same
    # merchant (issue 15, services/portal/multi.py); null for a one-ticket invoice, whose
    # row points to the sale instead. Set by one conditional UPDATE over every ticket of
    # the combined invoice (only where still null), so two overlapping requests cannot
    # both cover a ticket.
    invoice_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))


# The predicate of the partial unique index below, written once for both engines and for
# migration 0003 (which must create exactly this index: tests/persistence/test_migrations.py).
INVOICE_SALE_ACTIVE_WHERE = "status <> 'CANCELLED'"


class StampedDocument(SQLModel):
    """The columns every CFDI we seal and stamp carries, self-invoice or factura global:
    its public id, folio, the signed and the stamped XML, the lease that makes stamping
    exactly-once, and the PDF rendered once. Not a table: InvoiceRow and GlobalInvoiceRow
    each get their own copy of these columns."""

    public_id: str = Field(max_length=32, unique=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    series: str = Field(max_length=25)
    folio: int
    status: str = Field(default=DocumentStatus.PENDING, max_length=24)  # a DocumentStatus
    total_cents: int = Field(sa_type=BigInteger, nullable=False)
    uuid: str | None = Field(default=None, max_length=36, unique=True)
    signed_xml: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    document_hash: str | None = Field(default=None, max_length=64)
    stamped_xml: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    sandbox: bool = True
    lease_until: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    issued_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class InvoiceRow(StampedDocument, table=True):
    """One live CFDI per sale. The partial unique index on (sale_id, correction) (every
    status but CANCELLED) is what makes issuing exactly-once; a cancelled invoice steps
    aside so the sale can be invoiced again, with a new folio. A customer's correction
    (issue 15, services/portal/correct.py) is the next `correction` of the same sale,
    issued while the one it replaces is still live (SAT: the substitute exists before
    the cancellation with motivo 01 names it), so it too is exactly-once."""

    __tablename__ = "invoice"
    __table_args__ = (
        Index(
            "uq_invoice_sale_active", "sale_id", "correction", unique=True,
            sqlite_where=text(INVOICE_SALE_ACTIVE_WHERE), postgresql_where=text(INVOICE_SALE_ACTIVE_WHERE),
        ),
        UniqueConstraint("merchant_id", "series", "folio", name="uq_invoice_folio"),
        Index("ix_invoice_merchant_created", "merchant_id", "created_at", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    sale_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    customer_rfc: str = Field(max_length=13)
    customer_name: str = Field(max_length=300)
    customer_zip: str = Field(max_length=5)
    customer_regime: str = Field(max_length=3)
    customer_use: str = Field(max_length=4)
    customer_email: str | None = Field(default=None, max_length=254)
    idempotency_key: str | None = Field(default=None, max_length=100)
    # Cancellation (CANCELLATION_PENDING / CANCELLED): SAT's c_MotivoCancelacion, the
    # FolioSustitucion given with motivo 01, and when the PAC reported it cancelled.
    cancellation_reason: str | None = Field(default=None, max_length=2)
    replacement_uuid: str | None = Field(default=None, max_length=36)
    cancelled_at: datetime | None = None
    # SAT's acuse of the cancellation request (through the PAC), and why a requested
    # cancellation did not happen (the receiver rejected it: back to ISSUED).
    cancellation_acuse: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    cancellation_note: str | None = Field(default=None, max_length=300)
    # Issue 15: 0 for the ticket's first invoice, n for the customer's n-th correction;
    # a correction's CfdiRelacionados (TipoRelacion 04, sustitución) names related_uuid.
    correction: int = Field(default=0, sa_column_kwargs={"nullable": False, "server_default": "0"})
    related_uuid: str | None = Field(default=None, max_length=36)


# One original factura global per merchant, periodicity, period and part (a large period
# is split into parts); a replacement (cancelled with motivo 04 and issued again without
# a ticket) is unique per global it replaces. Written once for both engines and for the
# migration (tests/persistence/test_migrations.py compares them).
GLOBAL_ORIGINAL_WHERE = "replaces_id IS NULL"


class GlobalInvoiceRow(StampedDocument, table=True):
    """One factura global (CFDI to público en general) per merchant, period and part.

    The partial unique index on (merchant, periodicity, period_start, part) of originals
    and the unique replaces_id are what make issuing exactly-once; the sales it covers
    point to it (sale.global_invoice_id). Its public_id is "g" + hex: never an invoice's
    (all hex) id. A global cancelled with motivo 04 (a customer asked for a nominative
    CFDI of one of its tickets: Guía de llenado del CFDI global) is CANCELLED and its
    replacement, issued without that ticket, points to it with replaces_id."""

    __tablename__ = "global_invoice"
    __table_args__ = (
        Index(
            "uq_global_invoice_period_part", "merchant_id", "periodicity", "period_start", "part", unique=True,
            sqlite_where=text(GLOBAL_ORIGINAL_WHERE), postgresql_where=text(GLOBAL_ORIGINAL_WHERE),
        ),
        UniqueConstraint("merchant_id", "series", "folio", name="uq_global_invoice_folio"),
        UniqueConstraint("replaces_id", name="uq_global_invoice_replaces"),
        Index("ix_global_invoice_merchant_created", "merchant_id", "created_at", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    periodicity: str = Field(max_length=2)  # c_Periodicidad
    months: str = Field(max_length=2)  # c_Meses
    year: int
    sale_count: int
    # [period_start, period_end): the period in the merchant's local time, as UTC instants.
    period_start: datetime
    period_end: datetime
    part: int = 1  # 1.. when a period's sales are split over several CFDIs (or arrive late)
    replaces_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    cancellation_reason: str | None = Field(default=None, max_length=2)  # c_MotivoCancelacion (04)
    cancelled_at: datetime | None = None
    cancellation_acuse: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)


class PacCallRow(SQLModel, table=True):
    """Every call to the PAC, for the merchant's audit (issue 11): what was asked
    (operation, the SHA-256 of the sealed CFDI), what came back (OK, the PAC's code or a
    PacErrorCode) and how long it took."""

    __tablename__ = "pac_call"
    __table_args__ = (Index("ix_pac_call_merchant_at", "merchant_id", "at", "id"),)
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    merchant_id: int = Field(foreign_key="merchant.id")
    document_kind: str = Field(max_length=20)  # invoice | global_invoice
    document_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    operation: str = Field(max_length=40)
    document_hash: str | None = Field(default=None, max_length=64)
    uuid: str | None = Field(default=None, max_length=36)
    outcome: str = Field(max_length=40)
    duration_ms: int
    at: datetime


class OutboxMessageRow(SQLModel, table=True):
    """E-mail to send. A send failure never fails the invoice: it is retried from here."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    kind: str = Field(max_length=20)  # an OutboxKind
    recipient: str = Field(max_length=254)
    ref_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # invoice id or sale id
    status: str = Field(default=OutboxStatus.PENDING, max_length=10)  # an OutboxStatus
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
    sent_at: datetime | None = None


class CsdExpiryNoticeRow(SQLModel, table=True):
    """One "your CSD expires in N days" notice per merchant, certificate and threshold:
    the unique constraint is what makes the expiry sweep idempotent across sweeps and
    processes (services/merchants/csd_expiry.py)."""

    __tablename__ = "csd_expiry_notice"
    __table_args__ = (
        UniqueConstraint("merchant_id", "certificate_number", "days_before", name="uq_csd_expiry_notice"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    merchant_id: int = Field(foreign_key="merchant.id")
    certificate_number: str = Field(max_length=20)
    days_before: int
    valid_to: datetime
    created_at: datetime


class MerchantBrandingRow(SQLModel, table=True):
    """How the merchant's portal page and PDFs look: its own table, so the logo (up to
    200 kB) is never loaded with the merchant row that every lookup reads."""

    __tablename__ = "merchant_branding"
    merchant_id: int = Field(primary_key=True, foreign_key="merchant.id")
    display_name: str | None = Field(default=None, max_length=120)
    accent_color: str | None = Field(default=None, max_length=7)  # #RRGGBB
    logo: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)  # sanitised PNG or SVG
    logo_media_type: str | None = Field(default=None, max_length=20)  # image/png or image/svg+xml
    logo_sha256: str | None = Field(default=None, max_length=64)
    updated_at: datetime


class ThrottleRow(SQLModel, table=True):
    """Failed-lookup counters per key (client address, company number) and time window."""

    __tablename__ = "throttle"
    key: str = Field(primary_key=True, max_length=120)
    window_start: datetime
    count: int = 0


class ApiKeyRow(SQLModel, table=True):
    """A point of sale's (or an integration's) key: a merchant's credential with scopes.

    Only a keyed hash of the secret is stored (HMAC-SHA256 under the server's secret);
    the prefix is kept in clear so the merchant can tell keys apart and a request finds
    its row by index."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_merchant", "merchant_id", "created_at"),)
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    merchant_id: int = Field(foreign_key="merchant.id")
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=24, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=300)  # space-separated ApiScope values
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebhookEndpointRow(SQLModel, table=True):
    """Where a merchant wants to be told of events; the signing secret is stored
    encrypted (it must be read back to sign, unlike an API key's)."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index("ix_webhook_endpoint_merchant", "merchant_id"),)
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    public_id: str = Field(max_length=32, unique=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    url: str = Field(max_length=2000)
    events: str = Field(max_length=300)  # space-separated WebhookEvent values
    secret_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime
    deleted_at: datetime | None = None


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"  # due at next_attempt_at (retried with back-off)
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # gave up after the last attempt


class WebhookDeliveryRow(SQLModel, table=True):
    """One event for one endpoint: enqueued in the transaction of the change it reports
    (the outbox), sent by the worker. public_id is the delivery id the receiver sees,
    the same on every retry, so it can deduplicate."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True))
    public_id: str = Field(max_length=40, unique=True)
    endpoint_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    merchant_id: int = Field(foreign_key="merchant.id")
    event_type: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the exact JSON body sent
    status: str = Field(default=WebhookDeliveryStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
    delivered_at: datetime | None = None
