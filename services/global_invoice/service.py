"""Factura global: the CFDI to público en general that holds every sale of a period that
has no nominative CFDI (RMF 2026 regla 2.7.1.21; Anexo 20, Guía de llenado del CFDI global).

Every OPEN sale of the period without an invoice goes in, whatever its self-invoicing
deadline: SAT wants all of a period's income invoiced within 24 hours after the period
ends (services/global_invoice/period.py). A customer who asks later for a ticket still
inside the merchant's deadline gets the nominative CFDI through the Guía's route
(services/global_invoice/nominative.py: cancel with motivo 04, replace without the
ticket, issue the nominative CFDI).

Issuing follows services/portal/issue.py: short transactions around the PAC call, never one
held open across it.
1. claim, in one transaction: a gapless folio of series GL (its counter row also
   serialises a merchant's global claims), the PENDING global_invoice row (unique per
   merchant, periodicity, period and part: a retry or a concurrent worker finds it) and
   its sales: OPEN, sold in the period, without a self-invoice row, up to
   Services.global_invoice_max_concepts Conceptos (a larger period is split in parts 1,
   2 ...). The sales move to IN_GLOBAL_INVOICE with a conditional UPDATE (status still
   OPEN), and any that a concurrent self-invoice claimed meanwhile are given back before
   commit; services/portal/issue.py re-reads the sale's status under its row lock. So a
   sale ends in exactly one of the two CFDIs. A period with no such sale issues nothing.
2. build and seal (in a thread); keep the signed XML on the PENDING row;
3. stamp; a failure releases the lease and keeps folio, sales and signed XML, so a retry
   re-sends the same bytes (the PAC answers idempotently) and never takes a second folio;
4. mark ISSUED.
A replacement global (replaces_id) first cancels the one it replaces with motivo 04 and
names it in CfdiRelacionados with TipoRelacion 04: whoever stamps it (the customer's
request or the worker) keeps that order.

Sales with withholdings (retenciones) must not go into a CFDI global (Guía de llenado del
CFDI global: the global carries only traslados). A sale line here carries only IVA and
IEPS traslados (services/kernel/types.LineTax; services/sales/validation refuses anything
else), so no recorded sale has withholdings and none is left out for that reason.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import DocumentStatus, GlobalInvoiceRow, MerchantRow, SaleRow
from persistence.uow import UnitOfWork
from services import catalogs
from services.cfdi.concepts import ConceptError, build_global_concepts
from services.cfdi.engine import build_signed_global_cfdi
from services.global_invoice import cancel
from services.global_invoice.period import Period, period_of_day, requested_period
from services.invoicing import issuing
from services.invoicing.issuing import StampFailed, lease_for
from services.invoicing.views import GlobalInvoiceView, global_invoice_view
from services.kernel.container import Services
from services.kernel.money import from_cents
from services.kernel.results import Invalid
from services.kernel.types import GlobalInvoiceRequest, GlobalTicket, Issuer
from services.sales.ticket import lines_from_json
from services.webhooks import service as webhooks
from services.webhooks.models import WebhookEvent
from services.webhooks.payloads import global_invoice_data

log = logging.getLogger(__name__)

GLOBAL_SERIES = "GL"  # its own series: self-invoices keep theirs gapless
MAX_PARTS_PER_SWEEP = 1000  # a runaway guard: one period of 2,000,000 Conceptos


@dataclass(frozen=True)
class GlobalIssued:
    invoice: GlobalInvoiceView
    included: int  # sales in the factura global
    left_out: int  # sales of the period still OPEN after it (another part follows)


@dataclass(frozen=True)
class NothingToInvoice:
    message: str
    left_out: int = 0


GlobalResult = GlobalIssued | Invalid | NothingToInvoice | StampFailed


def _global_invoices(uow: UnitOfWork):
    return uow.global_invoices


def row_period(row: GlobalInvoiceRow) -> Period:
    return Period(row.periodicity, row.period_start, row.period_end, row.months, row.year)


async def issue_global_invoice(services: Services, merchant_id: int, periodicity: str, months: str | None,
                               year: int | None, *, day: date | None = None,
                               now: datetime | None = None) -> GlobalResult:
    """The merchant issues (or gets back) a period's factura global by hand: the period by
    (Meses, Año) for mensual and bimestral, or by any day inside it for every periodicity.
    Same period, same invoice: a finished period answers its global."""
    now = now or services.clock()
    periodicity = periodicity.strip()
    months = months.strip() if months else None
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
    assert merchant is not None
    period = requested_period(merchant.tax_regime, merchant.zip_code, periodicity, months, year, day, now)
    if isinstance(period, list):
        return Invalid(tuple(period))
    results = await issue_period(services, merchant, period, now)
    for result in results:
        if not isinstance(result, GlobalIssued):
            return result
    if results:
        return results[0]
    async with services.uow_factory() as uow:
        existing = await uow.global_invoices.of_period(merchant_id, period.periodicity, period.start)
    live = [row for row in existing if row.status != DocumentStatus.CANCELLED]
    if live:
        return GlobalIssued(global_invoice_view(services, live[0]), live[0].sale_count, 0)
    return NothingToInvoice("No hay tickets sin facturar en ese periodo.")


async def issue_period(services: Services, merchant: MerchantRow, period: Period, now: datetime) -> list[GlobalResult]:
    """Issue every CFDI this period still needs (one per part); stop at the first failure
    (the worker's next sweep, or the merchant's retry, continues from the same rows)."""
    results: list[GlobalResult] = []
    for _ in range(MAX_PARTS_PER_SWEEP):
        # A PENDING part nobody holds (an earlier failure) is finished before a new one.
        claimed = await _pending_of_period(services, merchant, period, now) or await _claim(services, merchant, period, now)
        if claimed is None:
            break
        if isinstance(claimed, StampFailed):
            results.append(claimed)
            break
        if claimed.status != DocumentStatus.PENDING:
            continue  # a concurrent process finished it: look for what is left
        outcome = await _seal_and_stamp(services, merchant, claimed)
        results.append(outcome)
        if not isinstance(outcome, GlobalIssued):
            break
    return results


async def _pending_of_period(services: Services, merchant: MerchantRow, period: Period,
                             now: datetime) -> GlobalInvoiceRow | None:
    assert merchant.id is not None
    async with services.uow_factory(write=True) as uow:
        for row in await uow.global_invoices.of_period(merchant.id, period.periodicity, period.start):
            if row.status == DocumentStatus.PENDING and row.replaces_id is None and row.id is not None:
                if await uow.global_invoices.try_lease(row.id, now, now + lease_for(services)):
                    leased = await uow.global_invoices.by_id(row.id)
                    await uow.commit()
                    return leased
    return None


def _ticket(sale: SaleRow) -> GlobalTicket:
    return GlobalTicket(sale.reference, lines_from_json(sale.lines_json), from_cents(sale.total_cents), sale.payment_form)


def concepts_of(sale: SaleRow) -> int:
    """How many Conceptos a ticket becomes in a global (one per tax treatment)."""
    try:
        return len(build_global_concepts([_ticket(sale)]))
    except ConceptError:
        return 1  # the engine refuses it later, with its reason


def _fitting(candidates: list[SaleRow], max_concepts: int) -> list[SaleRow]:
    """The first sales whose Conceptos fit in one CFDI (at least one sale)."""
    taken, used = [], 0
    for sale in candidates:
        n = concepts_of(sale)
        if taken and used + n > max_concepts:
            break
        taken.append(sale)
        used += n
    return taken


async def _claim(services: Services, merchant: MerchantRow, period: Period,
                 now: datetime) -> GlobalInvoiceRow | StampFailed | None:
    """Take the next part of this period with its sales; None when no sale is left."""
    assert merchant.id is not None
    merchant_id = merchant.id
    part = 0
    try:
        async with services.uow_factory(write=True) as uow:
            # The folio counter's row lock comes first: it serialises this merchant's
            # claims, so the part number and the candidates below see the last claim.
            folio = await uow.counters.next(f"folio:{merchant_id}:{GLOBAL_SERIES}")
            part = await uow.global_invoices.next_part(merchant_id, period.periodicity, period.start)
            candidates = await uow.sales.open_without_invoice(merchant_id, period.start, period.end,
                                                              limit=services.global_invoice_max_concepts)
            due = _fitting(candidates, services.global_invoice_max_concepts)
            if not due:
                return None  # not committed: no folio, no row
            row = await uow.global_invoices.add(GlobalInvoiceRow(
                public_id="g" + secrets.token_hex(15), merchant_id=merchant_id, series=GLOBAL_SERIES,
                folio=folio, periodicity=period.periodicity, months=period.months, year=period.year,
                period_start=period.start, period_end=period.end, part=part, status=DocumentStatus.PENDING,
                total_cents=0, sale_count=0, lease_until=now + lease_for(services), attempts=1,
                created_at=now, updated_at=now,
            ))
            assert row.id is not None
            await uow.sales.claim_for_global(merchant_id, [s.id for s in due if s.id is not None], row.id)
            await uow.sales.release_self_invoiced_from_global(merchant_id, row.id)
            taken = await uow.sales.in_global(merchant_id, row.id)
            if not taken:
                return None  # every candidate was self-invoiced meanwhile: rolled back
            await uow.global_invoices.set_totals(row.id, sum(s.total_cents for s in taken), len(taken))
            await uow.commit()
            fresh = await uow.global_invoices.by_id(row.id)
            assert fresh is not None
            return fresh
    except IntegrityError:
        pass  # a concurrent process created this very part first: wait for it
    return await issuing.wait_for_lease(
        services, _global_invoices,
        lambda uow: uow.global_invoices.original(merchant_id, period.periodicity, period.start, part),
        busy_text="Otra solicitud está emitiendo esta factura global. Intenta de nuevo en un minuto.",
    )


GLOBAL_TEXTS = issuing.FailureTexts(
    retryable="El servicio de timbrado no respondió a tiempo. La factura global conserva su folio "
              "y sus tickets: intenta de nuevo en unos minutos.",
    rejected="El servicio de timbrado rechazó la factura global ({code}).",
)


async def _left_after(services: Services, merchant_id: int, row: GlobalInvoiceRow) -> int:
    async with services.uow_factory() as uow:
        count, _ = await uow.sales.open_summary(merchant_id, row.period_start, row.period_end)
    return count


async def _seal_and_stamp(services: Services, merchant: MerchantRow, row: GlobalInvoiceRow) -> GlobalResult:
    """Seal and stamp a PENDING global this process holds the lease on."""
    assert merchant.id is not None and row.id is not None
    merchant_id, row_id = merchant.id, row.id
    replaces_uuid = None
    if row.replaces_id is not None:
        # Guía de llenado del CFDI global: the global that held the ticket is cancelled
        # with motivo 04 before its replacement is issued, related with TipoRelacion 04.
        failed = await cancel.cancel_for_nominative(services, merchant, row.replaces_id)
        if failed is not None:
            await issuing.release(services, _global_invoices, row_id, failed.message)
            return failed
        async with services.uow_factory() as uow:
            replaced = await uow.global_invoices.by_id(row.replaces_id)
        assert replaced is not None
        replaces_uuid = replaced.uuid

    async def build_request() -> GlobalInvoiceRequest:
        async with services.uow_factory() as uow:
            sales = await uow.sales.in_global(merchant_id, row_id)
        return GlobalInvoiceRequest(
            issuer=Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, merchant.zip_code),
            periodicity=row.periodicity, months=row.months, year=row.year,
            tickets=tuple(_ticket(s) for s in sales),
            series=row.series, folio=str(row.folio), replaces_uuid=replaces_uuid,
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
    issued = outcome.row
    return GlobalIssued(global_invoice_view(services, issued), issued.sale_count,
                        await _left_after(services, merchant_id, issued))


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
    return await _seal_and_stamp(services, merchant, row)


async def related(services: Services, merchant_id: int, view: GlobalInvoiceView) -> tuple[GlobalInvoiceView | None, GlobalInvoiceView | None]:
    """(the global this one replaces, the global that replaces this one), if any."""
    async with services.uow_factory() as uow:
        replaces = await uow.global_invoices.by_id(view.replaces_id) if view.replaces_id else None
        replaced_by = await uow.global_invoices.replacement_of(view.row_id) if view.row_id else None
    if replaces is not None and replaces.merchant_id != merchant_id:
        replaces = None
    return (global_invoice_view(services, replaces) if replaces else None,
            global_invoice_view(services, replaced_by) if replaced_by else None)


def period_of_sale(merchant: MerchantRow, sold_at: datetime) -> Period:
    zone = catalogs.time_zone_for(merchant.zip_code)
    return period_of_day(merchant.global_invoice_periodicity, sold_at.astimezone(zone).date(), zone)
