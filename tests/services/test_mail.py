"""services.mail against a real SMTP server (aiosmtpd) on 127.0.0.1, not a mock."""
from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
import time
from decimal import Decimal
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.outbox.mail import (
    Mailer,
    MailError,
    OutboxMailer,
    SmtpMailer,
    build_mailer,
    invoice_message,
    ticket_message,
)

XML = ("<?xml version='1.0' encoding='UTF-8'?>\n<cfdi:Comprobante Sello=\"abc+/=\" Descripcion=\"Café ⏻\"/>\r\n").encode()
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
UUID = "6F35D3B5-3651-4370-BC2C-14CDBE384CD7"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and a client context that trusts it."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def server_context(tls_files) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, tls_files))
    return context


def client_context(tls_files) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"tienda" and auth_data.password == b"s3creta"
    return AuthResult(success=ok, handled=False)


def an_invoice(to="cliente@example.com") -> EmailMessage:
    return invoice_message(
        to=to,
        from_addr="facturas@autofactura.example",
        merchant_name="Café La Esquina",
        series_folio="A-123",
        uuid=UUID,
        xml_name="A-123.xml",
        xml_bytes=XML,
        pdf_name="A-123.pdf",
        pdf_bytes=PDF,
    )


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {p.get_filename(): (p.get_content_type(), p.get_payload(decode=True)) for p in message.iter_attachments()}


# ------------------------------------------------------------------------ SMTP


async def test_invoice_arrives_with_both_attachments_intact(smtp_server):
    controller, inbox = smtp_server
    mailer = SmtpMailer("127.0.0.1", controller.port, timeout=5)

    await mailer.send(an_invoice())

    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["cliente@example.com"]
    assert envelope.mail_from == "facturas@autofactura.example"
    (received,) = inbox.messages()
    assert received["Subject"] == "Tu factura A-123 de Café La Esquina"
    assert received["From"].addresses[0].display_name == "Café La Esquina"
    files = attachments(received)
    assert files == {"A-123.xml": ("application/xml", XML), "A-123.pdf": ("application/pdf", PDF)}
    plain = received.get_body(("plain",)).get_content()
    rich = received.get_body(("html",)).get_content()
    assert UUID in plain and UUID in rich and "A-123" in plain


# aiosmtpd only counts STARTTLS as TLS; with implicit TLS the connection is encrypted anyway.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "implicit-tls"])
async def test_tls_and_login(tls_files, mode):
    inbox = Inbox()
    port = free_port()
    if mode == "starttls":
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=server_context(tls_files),
            require_starttls=True, authenticator=authenticator, auth_required=True,
        )
    else:
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, ssl_context=server_context(tls_files),
            authenticator=authenticator, auth_required=True, auth_require_tls=False,
        )
    controller.start()
    try:
        mailer = SmtpMailer(
            "127.0.0.1", port, use_tls=(mode == "implicit-tls"), starttls=(mode == "starttls"),
            username="tienda", password="s3creta", timeout=5, ssl_context=client_context(tls_files),
        )
        await mailer.send(an_invoice())
        assert len(inbox.envelopes) == 1

        wrong = SmtpMailer(
            "127.0.0.1", port, use_tls=(mode == "implicit-tls"), starttls=(mode == "starttls"),
            username="tienda", password="otra", timeout=5, ssl_context=client_context(tls_files),
        )
        with pytest.raises(MailError) as info:
            await wrong.send(an_invoice())
        assert info.value.retryable is False and info.value.code == "MAIL_AUTH_FAILED"

        untrusted = SmtpMailer("127.0.0.1", port, use_tls=(mode == "implicit-tls"), starttls=(mode == "starttls"), timeout=5)
        with pytest.raises(MailError) as info:
            await untrusted.send(an_invoice())  # default context: the self-signed cert is not trusted
        assert info.value.retryable is False and info.value.code == "MAIL_TLS"
    finally:
        controller.stop()


