"""What a combined invoice (several tickets, issue 15) is made of: the tickets it covers
besides its own, and its FormaPago. Read by the seal step of services/portal/issue.py, so
a retry, the worker and a correction rebuild the same concepts as the first attempt."""
from __future__ import annotations

from collections.abc import Sequence

from persistence.tables import InvoiceRow, SaleRow
from services.kernel.container import Services


async def covered_sales(services: Services, row: InvoiceRow) -> list[SaleRow]:
    """The other tickets this invoice covers (sale.invoice_id), oldest first; [] for one ticket."""
    if row.id is None:
        return []
    async with services.uow_factory() as uow:
        return await uow.sales.covered_by(row.id)


def payment_form(sales: Sequence[SaleRow]) -> str:
    """c_FormaPago of an invoice over several tickets paid in different ways: the form that
    paid the largest amount (Anexo 20, Guía de llenado, FormaPago: "se debe registrar la
    forma de pago con la que se liquida la mayor cantidad del pago"); on a tie the lowest
    code. One ticket: its own form."""
    amounts: dict[str, int] = {}
    for s in sales:
        amounts[s.payment_form] = amounts.get(s.payment_form, 0) + s.total_cents
    return min(amounts, key=lambda form: (-amounts[form], form))
