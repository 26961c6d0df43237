"""Renewing the merchant's CSD (replaceCsd) and reading its validity (Merchant.csd).

A CSD is valid four years; SAT issues the new one for the same RFC (a CFDI is sealed with a
current CSD: CFF art. 29 fr. II). The new certificate, key and password replace the stored ones in one write:
the next seal reads them from the merchant row (invoicing/issuing.py calls csd_material
per seal), and the per-process cache of opened keys in services/cfdi/csd.py is keyed by a
hash of the certificate, key and password, so the old pair is never served for the new
one: new invoices carry the new NoCertificado at once. Documents already sealed with the
old certificate keep their signed XML (it stays valid for what was signed while the old
CSD was current).
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from persistence.uow import UowFactory
from services.cfdi.csd import CsdError, load_csd
from services.kernel.codes import MerchantErrorCode as Code
from services.kernel.results import Invalid, invalid
from services.kernel.security import SecretBox
from services.kernel.types import FieldProblem
from services.merchants.models import Csd, csd_of, merchant_from_row
from services.merchants.service import KEY_PASSWORD_PURPOSE, KEY_PURPOSE, csd_problem


async def replace_csd(
    uow_factory: UowFactory, box: SecretBox, merchant_id: int, *, certificate_der: bytes, key_der: bytes,
    key_password: str, now: datetime | None = None,
) -> Csd | Invalid | None:
    """The new CSD, every problem with it, or None when the merchant no longer exists."""
    now = now or datetime.now(UTC)
    try:
        # Decrypting the .key (PBKDF2) costs tens of milliseconds of CPU: off the event loop.
        info = await asyncio.to_thread(load_csd, certificate_der, key_der, key_password.encode(), now=now)
    except CsdError as exc:
        return invalid(csd_problem(exc))
    async with uow_factory(write=True) as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        if merchant is None:
            return None
        # The emisor of every CFDI is the RFC the merchant registered with, and Emisor@Rfc
        # must be the RFC of the certificate that seals it (Anexo 20, Emisor@Rfc; the
        # engine checks it again: DocumentErrorCode.ISSUER_RFC_MISMATCH).
        if info.rfc != merchant.rfc:
            return invalid(FieldProblem(
                "certificate", Code.RFC_MISMATCH,
                f"El certificado es del RFC {info.rfc} y tu comercio está registrado con el RFC {merchant.rfc}. "
                f"Sube el CSD vigente de {merchant.rfc}.",
            ))
        merchant.certificate_number = info.certificate_number
        merchant.certificate_valid_to = info.valid_to
        merchant.certificate_der = certificate_der
        merchant.key_encrypted = box.seal(key_der, KEY_PURPOSE)
        merchant.key_password_encrypted = box.seal(key_password.encode(), KEY_PASSWORD_PURPOSE)
        await uow.merchants.save(merchant)
        await uow.commit()
    return csd_of(merchant_from_row(merchant))