async def test_server_down_is_a_retryable_error_within_the_timeout():
    mailer = SmtpMailer("127.0.0.1", free_port(), timeout=2)
    started = time.monotonic()
    with pytest.raises(MailError) as info:
        await mailer.send(an_invoice())
    assert info.value.retryable is True
    assert time.monotonic() - started < 2.5


async def test_server_that_never_answers_times_out_retryable():
    """A listener that accepts the connection but never sends the SMTP greeting."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        mailer = SmtpMailer("127.0.0.1", listener.getsockname()[1], timeout=0.5)
        started = time.monotonic()
        with pytest.raises(MailError) as info:
            await mailer.send(an_invoice())
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert info.value.retryable is True and info.value.code == "MAIL_TIMEOUT"
    assert elapsed < 1.5


async def test_permanent_rejection_is_not_retryable():
    class Rejecting(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 No such user"

    controller = Controller(Rejecting(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with pytest.raises(MailError) as info:
            await SmtpMailer("127.0.0.1", controller.port, timeout=5).send(an_invoice())
    finally:
        controller.stop()
    assert info.value.retryable is False and info.value.code == "MAIL_RECIPIENTS_REFUSED"


async def test_temporary_rejection_is_retryable():
    class Busy(Inbox):
        async def handle_DATA(self, server, session, envelope):
            return "451 4.3.0 Try again later"

    controller = Controller(Busy(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with pytest.raises(MailError) as info:
            await SmtpMailer("127.0.0.1", controller.port, timeout=5).send(an_invoice())
    finally:
        controller.stop()
    assert info.value.retryable is True


def test_credentials_over_clear_text_are_refused_off_loopback():
    with pytest.raises(ValueError):
        SmtpMailer("smtp.example.com", 25, username="u", password="p")
    SmtpMailer("smtp.example.com", 587, starttls=True, username="u", password="p")
    assert "secret" not in repr(SmtpMailer("smtp.example.com", 465, use_tls=True, username="u", password="secret"))


# ---------------------------------------------------------------------- outbox


async def test_outbox_writes_a_parseable_eml(tmp_path):
    outbox = OutboxMailer(tmp_path / "outbox")
    message = an_invoice()

    await outbox.send(message)
    await outbox.send(message)  # the same message twice: two files, nothing overwritten

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    assert not list((tmp_path / "outbox").glob(".*"))  # no temporary files left
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed["Subject"] == "Tu factura A-123 de Café La Esquina"
    assert attachments(parsed) == {"A-123.xml": ("application/xml", XML), "A-123.pdf": ("application/pdf", PDF)}


async def test_outbox_adds_message_id_when_missing(tmp_path):
    message = EmailMessage()
    message["To"], message["From"], message["Subject"] = "a@example.com", "b@example.com", "Hola"
    message.set_content("texto")
    await OutboxMailer(tmp_path).send(message)
    (eml,) = tmp_path.glob("*.eml")
    assert email.message_from_bytes(eml.read_bytes(), policy=policy.default)["Message-ID"]


# -------------------------------------------------------------------- messages


def test_ticket_message():
    message = ticket_message(
        to=["cliente@example.com"],
        from_addr="Tienda <no-responder@tienda.example>",
        merchant_name="Tienda Ñandú",
        company_number="1042",
        reference="T-0001-7788",
        total=Decimal("1234.5"),
        portal_url="https://factura.tienda.example/?empresa=1042&ref=T-0001-7788",
    )
    assert message["Subject"] == "Factura tu compra en Tienda Ñandú"
    plain = message.get_body(("plain",)).get_content()
    rich = message.get_body(("html",)).get_content()
    for fragment in ("1042", "T-0001-7788", "$1,234.50 MXN", "https://factura.tienda.example/?empresa=1042&ref=T-0001-7788"):
        assert fragment in plain
    assert 'href="https://factura.tienda.example/?empresa=1042&amp;ref=T-0001-7788"' in rich
    assert "$1,234.50 MXN" in rich
    assert not list(message.iter_attachments())


@pytest.mark.parametrize("url", ["javascript:alert(1)", "factura.example", ""])
def test_ticket_message_refuses_non_http_links(url):
    with pytest.raises(ValueError):
        ticket_message("a@example.com", "b@example.com", "T", "1", "R", Decimal("1"), url)


def test_messages_escape_html_and_strip_header_newlines():
    message = invoice_message(
        "a@example.com", "b@example.com", "Evil\r\nBcc: x@example.com <b>", "A-1", UUID,
        "../../etc/a.xml", XML, "a.pdf", PDF,
    )
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert "<b>" not in message.get_body(("html",)).get_content()
    assert "a.xml" in attachments(message)


def test_build_mailer_chooses_smtp_when_a_host_is_set(tmp_path):
    smtp = build_mailer(host="smtp.example.com", port="2525", timeout=7)
    assert isinstance(smtp, SmtpMailer) and smtp.port == 2525 and smtp.timeout == 7
    outbox = build_mailer(host="", outbox_dir=tmp_path)
    assert isinstance(outbox, OutboxMailer) and outbox.directory == tmp_path
    assert isinstance(smtp, Mailer) and isinstance(outbox, Mailer)
    with pytest.raises(ValueError):
        build_mailer()
    with pytest.raises(TypeError):
        build_mailer(hostname="smtp.example.com", outbox_dir=tmp_path)


def test_build_mailer_with_the_keywords_api_app_passes(tmp_path):
    """api/app.py: host, port, use_tls, starttls, username, password, timeout, outbox_dir."""
    common = dict(port=587, username="tienda", password="s3creta", timeout=15.0, outbox_dir=tmp_path / "outbox")
    starttls = build_mailer(host="smtp.example.com", use_tls=False, starttls=True, **common)
    assert isinstance(starttls, SmtpMailer) and starttls.starttls and not starttls.use_tls
    assert starttls.username == "tienda" and starttls.password == "s3creta" and starttls.timeout == 15.0
    implicit = build_mailer(host="smtp.example.com", use_tls=True, starttls=True, **{**common, "port": 465})
    assert implicit.use_tls and not implicit.starttls  # implicit TLS wins over the starttls default
    assert isinstance(build_mailer(host="", use_tls=False, starttls=True, **common), OutboxMailer)


def test_a_sandbox_invoice_mail_says_it_has_no_fiscal_validity():
    """issue 11: a sandbox stamp has no fiscal validity; the mail says so and never says
    the XML "es el que vale ante el SAT"."""
    message = invoice_message(
        to="cliente@example.com", from_addr="facturas@autofactura.example", merchant_name="Café La Esquina",
        series_folio="A-123", uuid=UUID, xml_name="A-123.xml", xml_bytes=XML, pdf_name="A-123.pdf", pdf_bytes=PDF,
        sandbox=True,
    )
    assert message["Subject"].startswith("[PRUEBA SIN VALIDEZ FISCAL]")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "NO tiene validez fiscal" in body
        assert "vale ante el SAT" not in body
    real = an_invoice().get_body(("plain",)).get_content()
    assert "es el que vale ante el SAT" in real and "validez fiscal" not in real


def test_the_cancellation_mail_carries_the_reprinted_pdf():
    from services.outbox.mail import cancellation_message

    message = cancellation_message(
        to="cliente@example.com", from_addr="facturas@autofactura.example", merchant_name="Café La Esquina",
        series_folio="A-123", uuid=UUID, pdf_name="A-123.pdf", pdf_bytes=PDF,
    )
    assert message["Subject"] == "Factura A-123 de Café La Esquina cancelada"
    text = message.get_body(("plain",)).get_content()
    assert "canceló ante el SAT" in text and UUID in text and "CANCELADO" in text
    assert attachments(message) == {"A-123.pdf": ("application/pdf", PDF)}
