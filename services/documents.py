"""The invoice's files: names, and the PDF rendered once then served from storage."""
from __future__ import annotations

from persistence.tables import GlobalInvoiceRow, InvoiceRow
from services.container import Services


def file_name(issuer_rfc: str, row: InvoiceRow | GlobalInvoiceRow, ext: str) -> str:
    """{RFC emisor}_{serie}{folio}_{UUID}.xml|pdf"""
    return f"{issuer_rfc}_{row.series}{row.folio}_{row.uuid}.{ext}"


async def ensure_pdf(services: Services, row: InvoiceRow | GlobalInvoiceRow) -> bytes:
    """The stored PDF, or render it (off the event loop) and store it."""
    if row.pdf is not None:
        return row.pdf
    assert row.stamped_xml is not None, "only a stamped invoice has a PDF"
    pdf = await services.pdf.render(row.stamped_xml, row.sandbox)
    async with services.uow_factory(write=True) as uow:
        repository = uow.global_invoices if isinstance(row, GlobalInvoiceRow) else uow.invoices
        fresh = await repository.by_id(row.id)
        if fresh.pdf is None:  # a concurrent render may have stored it first: keep one
            fresh.pdf = pdf
            uow.session.add(fresh)
        pdf = fresh.pdf
    row.pdf = pdf
    return pdf
