"""The files of a stamped document: their names, the PDF rendered once then served from
storage, and the download a signed link grants."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from persistence.repositories.downloads import StoredFile
from persistence.tables import GlobalInvoiceRow, InvoiceRow
from persistence.uow import UnitOfWork
from services.kernel.container import Services
from services.kernel.results import Forbidden, NotFound
from services.kernel.security import DOWNLOAD, TokenError
from services.merchants import branding

FileKind = Literal["xml", "pdf"]
MEDIA_TYPES: dict[str, str] = {"xml": "application/xml", "pdf": "application/pdf"}

LINK_INVALID = "El enlace de descarga no es válido o expiró. Vuelve a consultar la factura."
LINK_MISMATCH = "El enlace no corresponde a este archivo."
NOT_STAMPED = "La factura no existe o aún no está timbrada."


def file_name(issuer_rfc: str, row: InvoiceRow | GlobalInvoiceRow | StoredFile, ext: str) -> str:
    """{RFC emisor}_{serie}{folio}_{UUID}.xml|pdf"""
    return f"{issuer_rfc}_{row.series}{row.folio}_{row.uuid}.{ext}"


def _repository(uow: UnitOfWork, row: InvoiceRow | GlobalInvoiceRow):
    return uow.global_invoices if isinstance(row, GlobalInvoiceRow) else uow.invoices


async def _render(services: Services, row: InvoiceRow | GlobalInvoiceRow, *, cancelled: bool) -> bytes:
    """The PDF with the merchant's brand as it is now (then stored, as sent)."""
    assert row.stamped_xml is not None
    brand = await branding.get_branding(services.uow_factory, row.merchant_id)
    logo = await branding.get_logo(services.uow_factory, row.merchant_id) if brand.logo_sha256 else None
    return await services.pdf.render(
        row.stamped_xml, row.sandbox, merchant_display_name=brand.display_name,
        merchant_logo=f"data:{logo.media_type};base64,{base64.b64encode(logo.body).decode()}" if logo else None,
        cancelled=cancelled,
    )


async def ensure_pdf(services: Services, row: InvoiceRow | GlobalInvoiceRow) -> bytes:
    """The stored PDF, or render it (off the event loop) and store it."""
    if row.pdf is not None:
        return row.pdf
    assert row.stamped_xml is not None and row.id is not None, "only a stamped document has a PDF"
    pdf = await _render(services, row, cancelled=row.status == "CANCELLED")  # a global too (motivo 04)
    async with services.uow_factory(write=True) as uow:
        pdf = await _repository(uow, row).store_pdf(row.id, pdf)  # a concurrent render may have won: keep one
        await uow.commit()
    row.pdf = pdf
    return pdf


async def rerender_cancelled(services: Services, row: InvoiceRow) -> bytes:
    """Re-print a cancelled invoice's stored PDF with the CANCELADO mark (issue 11)."""
    assert row.stamped_xml is not None and row.id is not None
    pdf = await _render(services, row, cancelled=True)
    async with services.uow_factory(write=True) as uow:
        await uow.invoices.replace_pdf(row.id, pdf)
        await uow.commit()
    row.pdf = pdf
    return pdf


@dataclass(frozen=True)
class DownloadFile:
    body: bytes
    media_type: str
    file_name: str


async def download(services: Services, public_id: str, kind: FileKind, token: str) -> DownloadFile | Forbidden | NotFound:
    """What a signed download link (audience download, bound to the document and the kind) gives."""
    try:
        claims = services.tokens.decode(token, DOWNLOAD)
    except TokenError:
        return Forbidden(LINK_INVALID)
    if claims.subject != public_id or claims.extra.get("k") != kind:
        return Forbidden(LINK_MISMATCH)
    stored = await services.downloads.stored_file(public_id, kind)  # one query on the driver (issue 16)
    if stored is None or not stored.stamped:
        return NotFound(NOT_STAMPED)
    if stored.body is not None:
        return DownloadFile(stored.body, MEDIA_TYPES[kind], file_name(stored.issuer_rfc, stored, kind))
    # A PDF not rendered yet: render it once and store it (then every link serves it as above).
    async with services.uow_factory() as uow:
        repository = uow.global_invoices if public_id.startswith("g") else uow.invoices
        found = await repository.for_download(public_id)
    if found is None or found[0].stamped_xml is None:
        return NotFound(NOT_STAMPED)
    row, issuer_rfc = found
    return DownloadFile(await ensure_pdf(services, row), MEDIA_TYPES[kind], file_name(issuer_rfc, row, kind))
