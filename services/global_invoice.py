"""Factura global: one CFDI to público en general per merchant and period for the tickets
nobody self-invoiced (RMF regla 2.7.1.24; Anexo 20, Guía de llenado del CFDI global).

Issuing follows services/portal.py: short transactions around the PAC call, never one
held open across it.
1. claim, in one transaction: a gapless folio of series GL (its counter row also
   serialises a merchant's global claims), the PENDING global_invoice row (unique per
   merchant and period: a retry or a concurrent request finds it) and its sales: OPEN,
   sold in the period (merchant's local time), without a self-invoice row and past their
   self-invoicing deadline (policy.deadline). The sales move to IN_GLOBAL_INVOICE with a
   conditional UPDATE (status still OPEN), and any that a concurrent self-invoice claimed
   meanwhile are given back before commit; portal._claim re-reads the sale's status
   under its row lock. So a sale ends in exactly one of the two CFDIs.
   A ticket still inside its deadline stays OPEN and self-invoiceable: it is left out and
   counted.
2. build and seal (in a thread); keep the signed XML on the PENDING row;
3. stamp; a failure releases the lease and keeps folio, sales and signed XML, so a retry
   re-sends the same bytes (the PAC answers idempotently) and never takes a second folio;
4. mark ISSUED.
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from persistence.tables import GlobalInvoiceRow, MerchantRow
from services import catalogs, issuing, policy
from services import sales as sales_service
from services.cfdi.engine import build_signed_global_cfdi, global_period_problems
from services.container import Services
from services.issuing import LEASE, WAIT_FOR_OTHER, StampFailed
from services.portal import InvoiceView, invoice_view, list_invoices
from services.types import FieldProblem, GlobalInvoiceRequest, GlobalTicket, Issuer

GLOBAL_SERIES = "GL"  # its own series: self-invoices keep theirs gapless
MONTHLY, BIMONTHLY = "04", "05"  # c_Periodicidad
SUPPORTED_PERIODICITIES = (MONTHLY, BIMONTHLY)


@dataclass(frozen=True)
class GlobalIssued:
    view: InvoiceView  # row is a GlobalInvoiceRow
    included: int  # sales in the factura global
    left_out: int  # sales of the period still OPEN (inside their self-invoicing deadline)


@dataclass(frozen=True)
class InvalidGlobal:
    problems: list[FieldProblem]


@dataclass(frozen=True)
class NothingToInvoice:
    message: str
    left_out: int


class _Nothing(Exception):
    """Rolls the claim back (no folio, no row) when no sale could be taken."""


def period_bounds(periodicity: str, months: str, year: int, zone) -> tuple[datetime, datetime]:
    """[start, end) of a monthly (c_Meses 01-12) or bimonthly (13-18) period, local midnight, as UTC."""
    if periodicity == BIMONTHLY:
        first = 2 * (int(months) - 12) - 1  # 13 -> January, 18 -> November
        span = 2
    else:
        first, span = int(months), 1
    last = first + span
    start = datetime(year, first, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone) if last > 12 else datetime(year, last, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _problems(merchant: MerchantRow, periodicity: str, months: str, year: int, now: datetime) -> list[FieldProblem]:
    zone = catalogs.time_zone_for(merchant.zip_code)
    problems = global_period_problems(merchant.tax_regime, periodicity, months, year, now.astimezone(zone).year)
    if problems:
        return problems
    if periodicity not in SUPPORTED_PERIODICITIES:
        # A daily, weekly or fortnightly period is not identified by (months, year) alone.
        return [FieldProblem("periodicity", "PERIODICITY_NOT_SUPPORTED",
                             "Por ahora la factura global se emite mensual (04) o bimestral (05).")]
    _, end = period_bounds(periodicity, months, year, zone)
    if end > now:
        return [FieldProblem("months", "PERIOD_NOT_ENDED",
                             "El periodo aún no termina: emite la factura global cuando concluya.")]
    return []


async def issue_global_invoice(services: Services, merchant_id: int, periodicity: str, months: str, year: int,
                               *, now: datetime | None = None):
    """GlobalIssued | InvalidGlobal | NothingToInvoice | StampFailed. Same period, same invoice."""
    now = now or datetime.now(UTC)
    periodicity, months = periodicity.strip(), months.strip()
    async with services.uow_factory() as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        existing = await uow.global_invoices.by_period(merchant_id, periodicity, months, year)
    if existing is None:
        problems = _problems(merchant, periodicity, months, year, now)
        if problems:
            return InvalidGlobal(problems)
    start, end = period_bounds(periodicity, months, year, catalogs.time_zone_for(merchant.zip_code))
    claimed = await _claim(services, merchant, periodicity, months, year, start, end, now)
    if not isinstance(claimed, GlobalInvoiceRow):
        return claimed
    if claimed.status != "PENDING":
        return await _result(services, merchant, claimed, start, end)
    return await _seal_and_stamp(services, merchant, claimed, start, end)


async def _left_out(services: Services, merchant_id: int, start: datetime, end: datetime) -> int:
    async with services.uow_factory() as uow:
        return await uow.sales.count_open_without_invoice(merchant_id, start, end)


async def _result(services: Services, merchant: MerchantRow, row: GlobalInvoiceRow, start, end) -> GlobalIssued:
    return GlobalIssued(invoice_view(services, row), row.sale_count, await _left_out(services, merchant.id, start, end))


async def _claim(services: Services, merchant: MerchantRow, periodicity, months, year, start, end, now):
    try:
        async with services.uow_factory(write=True) as uow:
            row = await uow.global_invoices.by_period(merchant.id, periodicity, months, year)
            if row is None:
                folio = await uow.counters.next(f"folio:{merchant.id}:{GLOBAL_SERIES}")
                row = await uow.global_invoices.add(GlobalInvoiceRow(
                    public_id="g" + secrets.token_hex(15), merchant_id=merchant.id, series=GLOBAL_SERIES,
                    folio=folio, periodicity=periodicity, months=months, year=year, status="PENDING",
                    total_cents=0, sale_count=0, lease_until=now + LEASE, attempts=1,
                    created_at=now, updated_at=now,
                ))
                candidates = await uow.sales.open_without_invoice(merchant.id, start, end)
                # A ticket still inside its self-invoicing deadline stays self-invoiceable.
                due = [s.id for s in candidates if policy.is_past(policy.deadline(s.sold_at, merchant), now)]
                await uow.sales.claim_for_global(merchant.id, due, row.id)
                await uow.sales.release_self_invoiced_from_global(merchant.id, row.id)
                taken = await uow.sales.in_global(merchant.id, row.id)
                if not taken:
                    raise _Nothing(len(candidates) - len(due))
                row.total_cents, row.sale_count = sum(s.total_cents for s in taken), len(taken)
                uow.session.add(row)
                return row
    except _Nothing as nothing:
        left_out = nothing.args[0]
        message = "No hay tickets sin facturar en ese periodo."
        if left_out:
            message = (f"Los {left_out} tickets sin facturar de ese periodo siguen dentro de su plazo de "
                       "autofacturación; emite la factura global cuando venza.")
        return NothingToInvoice(message, left_out)
    except IntegrityError:
        pass  # a concurrent request created this period's invoice first
    # The global invoice exists: finished, a retry after a failure, or a concurrent request.
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER
    while True:
        async with services.uow_factory(write=True) as uow:
            row = await uow.global_invoices.by_period(merchant.id, periodicity, months, year)
            if row.status != "PENDING":
                return row
            now = datetime.now(UTC)
            if await uow.global_invoices.try_lease(row.id, now, now + LEASE):
                row = await uow.global_invoices.by_id(row.id)
                return row
        if asyncio.get_running_loop().time() > deadline:
            return StampFailed("Otra solicitud está emitiendo esta factura global. Intenta de nuevo en un minuto.", True)
        await asyncio.sleep(0.1)


GLOBAL_TEXTS = issuing.FailureTexts(
    retryable="El servicio de timbrado no respondió a tiempo. La factura global conserva su folio "
              "y sus tickets: intenta de nuevo en unos minutos.",
    rejected="El servicio de timbrado rechazó la factura global ({code}).",
)


async def _seal_and_stamp(services: Services, merchant: MerchantRow, row: GlobalInvoiceRow, start, end):
    async def build_request() -> GlobalInvoiceRequest:
        async with services.uow_factory() as uow:
            sales = await uow.sales.in_global(merchant.id, row.id)
        return GlobalInvoiceRequest(
            issuer=Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, merchant.zip_code),
            periodicity=row.periodicity, months=row.months, year=row.year,
            tickets=tuple(
                GlobalTicket(s.reference, sales_service.lines_from_json(s.lines_json), sales_service.total_of(s),
                             s.payment_form)
                for s in sales
            ),
            series=row.series, folio=str(row.folio),
        )

    outcome = await issuing.seal_and_stamp(
        services, issuing.GLOBAL_INVOICE, row, merchant,
        build_request=build_request, build=build_signed_global_cfdi, texts=GLOBAL_TEXTS,
    )
    if isinstance(outcome, issuing.BuildRefused):
        return InvalidGlobal(outcome.problems)
    if isinstance(outcome, StampFailed):
        return outcome
    return await _result(services, merchant, outcome.row, start, end)


# ---------------- reading ----------------


async def list_global_invoices(services: Services, merchant_id: int, first: int, after: str | None):
    return await list_invoices(services, merchant_id, first, after, repository=issuing.GLOBAL_INVOICE)
