"""resendInvoice: the customer asks for their invoice's XML and PDF by e-mail again,
with the invoice token (to the same address or another one, e.g. their accountant's)."""
from __future__ import annotations

from persistence.tables import DocumentStatus, OutboxKind
from services.kernel.codes import CustomerErrorCode as Code
from services.kernel.container import Services
from services.kernel.results import Invalid, NotFound, invalid
from services.kernel.types import FieldProblem
from services.merchants.service import valid_email
from services.outbox import service as outbox
from services.portal.correct import MAX_CORRECTIONS

# E-mails an invoice may ever cause (the first one after stamping included): the invoice
# token must not turn our mail server into a relay to any address.
MAX_MESSAGES_PER_INVOICE = 6


async def resend_invoice(services: Services, public_id: str, email: str) -> str | Invalid | NotFound:
    """Queue the invoice's e-mail to ``email``; returns the address as it will be used."""
    email = email.strip().lower()
    if not valid_email(email):
        return invalid(FieldProblem("email", Code.EMAIL_INVALID, "Escribe un correo electrónico válido, p. ej. nombre@dominio.mx."))
    async with services.uow_factory(write=True) as uow:
        row = await uow.invoices.by_public_id(public_id)
        if row is None:
            return NotFound("No existe esa factura.")
        # Issue 15: a corrected invoice's token sends the correction (services/portal/correct.py).
        row = await uow.invoices.substitute_of(row, max_steps=MAX_CORRECTIONS + 1)
        if row.status == DocumentStatus.PENDING or row.id is None:
            return invalid(FieldProblem("id", Code.INVOICE_NOT_READY, "La factura aún se está timbrando: intenta en un minuto."))
        if await uow.outbox.count_for(OutboxKind.INVOICE, row.id) >= MAX_MESSAGES_PER_INVOICE:
            return invalid(FieldProblem(
                "email", Code.TOO_MANY_EMAILS,
                "Ya enviamos esta factura varias veces. Descárgala desde el portal con los enlaces de XML y PDF."))
        await outbox.enqueue(uow, OutboxKind.INVOICE, email, row.id)
        await uow.commit()
    outbox.kick(services)
    return email
