"""Factura global: one CFDI to público en general per merchant and period for the tickets
nobody self-invoiced (RMF regla 2.7.1.24; Anexo 20, Guía de llenado del CFDI global).

Issuing follows services/portal/issue.py: short transactions around the PAC call, never one
held open across it.
1. claim, in one transaction: a gapless folio of series GL (its counter row also
   serialises a merchant's global claims), the PENDING global_invoice row (unique per
   merchant and period: a retry or a concurrent request finds it) and its sales: OPEN,
   sold in the period (merchant's local time), without a self-invoice row and past their
   self-invoicing deadline (policy.deadline). The sales move to IN_GLOBAL_INVOICE with a
   conditional UPDATE (status still OPEN), and any that a concurrent self-invoice claimed
   meanwhile are given back before commit; services/portal/issue.py re-reads the sale's status
   under its row lock. So a sale ends in exactly one of the two CFDIs.
   A ticket still inside its deadline stays OPEN and self-invoiceable: it is left out and
   counted.
2. build and seal (in a thread); keep the signed XML on the PENDING row;
3. stamp; a failure releases the lease and keeps folio, sales and signed XML, so a retry
   re-sends the same bytes (the PAC answers idempotently) and never takes a second folio;
4. mark ISSUED.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import DocumentStatus, GlobalInvoiceRow, MerchantRow
from persistence.uow import UnitOfWork
from services import catalogs
from services.cfdi.engine import build_signed_global_cfdi
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed, lease_for
from services.invoicing.views import GlobalInvoiceView, global_invoice_view
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.kernel.results import Invalid
from services.kernel.types import GlobalInvoiceRequest, GlobalTicket, Issuer
from services.global_invoice.period import period_bounds, period_problems
from services.merchants.models import merchant_from_row
from services.portal import policy
from services.sales.ticket import lines_from_json
from services.webhooks import service as webhooks
from services.webhooks.models import WebhookEvent
from services.webhooks.payloads import global_invoice_data

GLOBAL_SERIES = "GL"  # its own series: self-invoices keep theirs gapless


@dataclass(frozen=True)
class GlobalIssued:
    invoice: GlobalInvoiceView
    included: int  # sales in the factura global
    left_out: int  # sales of the period still OPEN (inside their self-invoicing deadline)


@dataclass(frozen=True)
class NothingToInvoice:
    message: str
    left_out: int


GlobalResult = GlobalIssued | Invalid | NothingToInvoice | StampFailed


def _global_invoices(uow: UnitOfWork):
    return uow.global_invoices


async def issue_global_invoice(services: Services, merchant_id: int, periodicity: str, months: str, year: int,
                               *, now: datetime | None = None) -> GlobalResult:
    """Same period, same invoice."""
    now = now or datetime.now(UTC)
    periodicity, months = periodicity.strip(), months.strip()
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        existing = await uow.global_invoices.by_period(merchant_id, periodicity, months, year)
    assert merchant is not None
    if existing is None:
        problems = period_problems(merchant.tax_regime, merchant.zip_code, periodicity, months, year, now)
        if problems:
            return Invalid(tuple(problems))
    start, end = period_bounds(periodicity, months, year, catalogs.time_zone_for(merchant.zip_code))
    claimed = await _claim(services, merchant, periodicity, months, year, start, end, now)
    if not isinstance(claimed, GlobalInvoiceRow):
        return claimed
    if claimed.status != DocumentStatus.PENDING:
        return await _result(services, merchant, claimed, start, end)
    return await _seal_and_stamp(services, merchant, claimed, start, end)


async def _left_out(services: Services, merchant_id: int, start: datetime, end: datetime) -> int:
    async with services.uow_factory() as uow:
        return await uow.sales.count_open_without_invoice(merchant_id, start, end)


async def _result(services: Services, merchant: MerchantRow, row: GlobalInvoiceRow, start, end) -> GlobalIssued:
    assert merchant.id is not None
    return GlobalIssued(global_invoice_view(services, row), row.sale_count,
                        await _left_out(services, merchant.id, start, end))


def _nothing(left_out: int) -> NothingToInvoice:
    message = "No hay tickets sin facturar en ese periodo."
    if left_out:
        message = (f"Los {left_out} tickets sin facturar de ese periodo siguen dentro de su plazo de "
                   "autofacturación; emite la factura global cuando venza.")
    return NothingToInvoice(message, left_out)


async def _claim(services: Services, merchant: MerchantRow, periodicity: str, months: str, year: int,
                 start: datetime, end: datetime, now: datetime) -> GlobalInvoiceRow | NothingToInvoice | StampFailed:
    assert merchant.id is not None
    terms = merchant_from_row(merchant)
    try:
        async with services.uow_factory(write=True) as uow:
            row = await uow.global_invoices.by_period(merchant.id, periodicity, months, year)
            if row is None:
                folio = await uow.counters.next(f"folio:{merchant.id}:{GLOBAL_SERIES}")
                row = await uow.global_invoices.add(GlobalInvoiceRow(
                    public_id="g" + secrets.token_hex(15), merchant_id=merchant.id, series=GLOBAL_SERIES,
                    folio=folio, periodicity=periodicity, months=months, year=year, status=DocumentStatus.PENDING,
                    total_cents=0, sale_count=0, lease_until=now + lease_for(services), attempts=1,
                    created_at=now, updated_at=now,
                ))
                assert row.id is not None
                candidates = await uow.sales.open_without_invoice(merchant.id, start, end)
                # A ticket still inside its self-invoicing deadline stays self-invoiceable.
                due = [s.id for s in candidates if policy.is_past(policy.deadline(s.sold_at, terms), now)]
                await uow.sales.claim_for_global(merchant.id, due, row.id)
                await uow.sales.release_self_invoiced_from_global(merchant.id, row.id)
                taken = await uow.sales.in_global(merchant.id, row.id)
                if not taken:
                    # Not committed: no folio, no row.
                    return _nothing(len(candidates) - len(due))
                await uow.global_invoices.set_totals(row.id, sum(s.total_cents for s in taken), len(taken))
                await uow.commit()
                fresh = await uow.global_invoices.by_id(row.id)
                assert fresh is not None
                return fresh
    except IntegrityError:
        pass  # a concurrent request created this period's invoice first
    # The global invoice exists: finished, a retry after a failure, or a concurrent request.
    merchant_id = merchant.id
    return await issuing.wait_for_lease(
        services, _global_invoices,
        lambda uow: uow.global_invoices.by_period(merchant_id, periodicity, months, year),
        busy_text="Otra solicitud está emitiendo esta factura global. Intenta de nuevo en un minuto.",
    )


GLOBAL_TEXTS = issuing.FailureTexts(
    retryable="El servicio de timbrado no respondió a tiempo. La factura global conserva su folio "
              "y sus tickets: intenta de nuevo en unos minutos.",
    rejected="El servicio de timbrado rechazó la factura global ({code}).",
)


async def _seal_and_stamp(services: Services, merchant: MerchantRow, row: GlobalInvoiceRow, start, end) -> GlobalResult:
    assert merchant.id is not None and row.id is not None
    merchant_id, row_id = merchant.id, row.id

    async def build_request() -> GlobalInvoiceRequest:
        async with services.uow_factory() as uow:
            sales = await uow.sales.in_global(merchant_id, row_id)
        return GlobalInvoiceRequest(
            issuer=Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, merchant.zip_code),
            periodicity=row.periodicity, months=row.months, year=row.year,
            tickets=tuple(
                GlobalTicket(s.reference, lines_from_json(s.lines_json), from_cents(s.total_cents), s.payment_form)
                for s in sales
            ),
            series=row.series, folio=str(row.folio),
        )

    async def on_issued(uow: UnitOfWork, issued: GlobalInvoiceRow) -> None:
        await webhooks.enqueue(uow, merchant_id, WebhookEvent.GLOBAL_INVOICE_ISSUED, global_invoice_data(issued))

    outcome = await issuing.seal_and_stamp(
        services, _global_invoices, row, merchant,
        build_request=build_request, build=build_signed_global_cfdi, texts=GLOBAL_TEXTS, on_issued=on_issued,
    )
    if not isinstance(outcome, issuing.Stamped):
        return outcome
    webhooks.kick(services)
    return await _result(services, merchant, outcome.row, start, end)


# The list of facturas globales: services.invoicing.service.list_global_invoices.


async def finish_pending(services: Services, global_invoice_id: int) -> GlobalResult | None:
    """The worker's duty: finish a PENDING factura global nobody holds (its lease
    expired), as a retry would (services/invoicing/issuing.py: the same bytes, or ask the
    PAC before a new seal). None when another process took it first."""
    now = datetime.now(UTC)
    async with services.uow_factory(write=True) as uow:
        if not await uow.global_invoices.try_lease(global_invoice_id, now, now + lease_for(services)):
            return None
        await uow.commit()
    async with services.uow_factory() as uow:
        row = await uow.global_invoices.by_id(global_invoice_id)
        assert row is not None
        merchant = await uow.merchants.by_id(row.merchant_id)
    assert merchant is not None
    start, end = period_bounds(row.periodicity, row.months, row.year, catalogs.time_zone_for(merchant.zip_code))
    return await _seal_and_stamp(services, merchant, row, start, end)
