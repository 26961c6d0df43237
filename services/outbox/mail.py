"""Outgoing e-mail: the two messages the product sends, and two ways to send them.

- `SmtpMailer`: the standard library's smtplib in a worker thread (asyncio.to_thread),
  under an asyncio timeout; failures become `MailError` with `retryable`.
- `OutboxMailer`: writes each message as an .eml file (the embedded default, for
  development and demos: nothing leaves the machine).
- `invoice_message` ("Tu factura ...": XML + PDF attached) and `ticket_message`
  ("Factura tu compra": the three ticket data and the portal link), in Spanish, plain
  text with a simple HTML alternative.
- `build_mailer`: SMTP when a host is configured, the outbox otherwise.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 30.0
SAT_VERIFICATION_URL = "https://verificacfdi.facturaelectronica.sat.gob.mx/"


class MailError(Exception):
    """Sending failed. `retryable`: the same message may go through later (server down,
    timeout, 4xx); not retryable: configuration or message problems (auth, 5xx)."""

    def __init__(self, message: str, retryable: bool, code: str = "MAIL_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code

    def __repr__(self) -> str:
        return f"MailError(code={self.code!r}, retryable={self.retryable}, message={self.message!r})"


@runtime_checkable
class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


# ------------------------------------------------------------------------------ SMTP



def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpMailer:
    """Send through an SMTP server.

    use_tls: implicit TLS from the first byte (SMTPS, usually port 465).
    starttls: plain connection upgraded with STARTTLS (usually port 587).
    Credentials are refused over a connection without TLS unless the server is on
    loopback (a local relay or a test server).

    A caveat of any client-side timeout: if the timeout fires while the server is
    already accepting the data, the message may still be delivered, and a retry then
    sends it twice. Mail is idempotent enough for that (the same invoice twice).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        use_tls: bool = False,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host:
            raise ValueError("host is required")
        if use_tls and starttls:
            raise ValueError("use_tls (implicit TLS) and starttls are exclusive")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if username and not (use_tls or starttls) and not _is_loopback(host):
            raise ValueError("SMTP credentials need use_tls or starttls (they would travel in clear text)")
        self.host = host
        self.port = port if port is not None else (465 if use_tls else 587 if starttls else 25)
        self.use_tls = use_tls
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer(host={self.host!r}, port={self.port}, use_tls={self.use_tls}, starttls={self.starttls})"

    async def send(self, message: EmailMessage) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.to_thread(self._send_sync, message)
        except TimeoutError as exc:
            raise MailError(
                f"El servidor de correo {self.host}:{self.port} no respondió en {self.timeout:g} s.",
                retryable=True,
                code="MAIL_TIMEOUT",
            ) from exc

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _send_sync(self, message: EmailMessage) -> None:
        try:
            if self.use_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=self._context())
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError("El servidor de correo rechazó el usuario o la contraseña.", False, "MAIL_AUTH_FAILED") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"El servidor de correo no admite la operación: {exc}", False, "MAIL_CONFIG") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailError(
                "El servidor de correo rechazó los destinatarios: " + ", ".join(exc.recipients),
                retryable=all(400 <= c < 500 for c in codes),
                code="MAIL_RECIPIENTS_REFUSED",
            ) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            raise MailError(
                f"El servidor de correo respondió {exc.smtp_code}: {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500,
                code="MAIL_REJECTED",
            ) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            raise MailError(f"Se perdió la conexión con el servidor de correo: {exc}", True, "MAIL_UNAVAILABLE") from exc
        except ssl.SSLCertVerificationError as exc:
            raise MailError(f"El certificado TLS del servidor de correo no es válido: {exc}", False, "MAIL_TLS") from exc
        except (TimeoutError, socket.timeout) as exc:
            raise MailError(
                f"El servidor de correo {self.host}:{self.port} no respondió en {self.timeout:g} s.", True, "MAIL_TIMEOUT"
            ) from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake...
            raise MailError(
                f"No se pudo conectar con el servidor de correo {self.host}:{self.port}: {exc}", True, "MAIL_UNAVAILABLE"
            ) from exc
        except (smtplib.SMTPException, ValueError) as exc:  # e.g. a message without recipients
            raise MailError(f"No se pudo enviar el mensaje: {exc}", False, "MAIL_INVALID_MESSAGE") from exc
        if refused:
            # Delivered to the others; a retry would send them a duplicate.
            raise MailError(
                "El servidor de correo rechazó algunos destinatarios: " + ", ".join(refused),
                retryable=False,
                code="MAIL_RECIPIENTS_REFUSED",
            )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------- outbox


