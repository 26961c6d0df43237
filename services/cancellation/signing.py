"""SAT's Cancelacion request signed with the merchant's CSD: one place for invoices
(cancellation/service.py) and facturas globales (global_invoice/cancel.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime

from persistence.tables import MerchantRow
from services import catalogs
from services.cfdi.satcfdi_adapter import signed_cancellation
from services.kernel.container import Services
from services.merchants.service import csd_material


async def signed_request(services: Services, merchant: MerchantRow, uuid: str, reason: str,
                         replacement_uuid: str | None, now: datetime) -> bytes | None:
    """The signed request for a real PAC (RSA off the event loop), with the Fecha in the
    merchant's zone; None with the sandbox PAC, which takes no signed request. Raises
    what satcfdi/cryptography raise when the CSD cannot sign: nothing was sent then."""
    if services.pac.is_sandbox:
        return None
    csd = csd_material(services.box, merchant)
    local = now.astimezone(catalogs.time_zone_for(merchant.zip_code)).replace(tzinfo=None)
    return await asyncio.to_thread(signed_cancellation, csd.certificate_der, csd.private_key_der, csd.password,
                                   uuid, reason, replacement_uuid, local)
