"""The nominative CFDI of a ticket that is already in a factura global.

Anexo 20, Guía de llenado del CFDI global (apéndice: a customer asks for a nominative
CFDI of an operation already in a global), and c_MotivoCancelacion 04 "operación
nominativa relacionada en una factura global":
1. cancel the global with motivo 04 (services/global_invoice/cancel.py);
2. issue the replacement global, without that ticket, related to the cancelled one with
   TipoRelacion 04 (services/global_invoice/service.py stamps a replacement only after
   its predecessor is cancelled);
3. issue the nominative CFDI (services/portal/issue.py, which calls `leave_global`
   before sealing).
The customer may do this while the ticket is inside the merchant's self-invoicing
deadline (services/portal/policy.refusal); past it, the ticket answers IN_GLOBAL_INVOICE.

Exactly once under concurrency. Each customer first claims the ticket's invoice row
(services/portal/issue.py: unique per sale), so the ticket "has a live invoice" from then
on. The driver of a global takes the global's lease (a conditional UPDATE of its
lease column while ISSUED), row-locks its sales, and moves every sale WITHOUT a live
invoice to the replacement (unique per replaced global): a ticket whose invoice was
claimed before stays with the cancelled global, one claimed after is in the replacement
and its customer repeats the route on that one (global -> replacement -> replacement).
Two customers of one global therefore either share one replacement or chain two; every
ticket ends in exactly one CFDI. If the PAC fails midway, what was done stays done
(cancelled global, PENDING replacement, PENDING nominative invoice): the customer's retry
or the worker (services/worker) continues from there, in the same order.
"""
from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from persistence.tables import DocumentStatus, GlobalInvoiceRow, MerchantRow, SaleStatus
from services.global_invoice import cancel, service
from services.invoicing.issuing import WAIT_FOR_OTHER, StampFailed, lease_for
from services.kernel.container import Services
from services.kernel.results import Invalid

BUSY = ("Otra solicitud está sacando un ticket de la factura global del comercio. "
        "Intenta de nuevo en un minuto: tu ticket sigue disponible.")


class _Busy:
    pass


_BUSY = _Busy()


async def leave_global(services: Services, merchant: MerchantRow, sale_id: int) -> StampFailed | Invalid | None:
    """Take the sale out of every live factura global (steps 1 and 2 above); None once no
    live global holds it, so its nominative CFDI may be stamped. A no-op (one read) for a
    sale in no global."""
    assert merchant.id is not None
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT_FOR_OTHER
    while True:
        async with services.uow_factory() as uow:
            sale = await uow.sales.owned(merchant.id, sale_id)
            holder = None
            if sale is not None and sale.status == SaleStatus.IN_GLOBAL_INVOICE and sale.global_invoice_id is not None:
                holder = await uow.global_invoices.by_id(sale.global_invoice_id)
            replacement = await uow.global_invoices.replacement_of(holder.id) if holder and holder.id else None
        if holder is None or holder.id is None:
            return None
        progressed: object = None
        if holder.status == DocumentStatus.CANCELLED:
            if replacement is None or replacement.status != DocumentStatus.PENDING or replacement.id is None:
                return None  # out of every live global; its replacement (if any) is issued
            progressed = await service.finish_pending(services, replacement.id)
        elif holder.status == DocumentStatus.PENDING:
            progressed = await service.finish_pending(services, holder.id)  # issue it first, then replace it
        else:
            progressed = await _replace(services, merchant, holder.id)
        if isinstance(progressed, (StampFailed, Invalid)):
            return progressed
        if progressed is None or progressed is _BUSY:  # another process holds it: wait for it
            if loop.time() > give_up:
                return StampFailed(BUSY, True)
            await asyncio.sleep(0.1)


async def _replace(services: Services, merchant: MerchantRow, global_id: int) -> object:
    """Cancel an ISSUED global and issue its replacement without the sales that now have a
    nominative invoice. _BUSY when another process drives it."""
    now = datetime.now(UTC)
    prepared = await _prepare(services, merchant, global_id, now)
    if prepared is _BUSY:
        return _BUSY
    if prepared is None:  # no other sale: the global is cancelled and nothing replaces it
        failed = await cancel.cancel_for_nominative(services, merchant, global_id, now=now)
        if failed is not None:
            await _give_back(services, global_id)
            return failed
        return True
    assert isinstance(prepared, GlobalInvoiceRow)
    outcome = await service._seal_and_stamp(services, merchant, prepared)  # cancels the global first
    if not isinstance(outcome, service.GlobalIssued):
        await _give_back(services, global_id)
        return outcome
    return True


async def _give_back(services: Services, global_id: int) -> None:
    async with services.uow_factory(write=True) as uow:
        await uow.global_invoices.clear_lease(global_id)
        await uow.commit()


async def _prepare(services: Services, merchant: MerchantRow, global_id: int,
                   now: datetime) -> GlobalInvoiceRow | _Busy | None:
    """Under the global's lease: its replacement row (created once, with the sales that
    keep no nominative invoice), leased to this process; None when no sale is left."""
    assert merchant.id is not None
    until = now + lease_for(services)
    async with services.uow_factory(write=True) as uow:
        if not await uow.global_invoices.try_lease_status(global_id, DocumentStatus.ISSUED, now, until):
            return _BUSY
        replacement = await uow.global_invoices.replacement_of(global_id)
        if replacement is not None:  # created by a driver that stopped: continue it
            assert replacement.id is not None
            if replacement.status != DocumentStatus.PENDING or not await uow.global_invoices.try_lease(
                    replacement.id, now, until):
                await uow.commit()
                return _BUSY
            await uow.commit()
            return await uow.global_invoices.by_id(replacement.id)
        sale_ids = await uow.sales.lock_in_global(merchant.id, global_id)
        invoiced = await uow.invoices.by_sales(merchant.id, sale_ids)
        staying = [sale_id for sale_id in sale_ids if sale_id not in invoiced]
        if not staying:
            await uow.commit()
            return None
        original = await uow.global_invoices.by_id(global_id)
        assert original is not None
        folio = await uow.counters.next(f"folio:{merchant.id}:{service.GLOBAL_SERIES}")
        replacement = await uow.global_invoices.add(GlobalInvoiceRow(
            public_id="g" + secrets.token_hex(15), merchant_id=merchant.id, series=service.GLOBAL_SERIES, folio=folio,
            periodicity=original.periodicity, months=original.months, year=original.year,
            period_start=original.period_start, period_end=original.period_end, part=original.part,
            replaces_id=global_id, status=DocumentStatus.PENDING, total_cents=0, sale_count=0,
            lease_until=until, attempts=1, created_at=now, updated_at=now,
        ))
        assert replacement.id is not None
        await uow.sales.move_to_replacement(merchant.id, global_id, replacement.id)
        taken = await uow.sales.in_global(merchant.id, replacement.id)
        await uow.global_invoices.set_totals(replacement.id, sum(s.total_cents for s in taken), len(taken))
        await uow.commit()
        return await uow.global_invoices.by_id(replacement.id)