class OutboxMailer:
    """Writes every message to `directory` as `<UTC time>_<Message-ID>.eml`.

    Each file is written to a temporary name and published with os.link (never
    overwrites; a name clash gets a numeric suffix), so a reader never sees half a file.
    A message without Message-ID or Date gets one (on the message object itself)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxMailer({str(self.directory)!r})"

    async def send(self, message: EmailMessage) -> None:
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain="autofactura.local")
        if message["Date"] is None:
            message["Date"] = format_datetime(datetime.now(timezone.utc))
        data = message.as_bytes()
        try:
            await asyncio.to_thread(self._write, message["Message-ID"], data)
        except OSError as exc:
            raise MailError(f"No se pudo escribir el mensaje en {self.directory}: {exc}", True, "MAIL_OUTBOX") from exc

    def _write(self, message_id: str, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        safe_id = re.sub(r"[^A-Za-z0-9.@_-]+", "", message_id)[:100] or "message"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            for attempt in range(1000):
                suffix = f"-{attempt}" if attempt else ""
                target = self.directory / f"{stamp}_{safe_id}{suffix}.eml"
                try:
                    os.link(tmp, target)
                    return target
                except FileExistsError:
                    continue
            raise OSError("no free file name")  # pragma: no cover
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


# -------------------------------------------------------------------------- messages


def _one_line(value: str) -> str:
    # Header values must not carry CR/LF (header injection); collapse all whitespace.
    return " ".join(str(value).split())


def _addresses(to: str | Iterable[str]) -> str:
    items = [to] if isinstance(to, str) else list(to)
    cleaned = [_one_line(a) for a in items if a and _one_line(a)]
    if not cleaned:
        raise ValueError("at least one recipient is required")
    for address in cleaned:
        if "@" not in parseaddr(address)[1]:
            raise ValueError(f"not an e-mail address: {address!r}")
    return ", ".join(cleaned)


def _from_header(from_addr: str, merchant_name: str) -> str | Address:
    from_addr = _one_line(from_addr)
    if "<" in from_addr:  # already "Name <address>"
        return from_addr
    local, _, domain = from_addr.partition("@")
    if not local or not domain:
        raise ValueError(f"not an e-mail address: {from_addr!r}")
    return Address(display_name=_one_line(merchant_name), username=local, domain=domain)


def _base_message(to, from_addr: str, merchant_name: str, subject: str, domain: str | None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _one_line(subject)
    message["From"] = _from_header(from_addr, merchant_name)
    message["To"] = _addresses(to)
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=domain or "autofactura.local")
    return message


def _domain(from_addr: str) -> str | None:
    address = parseaddr(from_addr)[1]
    return address.rpartition("@")[2] or None


def _html_page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head>\n"
        "<body style=\"font-family: Arial, Helvetica, sans-serif; color: #222; line-height: 1.5;\">\n"
        f"{body}\n</body></html>\n"
    )


def invoice_message(
    to: str | Iterable[str],
    from_addr: str,
    merchant_name: str,
    series_folio: str,
    uuid: str,
    xml_name: str,
    xml_bytes: bytes,
    pdf_name: str,
    pdf_bytes: bytes,
    sandbox: bool = False,
) -> EmailMessage:
    """"Tu factura" with the CFDI attached as application/xml and its PDF as application/pdf.

    `sandbox`: stamped by the sandbox PAC (or the local emulator): the mail says so in its
    subject and body and never says the XML counts before SAT (issue 11)."""
    merchant, folio, uuid = _one_line(merchant_name), _one_line(series_folio), _one_line(uuid).upper()
    xml_name, pdf_name = _filename(xml_name, ".xml"), _filename(pdf_name, ".pdf")
    subject = f"Tu factura {folio} de {merchant}" if folio else f"Tu factura de {merchant}"
    if sandbox:
        subject = f"{SANDBOX_SUBJECT_PREFIX} {subject}"
    message = _base_message(to, from_addr, merchant, subject, _domain(from_addr))

    folio_line = f"Serie y folio: {folio}\n" if folio else ""
    xml_text = SANDBOX_XML_TEXT if sandbox else "el comprobante fiscal en XML; guárdalo, es el que vale ante el SAT."
    warning = f"{SANDBOX_WARNING}\n\n" if sandbox else ""
    verify = "" if sandbox else f"Puedes comprobar la factura en el portal del SAT: {SAT_VERIFICATION_URL}\n\n"
    text = (
        "Hola:\n\n"
        f"{warning}"
        f"Te enviamos la factura electrónica (CFDI 4.0) de tu compra en {merchant}.\n\n"
        f"{folio_line}"
        f"Folio fiscal (UUID): {uuid}\n\n"
        "Van dos archivos adjuntos:\n"
        f"- {xml_name}: {xml_text}\n"
        f"- {pdf_name}: la representación impresa en PDF.\n\n"
        f"{verify}"
        "Este correo se envió automáticamente; no respondas a este mensaje.\n"
    )
    e = html.escape
    folio_html = f"<li>Serie y folio: <strong>{e(folio)}</strong></li>" if folio else ""
    warning_html = f"<p style=\"color: #c81e1e;\"><strong>{e(SANDBOX_WARNING)}</strong></p>\n" if sandbox else ""
    verify_html = "" if sandbox else (
        f"<p>Puedes comprobar la factura en el <a href=\"{e(SAT_VERIFICATION_URL)}\">portal del SAT</a>.</p>\n")
    body = (
        "<p>Hola:</p>\n"
        f"{warning_html}"
        f"<p>Te enviamos la factura electrónica (CFDI 4.0) de tu compra en <strong>{e(merchant)}</strong>.</p>\n"
        f"<ul>{folio_html}<li>Folio fiscal (UUID): <strong>{e(uuid)}</strong></li></ul>\n"
        "<p>Van dos archivos adjuntos:</p>\n"
        f"<ul><li><strong>{e(xml_name)}</strong>: {e(xml_text)}</li>"
        f"<li><strong>{e(pdf_name)}</strong>: la representación impresa en PDF.</li></ul>\n"
        f"{verify_html}"
        "<p style=\"color: #777; font-size: 12px;\">Este correo se envió automáticamente; no respondas a este mensaje.</p>"
    )
    message.set_content(text)
    message.add_alternative(_html_page(subject, body), subtype="html")
    message.add_attachment(bytes(xml_bytes), maintype="application", subtype="xml", filename=xml_name)
    message.add_attachment(bytes(pdf_bytes), maintype="application", subtype="pdf", filename=pdf_name)
    return message


SANDBOX_SUBJECT_PREFIX = "[PRUEBA SIN VALIDEZ FISCAL]"
SANDBOX_WARNING = (
    "Esta factura es de PRUEBA: se timbró con un PAC de pruebas (sandbox) y NO tiene validez fiscal; "
    "el SAT no la reconoce. Pide al comercio tu factura timbrada por un PAC autorizado."
)
SANDBOX_XML_TEXT = "el comprobante en XML, de prueba y sin validez fiscal."


def cancellation_message(
    to: str | Iterable[str],
    from_addr: str,
    merchant_name: str,
    series_folio: str,
    uuid: str,
    pdf_name: str,
    pdf_bytes: bytes,
    sandbox: bool = False,
) -> EmailMessage:
    """"Tu factura fue cancelada": the customer learns the CFDI was cancelled at SAT, with
    the PDF re-printed with its CANCELADO mark."""
    merchant, folio, uuid = _one_line(merchant_name), _one_line(series_folio), _one_line(uuid).upper()
    pdf_name = _filename(pdf_name, ".pdf")
    subject = f"Factura {folio} de {merchant} cancelada" if folio else f"Factura de {merchant} cancelada"
    if sandbox:
        subject = f"{SANDBOX_SUBJECT_PREFIX} {subject}"
    message = _base_message(to, from_addr, merchant, subject, _domain(from_addr))
    warning = f"{SANDBOX_WARNING}\n\n" if sandbox else ""
    text = (
        "Hola:\n\n"
        f"{warning}"
        f"{merchant} canceló ante el SAT la factura electrónica (CFDI 4.0) de tu compra.\n\n"
        + (f"Serie y folio: {folio}\n" if folio else "")
        + f"Folio fiscal (UUID): {uuid}\n\n"
        "Ya no es válida para deducir ni acreditar impuestos. Si necesitas una factura nueva, pídesela al comercio.\n"
        f"Adjuntamos la representación impresa con la marca CANCELADO ({pdf_name}).\n\n"
        "Este correo se envió automáticamente; no respondas a este mensaje.\n"
    )
    e = html.escape
    body = "".join(f"<p>{e(line)}</p>\n" for line in text.strip().split("\n\n"))
    message.set_content(text)
    message.add_alternative(_html_page(subject, body), subtype="html")
    message.add_attachment(bytes(pdf_bytes), maintype="application", subtype="pdf", filename=pdf_name)
    return message


def ticket_message(
    to: str | Iterable[str],
    from_addr: str,
    merchant_name: str,
    company_number: str,
    reference: str,
    total: Decimal,
    portal_url: str,
) -> EmailMessage:
    """"Factura tu compra": the three data the portal asks for, and the link."""
    merchant = _one_line(merchant_name)
    company_number, reference = _one_line(company_number), _one_line(reference)
    url = _one_line(portal_url)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"portal_url must be an http(s) URL: {portal_url!r}")
    amount = format_amount(total)
    subject = f"Factura tu compra en {merchant}"
    message = _base_message(to, from_addr, merchant, subject, _domain(from_addr))

    text = (
        "Hola:\n\n"
        f"Gracias por tu compra en {merchant}. Puedes facturarla tú mismo en:\n"
        f"{url}\n\n"
        "Escribe estos tres datos de tu ticket:\n"
        f"- Número de comercio: {company_number}\n"
        f"- Referencia: {reference}\n"
        f"- Total: {amount}\n\n"
        "Ten a la mano tu RFC, tu nombre o razón social, tu código postal y tu régimen fiscal "
        "tal como aparecen en tu Constancia de Situación Fiscal.\n\n"
        "Este correo se envió automáticamente; no respondas a este mensaje.\n"
    )
    e = html.escape
    body = (
        "<p>Hola:</p>\n"
        f"<p>Gracias por tu compra en <strong>{e(merchant)}</strong>. Puedes facturarla tú mismo.</p>\n"
        "<p>Escribe estos tres datos de tu ticket:</p>\n"
        "<table style=\"border-collapse: collapse;\">"
        f"<tr><td style=\"padding: 4px 12px 4px 0;\">Número de comercio</td><td><strong>{e(company_number)}</strong></td></tr>"
        f"<tr><td style=\"padding: 4px 12px 4px 0;\">Referencia</td><td><strong>{e(reference)}</strong></td></tr>"
        f"<tr><td style=\"padding: 4px 12px 4px 0;\">Total</td><td><strong>{e(amount)}</strong></td></tr>"
        "</table>\n"
        f"<p><a href=\"{e(url)}\" style=\"display: inline-block; padding: 10px 18px; background: #0b5ed7; "
        f"color: #fff; text-decoration: none; border-radius: 4px;\">Factura tu compra</a></p>\n"
        f"<p>Si el botón no funciona, copia esta dirección en tu navegador: {e(url)}</p>\n"
        "<p>Ten a la mano tu RFC, tu nombre o razón social, tu código postal y tu régimen fiscal "
        "tal como aparecen en tu Constancia de Situación Fiscal.</p>\n"
        "<p style=\"color: #777; font-size: 12px;\">Este correo se envió automáticamente; no respondas a este mensaje.</p>"
    )
    message.set_content(text)
    message.add_alternative(_html_page(subject, body), subtype="html")
    return message


def csd_expiry_message(
    to: str,
    from_addr: str,
    merchant_name: str,
    rfc: str,
    certificate_number: str,
    valid_to: datetime,
    days_left: int,
) -> EmailMessage:
    """"Tu CSD vence en N días": renew it at SAT and upload it (replaceCsd)."""
    merchant, rfc, number = _one_line(merchant_name), _one_line(rfc), _one_line(certificate_number)
    when = f"{valid_to:%d/%m/%Y}"
    days = "1 día" if days_left == 1 else f"{days_left} días"
    subject = f"Tu Certificado de Sello Digital vence en {days}"
    message = _base_message(to, from_addr, merchant, subject, _domain(from_addr))
    text = (
        "Hola:\n\n"
        f"El Certificado de Sello Digital (CSD) número {number} de {merchant} (RFC {rfc}) vence el {when}, "
        f"en {days}. Después de esa fecha tus clientes no podrán facturar sus tickets.\n\n"
        "Tramita un CSD nuevo en el portal del SAT (aplicación Certifica, con tu e.firma) y súbelo en "
        "Autofactura (el .cer, el .key y la contraseña de la llave). Las facturas nuevas usarán el nuevo "
        "certificado de inmediato.\n\n"
        "Este correo se envió automáticamente; no respondas a este mensaje.\n"
    )
    e = html.escape
    body = (
        "<p>Hola:</p>\n"
        f"<p>El Certificado de Sello Digital (CSD) número <strong>{e(number)}</strong> de <strong>{e(merchant)}</strong> "
        f"(RFC {e(rfc)}) vence el <strong>{e(when)}</strong>, en {e(days)}. Después de esa fecha tus clientes no "
        "podrán facturar sus tickets.</p>\n"
        "<p>Tramita un CSD nuevo en el portal del SAT (aplicación Certifica, con tu e.firma) y súbelo en "
        "Autofactura (el .cer, el .key y la contraseña de la llave). Las facturas nuevas usarán el nuevo "
        "certificado de inmediato.</p>\n"
        "<p style=\"color: #777; font-size: 12px;\">Este correo se envió automáticamente; no respondas a este mensaje.</p>"
    )
    message.set_content(text)
    message.add_alternative(_html_page(subject, body), subtype="html")
    return message


def format_amount(total: Decimal) -> str:
    """$1,234.50 MXN (Mexican convention: comma thousands, point decimals)."""
    if not isinstance(total, Decimal):
        raise TypeError("total must be a Decimal")
    return f"${total.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f} MXN"


def _filename(name: str, extension: str) -> str:
    # A bare file name: no directories, no control characters.
    cleaned = _one_line(os.path.basename(str(name).replace("\\", "/")))
    cleaned = re.sub(r"[\x00-\x1f\x7f\"]", "", cleaned)
    if not cleaned or cleaned in (".", ".."):
        cleaned = "factura" + extension
    return cleaned


# --------------------------------------------------------------------------- factory


def build_mailer(
    *,
    host: str | None = None,
    port: int | None = None,
    use_tls: bool = False,
    starttls: bool = False,
    username: str | None = None,
    password: object = None,
    timeout: float | None = None,
    outbox_dir: Path | str | None = None,
) -> Mailer:
    """SmtpMailer when a host is set, OutboxMailer(outbox_dir) otherwise.

    The keywords are the ones api/app.py passes from its settings (smtp_host -> host,
    smtp_port -> port, smtp_tls -> use_tls, smtp_starttls -> starttls, smtp_user ->
    username, smtp_password -> password, smtp_timeout_seconds -> timeout, and the
    outbox directory); any other keyword is a TypeError, so a typo does not silently
    fall back to the outbox. `password` may be a pydantic SecretStr. When both use_tls
    and starttls are true, implicit TLS wins (settings often default starttls to true).
    """
    if hasattr(password, "get_secret_value"):
        password = password.get_secret_value()
    if host:
        return SmtpMailer(
            host=str(host),
            port=int(port) if port else None,
            use_tls=bool(use_tls),
            starttls=bool(starttls) and not use_tls,
            username=username or None,
            password=password or None,
            timeout=float(timeout) if timeout else DEFAULT_TIMEOUT,
        )
    if not outbox_dir:
        raise ValueError("Set an SMTP host to send e-mail, or outbox_dir to keep it in an outbox directory.")
    return OutboxMailer(Path(outbox_dir))
