"""E-mail in the product flow, against a real SMTP server on loopback (aiosmtpd):
the ticket mail on recordSale, the invoice mail after stamping, and a failure that is
recorded and retried without failing the invoice."""
from __future__ import annotations

import email
import socket
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from persistence.tables import OutboxMessageRow
from services.outbox import service as notifications
from services.outbox.mail import SmtpMailer
from tests.helpers import CUSTOMER, RECORD, issue, lookup, operation, sale_input


async def drain(services) -> None:
    """Wait for the background sends that requests started (notifications.kick)."""
    import asyncio

    await asyncio.gather(*list(services.mail_tasks), return_exceptions=True)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_ticket_and_invoice_mail(gql, merchant, services, smtp):
    controller, inbox = smtp
    services.mailer = SmtpMailer("127.0.0.1", controller.port, timeout=5)
    row, client = merchant
    res = await client(RECORD, {"input": sale_input(customerEmail="cliente@example.com")})
    assert res["data"]["recordSale"]["__typename"] == "SaleRecorded"
    await notifications.deliver_due(services)
    ticket_mail = inbox.messages[0]
    assert ticket_mail["To"] == "cliente@example.com"
    text = ticket_mail.get_body(("plain",)).get_content()
    assert row.company_number in text and "T-1" in text and "1160.00" in text
    assert f"http://testserver/{row.company_number}?reference=T-1&total=1160.00" in text

    token = (await lookup(gql, row))["ticketToken"]
    issued = await issue(gql, token, {**CUSTOMER, "email": "Factura@Example.com"})
    await notifications.deliver_due(services)
    invoice_mail = inbox.messages[1]
    assert invoice_mail["To"] == "factura@example.com"
    names = {part.get_filename(): part for part in invoice_mail.iter_attachments()}
    uuid = issued["invoice"]["uuid"]
    assert names.keys() == {f"EKU9003173C9_AF1_{uuid}.xml", f"EKU9003173C9_AF1_{uuid}.pdf"}
    assert names[f"EKU9003173C9_AF1_{uuid}.pdf"].get_content().startswith(b"%PDF")
    # Issue 15: the ticket e-mail names the "Número de comercio" as the portal does, and the
    # folio reads "AF-1" in the e-mail as in the portal (Invoice.series-folio) and the PDF.
    assert "Número de comercio" in text and "Número de empresa" not in text
    invoice_text = invoice_mail.get_body(("plain",)).get_content()
    assert "Serie y folio: AF-1" in invoice_text and "Tu factura AF-1 de " in invoice_mail["Subject"]
    from pypdf import PdfReader
    import io
    pdf_text = PdfReader(io.BytesIO(names[f"EKU9003173C9_AF1_{uuid}.pdf"].get_content())).pages[0].extract_text()
    assert "AF-1" in pdf_text


async def test_send_failure_is_recorded_and_retried(gql, merchant, services, smtp):
    controller, inbox = smtp
    services.mailer = SmtpMailer("127.0.0.1", free_port(), timeout=2)  # nobody listens there
    row, client = merchant
    await client(RECORD, {"input": sale_input()})
    token = (await lookup(gql, row))["ticketToken"]
    issued = await issue(gql, token, {**CUSTOMER, "email": "cliente@example.com"})
    assert issued["__typename"] == "InvoiceIssued"  # the mail failure did not fail the invoice
    await drain(services)  # the send the request kicked off in the background has failed
    assert await notifications.deliver_due(services) == 0  # and the retry is not due yet
    async with services.uow_factory() as uow:
        msg = (await uow.session.execute(select(OutboxMessageRow))).scalar_one()
    assert msg.status == "PENDING" and msg.attempts == 1 and msg.last_error
    # The server comes back; the retry, once due, delivers.
    services.mailer = SmtpMailer("127.0.0.1", controller.port, timeout=5)
    async with services.uow_factory(write=True) as uow:
        row_ = await uow.outbox.by_id(msg.id)
        row_.next_attempt_at = row_.created_at
        await uow.outbox.save(row_)
        await uow.commit()
    assert await notifications.deliver_due(services) == 1
    assert len(inbox.messages) == 1


RESEND = operation("ResendInvoice")  # $email, invoice token


async def test_resend_invoice_to_another_address_and_its_cap(gql, merchant, services, smtp):
    controller, inbox = smtp
    services.mailer = SmtpMailer("127.0.0.1", controller.port, timeout=5)
    row, client = merchant
    await client(RECORD, {"input": sale_input()})
    issued = await issue(gql, (await lookup(gql, row))["ticketToken"], CUSTOMER)  # no e-mail given
    await drain(services)
    assert inbox.messages == []
    invoice_client = gql.as_(issued["accessToken"])
    bad = (await invoice_client(RESEND, {"email": "no es correo"}))["data"]["resendInvoice"]
    assert bad["__typename"] == "InvalidResend" and bad["errors"][0]["code"] == "EMAIL_INVALID"
    sent = (await invoice_client(RESEND, {"email": " Contador@Example.com "}))["data"]["resendInvoice"]
    assert sent == {"__typename": "InvoiceResent", "email": "contador@example.com"}
    await drain(services)
    [mail] = inbox.messages
    assert mail["To"] == "contador@example.com"
    assert {p.get_filename() for p in mail.iter_attachments()} == {
        f"EKU9003173C9_AF1_{issued['invoice']['uuid']}.xml", f"EKU9003173C9_AF1_{issued['invoice']['uuid']}.pdf"}
    # The invoice token cannot make our mail server a relay: a few e-mails per invoice, then no.
    answers = [(await invoice_client(RESEND, {"email": f"otro{i}@example.com"}))["data"]["resendInvoice"] for i in range(6)]
    assert [a["__typename"] for a in answers].count("InvoiceResent") == 5
    assert answers[-1]["errors"][0]["code"] == "TOO_MANY_EMAILS"
    # Only the invoice token: the ticket token or no token cannot resend.
    assert (await gql(RESEND, {"email": "x@example.com"}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
