"""Sales recorded by the point of sale: idempotent recording, listing, voiding."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from persistence.tables import OutboxKind, SaleRow, SaleStatus
from services.invoicing.views import InvoiceView, invoice_view
from services.kernel.codes import SaleErrorCode as Code
from services.kernel.container import Services
from services.kernel.money import to_cents
from services.kernel.pagination import Page, page_of, parse_cursor
from services.kernel.results import Invalid, invalid
from services.kernel.types import FieldProblem
from services.merchants.models import Merchant
from services.outbox import service as outbox
from services.webhooks import service as webhooks
from services.webhooks.models import WebhookEvent
from services.webhooks.payloads import sale_data
from services.sales.models import InvoicingData, Sale, invoicing_data, sale_from_row
from services.sales.ticket import content_hash, lines_to_json, reference_key
from services.sales.validation import SaleInput, validate_sale


@dataclass(frozen=True)
class Recorded:
    sale: Sale
    invoicing: InvoicingData
    created: bool  # False: the same sale had been recorded before (idempotent replay)


@dataclass(frozen=True)
class SaleListing:
    """A sale as the merchant's list shows it: its live invoice and its ticket's data."""

    sale: Sale
    invoice: InvoiceView | None
    invoicing: InvoicingData


async def record_sale(
    services: Services, merchant: Merchant, sale: SaleInput, *, now: datetime | None = None
) -> Recorded | Invalid:
    """Record a sale. The same reference with the same content returns the same sale;
    with other content it is DUPLICATE_REFERENCE. With customerEmail, the portal link
    and the three data are queued for sending in the same transaction."""
    now = now or datetime.now(UTC)
    lines = validate_sale(sale, merchant, now)
    if isinstance(lines, Invalid):
        return lines
    email = sale.customer_email.strip().lower() if sale.customer_email else None
    digest = content_hash(sale.payment_form, lines, email)
    key = reference_key(sale.reference)
    total = sum((line.amount for line in lines), Decimal(0))

    def recorded(row: SaleRow, created: bool) -> Recorded:
        model = sale_from_row(row)
        return Recorded(model, invoicing_data(services.public_url, merchant.company_number, model), created)

    def same(existing: SaleRow) -> Recorded | Invalid:
        if existing.content_hash == digest and (sale.sold_at is None or existing.sold_at == sale.sold_at.astimezone(UTC)):
            return recorded(existing, False)
        return invalid(FieldProblem(
            "reference", Code.DUPLICATE_REFERENCE,
            "Ya existe una venta con esa referencia y otro contenido: usa una referencia nueva."))

    async with services.uow_factory() as uow:
        existing = await uow.sales.by_reference(merchant.id, key)
    if existing is not None:
        return same(existing)
    row = SaleRow(
        merchant_id=merchant.id, reference=" ".join(sale.reference.split()), reference_key=key,
        total_cents=to_cents(total), sold_at=(sale.sold_at or now).astimezone(UTC),
        payment_form=sale.payment_form, lines_json=lines_to_json(lines), content_hash=digest,
        customer_email=email, created_at=now,
    )
    try:
        async with services.uow_factory(write=True) as uow:
            await uow.sales.add(row)
            if email:
                assert row.id is not None
                await outbox.enqueue(uow, OutboxKind.TICKET, email, row.id)
            hooks = await webhooks.enqueue(uow, merchant.id, WebhookEvent.SALE_RECORDED, sale_data(row), now=now)
            await uow.commit()
    except IntegrityError:
        # A concurrent call with the same reference won the unique constraint.
        async with services.uow_factory() as uow:
            existing = await uow.sales.by_reference(merchant.id, key)
        assert existing is not None
        return same(existing)
    if email:
        outbox.kick(services)
    if hooks:
        webhooks.kick(services)
    return recorded(row, True)


@dataclass(frozen=True)
class SaleFilter:
    """What the merchant's console narrows its sales list by; None: any."""

    reference: str | None = None  # part of the reference, matched as ticket lookups match it
    sold_from: datetime | None = None  # inclusive
    sold_to: datetime | None = None  # exclusive
    status: SaleStatus | None = None

    def validate(self) -> Invalid | None:
        if self.reference is not None and len(self.reference) > 100:
            return invalid(FieldProblem("reference", Code.TOO_LONG, "La referencia a buscar admite hasta 100 caracteres."))
        for name, value in (("soldFrom", self.sold_from), ("soldTo", self.sold_to)):
            if value is not None and value.tzinfo is None:
                return invalid(FieldProblem(name, Code.INVALID, "Indica la zona horaria de la fecha (por ejemplo -06:00)."))
        if self.sold_from and self.sold_to and self.sold_from >= self.sold_to:
            return invalid(FieldProblem("soldTo", Code.INVALID, "La fecha final debe ser posterior a la inicial."))
        return None


async def list_sales(
    services: Services, merchant: Merchant, first: int, after: str | None, where: SaleFilter | None = None
) -> Page[SaleListing] | Invalid:
    """Newest first; first is clamped to 1..MAX_PAGE by the caller."""
    cursor = parse_cursor(after)
    if isinstance(cursor, Invalid):
        return cursor
    where = where or SaleFilter()
    problem = where.validate()
    if problem is not None:
        return problem
    reference = reference_key(where.reference) if where.reference else None
    async with services.uow_factory() as uow:
        rows = await uow.sales.page(
            merchant.id, first + 1, cursor, reference=reference or None, sold_from=where.sold_from,
            sold_to=where.sold_to, status=where.status,
        )
        invoices = await uow.invoices.by_sales(merchant.id, [r.id for r in rows[:first] if r.id is not None])

    def listing(row: SaleRow) -> SaleListing:
        model = sale_from_row(row)
        invoice = invoices.get(model.id)
        return SaleListing(
            model, invoice_view(services, invoice) if invoice is not None else None,
            invoicing_data(services.public_url, merchant.company_number, model),
        )

    return page_of(rows, first, listing, lambda r: (r.sold_at, r.id))


async def get_sale(services: Services, merchant: Merchant, sale_id: int) -> SaleListing | None:
    """One of the merchant's sales with its live invoice; None when it is not theirs."""
    async with services.uow_factory() as uow:
        row = await uow.sales.owned(merchant.id, sale_id)
        invoice = await uow.invoices.by_sale(sale_id) if row is not None else None
    if row is None:
        return None
    model = sale_from_row(row)
    return SaleListing(
        model, invoice_view(services, invoice) if invoice is not None else None,
        invoicing_data(services.public_url, merchant.company_number, model),
    )


async def cancel_sale(services: Services, merchant: Merchant, sale_id: int) -> SaleListing | Invalid:
    """A returned or voided sale: it can no longer be self-invoiced (reason CANCELLED).
    Only an OPEN sale with no invoice in progress can be cancelled here; an invoiced one
    needs the CFDI cancelled with SAT first."""
    async with services.uow_factory(write=True) as uow:
        sale = await uow.sales.owned(merchant.id, sale_id)
        if sale is None:
            return invalid(FieldProblem("id", Code.NOT_FOUND, "No existe esa venta."))
        if sale.status != SaleStatus.CANCELLED:
            if sale.status != SaleStatus.OPEN or await uow.invoices.by_sale(sale_id) is not None:
                return invalid(FieldProblem(
                    "id", Code.SALE_NOT_CANCELLABLE,
                    "La venta ya tiene una factura (o está en una factura global): cancela primero el CFDI."))
            sale.status = SaleStatus.CANCELLED
            await uow.sales.save(sale)
            await uow.commit()
    model = sale_from_row(sale)
    return SaleListing(model, None, invoicing_data(services.public_url, merchant.company_number, model))
