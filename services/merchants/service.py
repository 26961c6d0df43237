"""Merchants: registration from a CSD, login, and self-invoicing settings."""
from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from persistence.tables import MerchantRow
from persistence.uow import UowFactory
from services import catalogs
from services.cfdi import xsd_text
from services.cfdi.csd import CsdError, load_csd
from services.kernel.codes import MerchantErrorCode as Code
from services.kernel.results import Invalid, invalid
from services.kernel.security import MERCHANT, SecretBox, TokenService, hash_password, verify_password
from services.kernel.challenge import Challenges
from services.kernel.throttle import Admitted, ChallengeRequired, Refused, Throttle, admit, key, login_keys, wait_message
from services.kernel.types import CsdMaterial, FieldProblem
from services.global_invoice.period import periodicity_problems
from services.merchants.models import Merchant, merchant_from_row

COMPANY_NUMBER_COUNTER = "company_number"
COMPANY_NUMBER_START = 100001  # six digits from the first merchant on; never reused
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_PASSWORD = 10
DEADLINE_DAYS_RANGE = (1, 365)
KEY_PURPOSE = "csd-key"
KEY_PASSWORD_PURPOSE = "csd-key-password"
DEFAULT_SERIES = "AF"
# Facturas globales take their folios from the series GL (services/global_invoice); a
# self-invoice series of the same name would share that counter and leave gaps in both.
RESERVED_SERIES = frozenset({"GL"})
SERIES_MAX = 25


@dataclass(frozen=True)
class MerchantRegistration:
    email: str
    password: str = field(repr=False)
    certificate_der: bytes = field(repr=False)
    key_der: bytes = field(repr=False)
    key_password: str = field(repr=False)
    tax_regime: str
    zip_code: str


# Which input a CSD problem points at (services/cfdi/csd.py codes): the API's field names.
CSD_PROBLEM_FIELDS = {
    Code.INVALID_CERTIFICATE: "certificate",
    Code.NOT_A_CSD: "certificate",
    Code.EXPIRED: "certificate",
    Code.KEY_MISMATCH: "privateKey",
    Code.WRONG_PASSWORD: "keyPassword",
}


def csd_problem(exc: CsdError) -> FieldProblem:
    code = Code(exc.code)
    return FieldProblem(CSD_PROBLEM_FIELDS.get(code, "certificate"), code, exc.message)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: str) -> bool:
    return bool(EMAIL_RE.match(email)) and len(email) <= 254


async def register_merchant(uow_factory: UowFactory, box: SecretBox, reg: MerchantRegistration) -> Merchant | Invalid:
    """Create a merchant from its CSD, or every problem at once."""
    problems: list[FieldProblem] = []
    email = normalize_email(reg.email)
    if not valid_email(email):
        problems.append(FieldProblem("email", Code.EMAIL_INVALID, "El correo electrónico no es válido."))
    if len(reg.password) < MIN_PASSWORD:
        problems.append(
            FieldProblem("password", Code.PASSWORD_TOO_SHORT, f"La contraseña debe tener al menos {MIN_PASSWORD} caracteres.")
        )
    info = None
    try:
        # Decrypting the .key (PBKDF2) costs tens of milliseconds of CPU: off the event loop
        # (CONVENTIONS 13), now that registerMerchant runs it inside the server.
        info = await asyncio.to_thread(load_csd, reg.certificate_der, reg.key_der, reg.key_password.encode())
    except CsdError as exc:
        problems.append(csd_problem(exc))
    # CFDI40158 family: the régimen must exist and apply to the RFC's person type.
    if catalogs.tax_regime(reg.tax_regime) is None:
        problems.append(
            FieldProblem("taxRegime", Code.TAX_REGIME_INVALID, f"El régimen fiscal {reg.tax_regime!r} no está en el catálogo c_RegimenFiscal del SAT.")
        )
    elif info is not None and not catalogs.regime_applies_to(reg.tax_regime, info.person_type):
        kind = "personas físicas" if info.person_type == catalogs.PHYSICAL else "personas morales"
        problems.append(
            FieldProblem("taxRegime", Code.TAX_REGIME_PERSON_TYPE, f"El régimen fiscal {reg.tax_regime} no aplica a {kind} (RFC {info.rfc}).")
        )
    # CFDI40147 family: LugarExpedicion must be in c_CodigoPostal.
    if catalogs.postal_code(reg.zip_code) is None:
        problems.append(
            FieldProblem("zipCode", Code.ZIP_CODE_INVALID, f"El código postal {reg.zip_code!r} no existe en el catálogo c_CodigoPostal del SAT.")
        )
    if problems:
        return Invalid(tuple(problems))
    assert info is not None
    password_hash = await asyncio.to_thread(hash_password, reg.password)
    async with uow_factory(write=True) as uow:
        if await uow.merchants.email_taken(email):
            return invalid(FieldProblem("email", Code.EMAIL_TAKEN, "Ya existe un comercio registrado con ese correo."))
        number = await uow.counters.next(COMPANY_NUMBER_COUNTER, start=COMPANY_NUMBER_START)
        row = MerchantRow(
            company_number=str(number),
            email=email,
            password_hash=password_hash,
            rfc=info.rfc,
            legal_name=info.legal_name,
            tax_regime=reg.tax_regime,
            zip_code=reg.zip_code,
            certificate_number=info.certificate_number,
            certificate_valid_to=info.valid_to,
            certificate_der=reg.certificate_der,
            key_encrypted=box.seal(reg.key_der, KEY_PURPOSE),
            key_password_encrypted=box.seal(reg.key_password.encode(), KEY_PASSWORD_PURPOSE),
            series=DEFAULT_SERIES,
            created_at=datetime.now(UTC),
        )
        await uow.merchants.add(row)
        await uow.commit()
    return merchant_from_row(row)


def csd_material(box: SecretBox, merchant: MerchantRow) -> CsdMaterial:
    """The merchant's CSD, decrypted in memory for one seal. Never logged, never stored."""
    return CsdMaterial(
        certificate_der=merchant.certificate_der,
        private_key_der=box.open(merchant.key_encrypted, KEY_PURPOSE),
        password=box.open(merchant.key_password_encrypted, KEY_PASSWORD_PURPOSE),
    )


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginRefused:
    message: str
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class LoginChallenge:
    """Too many failed logins for this e-mail from all addresses together: solve this
    proof-of-work challenge (ALTCHA JSON) and send the solution with the same login."""

    challenge: str
    message: str


INVALID_CREDENTIALS = "Correo o contraseña incorrectos."
CHALLENGE_MESSAGE = (
    "Hubo muchos intentos fallidos con este correo. Resuelve la verificación automática y vuelve a intentarlo."
)
CHALLENGE_FAILED_MESSAGE = "La verificación no es válida, ya se usó o expiró: resuelve esta nueva."


async def login(
    uow_factory: UowFactory, tokens: TokenService, email: str, password: str, ttl: timedelta,
    *, throttle: Throttle | None = None, client: str = "unknown", challenges: Challenges | None = None,
    challenge: str | None = None,
) -> Session | LoginRefused | LoginChallenge:
    """A merchant token, or a refusal: unknown e-mail and wrong password look the same.
    Failures are counted per (address, e-mail) and per address, where they refuse (password
    guessing), and per e-mail, where past a burst they ask for a solved challenge
    (``challenge``) instead: an attacker cannot lock the merchant out."""
    email = normalize_email(email)[:254]
    now = datetime.now(UTC)
    admitted: tuple[str, ...] = ()
    if throttle is not None:
        assert challenges is not None, "a throttled login needs the challenges"
        # Counted before the password is checked, in one step with the check (a burst of
        # concurrent guesses cannot all pass on the same old count); refunded on success.
        per_client_email, per_client, per_email = login_keys(client, email)
        limits = throttle.limits
        purpose = f"login:{email}"
        solved = bool(challenge) and await challenges.redeem(throttle, challenge, purpose, now)
        admission = await admit(
            throttle, now, hard={per_client_email: limits.per_login_client_email, per_client: limits.per_login_client},
            burst=(per_email, limits.login_email_burst), solved=solved,
        )
        match admission:
            case Refused(retry_after=wait):
                return LoginRefused(wait_message(wait), wait)
            case ChallengeRequired():
                return LoginChallenge(challenges.create(purpose, now), CHALLENGE_FAILED_MESSAGE if challenge else CHALLENGE_MESSAGE)
            case Admitted(keys=admitted):
                pass
    async with uow_factory() as uow:
        merchant = await uow.merchants.by_email(email)
    # argon2 costs tens of milliseconds of CPU: off the event loop.
    ok = await asyncio.to_thread(verify_password, merchant.password_hash if merchant else None, password)
    if not ok or merchant is None:
        return LoginRefused(INVALID_CREDENTIALS)
    if throttle is not None:
        await throttle.refund(admitted, now)
    token, expires = tokens.issue(MERCHANT, str(merchant.id), ttl)
    return Session(token, expires)


async def get_merchant(uow_factory: UowFactory, merchant_id: int) -> Merchant | None:
    """None when the merchant no longer exists (a token outliving its merchant)."""
    async with uow_factory() as uow:
        row = await uow.merchants.by_id(merchant_id)
    return merchant_from_row(row) if row is not None else None


async def get_by_company_number(uow_factory: UowFactory, company_number: str) -> Merchant | None:
    if not (company_number.isascii() and company_number.isdigit()) or len(company_number) > 12:
        return None
    async with uow_factory() as uow:
        row = await uow.merchants.by_company_number(company_number)
    return merchant_from_row(row) if row is not None else None


async def set_self_invoicing(uow_factory: UowFactory, merchant_id: int, enabled: bool) -> Merchant | None:
    async with uow_factory(write=True) as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        if merchant is None:
            return None
        merchant.self_invoicing_enabled = enabled
        await uow.merchants.save(merchant)
        await uow.commit()
    return merchant_from_row(merchant)


async def update_settings(
    uow_factory: UowFactory, merchant_id: int, *, month_end_limit: bool | None, deadline_days: int | None,
    global_invoice_periodicity: str | None = None, global_invoice_automatic: bool | None = None,
) -> Merchant | Invalid | None:
    lo, hi = DEADLINE_DAYS_RANGE
    if deadline_days is not None and not lo <= deadline_days <= hi:
        return invalid(FieldProblem("deadlineDays", Code.OUT_OF_RANGE, f"El plazo debe estar entre {lo} y {hi} días."))
    async with uow_factory(write=True) as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        if merchant is None:
            return None
        if global_invoice_periodicity is not None:
            # c_Periodicidad; 05 bimestral only for RegimenFiscal 621 (Guía de llenado del CFDI global).
            problems = periodicity_problems(global_invoice_periodicity, merchant.tax_regime, "globalInvoicePeriodicity")
            if problems:
                return Invalid(tuple(problems))
            merchant.global_invoice_periodicity = global_invoice_periodicity
        if global_invoice_automatic is not None:
            merchant.global_invoice_automatic = global_invoice_automatic
        if month_end_limit is not None:
            merchant.month_end_limit = month_end_limit
        if deadline_days is not None:
            merchant.deadline_days = deadline_days
        await uow.merchants.save(merchant)
        await uow.commit()
    return merchant_from_row(merchant)


async def update_generic_concept(
    uow_factory: UowFactory,
    merchant_id: int,
    *,
    enabled: bool,
    product_key: str | None,
    unit_key: str | None,
    description: str | None,
) -> Merchant | Invalid | None:
    problems = []
    raw_description = description or ""
    description = " ".join(raw_description.split()) or None
    if product_key is not None and catalogs.product_key(product_key) is None:
        problems.append(FieldProblem("productKey", Code.PRODUCT_KEY_INVALID, f"La clave {product_key!r} no está en el catálogo c_ClaveProdServ del SAT."))
    if unit_key is not None and catalogs.unit_key(unit_key) is None:
        problems.append(FieldProblem("unitKey", Code.UNIT_KEY_INVALID, f"La clave de unidad {unit_key!r} no está en el catálogo c_ClaveUnidad del SAT."))
    if xsd_text.unwritable(raw_description) is not None:
        problems.append(FieldProblem("description", Code.DESCRIPTION_INVALID, "La descripción contiene caracteres de control (invisibles): quítalos."))
    elif description is not None and len(description) > 1000:
        problems.append(FieldProblem("description", Code.TOO_LONG, "La descripción admite hasta 1000 caracteres (Anexo 20, Concepto.Descripcion)."))
    elif description is not None and xsd_text.text_problem(description, xsd_text.DESCRIPCION) is not None:
        # cfdv40.xsd Concepto@Descripcion pattern [^|]{1,1000}: "|" is the cadena's separator.
        problems.append(FieldProblem("description", Code.DESCRIPTION_INVALID,
                                     "La descripción no puede contener el carácter «|»: el SAT no lo admite (Anexo 20, Descripcion)."))
    async with uow_factory(write=True) as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        if merchant is None:
            return None
        new_product = product_key if product_key is not None else merchant.generic_product_key
        new_unit = unit_key if unit_key is not None else merchant.generic_unit_key
        new_description = description if description is not None else merchant.generic_description
        if enabled:
            if not new_product:
                problems.append(FieldProblem("productKey", Code.REQUIRED, "Indica la clave de producto o servicio del concepto genérico."))
            if not new_unit:
                problems.append(FieldProblem("unitKey", Code.REQUIRED, "Indica la clave de unidad del concepto genérico."))
            if not new_description:
                problems.append(FieldProblem("description", Code.REQUIRED, "Indica la descripción del concepto genérico."))
        if problems:
            return Invalid(tuple(problems))
        merchant.generic_concept_enabled = enabled
        merchant.generic_product_key = new_product
        merchant.generic_unit_key = new_unit
        merchant.generic_description = new_description
        await uow.merchants.save(merchant)
        await uow.commit()
    return merchant_from_row(merchant)


@dataclass(frozen=True)
class SignedUp:
    merchant: Merchant
    session: Session


@dataclass(frozen=True)
class SignupThrottled:
    message: str
    retry_after_seconds: int


def signup_key(client: str) -> str:
    return key("su", client)


async def sign_up(
    uow_factory: UowFactory, box: SecretBox, tokens: TokenService, reg: MerchantRegistration, ttl: timedelta,
    *, throttle: Throttle, client: str,
) -> SignedUp | Invalid | SignupThrottled:
    """Self-service registration (registerMerchant): exactly the checks and messages of
    `autofactura merchant create` (register_merchant), and a merchant token. Every attempt,
    accepted or not, counts against the client address (Limits.per_signup_client): each one
    costs an argon2 hash and a CSD decryption, and accepted ones create accounts."""
    now = datetime.now(UTC)
    admission = await admit(throttle, now, hard={signup_key(client): throttle.limits.per_signup_client})
    match admission:
        case Refused(retry_after=wait):
            return SignupThrottled(
                f"Demasiados registros desde esta dirección. Intenta de nuevo en {max(1, -(-wait // 60))} minutos.", wait
            )
        case ChallengeRequired():
            raise AssertionError("no burst limit was given")
        case Admitted():
            pass  # counted, never refunded: a successful signup is an attempt too
    result = await register_merchant(uow_factory, box, reg)
    if isinstance(result, Invalid):
        return result
    token, expires = tokens.issue(MERCHANT, str(result.id), ttl)
    return SignedUp(result, Session(token, expires))


MAX_UPLOAD_BYTES = 64 * 1024  # a SAT .cer is ~1.5 kB and a .key ~1.3 kB


def decode_upload(field_name: str, text: str) -> bytes | FieldProblem:
    """A .cer or .key sent over the API as base64 (standard alphabet, padding optional)."""
    compact = "".join(text.split())
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data or len(data) > MAX_UPLOAD_BYTES:
        kind = "certificado (.cer)" if field_name == "certificate" else "llave privada (.key)"
        return FieldProblem(
            field_name, Code.NOT_BASE64,
            f"Envía el archivo de tu {kind} codificado en base64, tal como lo descargaste del SAT (hasta 64 kB).",
        )
    return data


def decode_csd_files(certificate: str, private_key: str) -> tuple[bytes, bytes] | Invalid:
    cer, key = decode_upload("certificate", certificate), decode_upload("privateKey", private_key)
    problems = [p for p in (cer, key) if isinstance(p, FieldProblem)]
    if problems:
        return Invalid(tuple(problems))
    assert isinstance(cer, bytes) and isinstance(key, bytes)
    return cer, key


def normalize_series(series: str) -> str:
    """cfdv40.xsd declares Comprobante@Serie with xs:whiteSpace="collapse": what counts is
    the value with surrounding blanks removed and inner runs folded to one space."""
    return " ".join(series.split())


async def update_series(uow_factory: UowFactory, merchant_id: int, series: str) -> Merchant | Invalid | None:
    """The series of the merchant's next self-invoices. Folios are counted per merchant and
    series (persistence/repositories/counters.py, counter folio:<merchant>:<series>), so
    each series keeps its own gapless folios, and going back to an earlier series continues
    where it stopped."""
    value = normalize_series(series)
    # Anexo 20 / cfdv40.xsd, Comprobante@Serie: xs:string, 1 to 25 characters, pattern
    # [^|]{1,25} (the pipe separates the fields of the cadena original).
    if not 1 <= len(value) <= SERIES_MAX or "|" in value or not value.isprintable():
        return invalid(FieldProblem(
            "series", Code.SERIES_INVALID,
            f"La serie debe tener de 1 a {SERIES_MAX} caracteres visibles y no puede contener «|» "
            "(Anexo 20, atributo Serie del comprobante).",
        ))
    if value in RESERVED_SERIES:
        return invalid(FieldProblem(
            "series", Code.SERIES_RESERVED,
            f"La serie {value} está reservada para las facturas globales. Elige otra serie.",
        ))
    async with uow_factory(write=True) as uow:
        merchant = await uow.merchants.by_id(merchant_id)
        if merchant is None:
            return None
        merchant.series = value
        await uow.merchants.save(merchant)
        await uow.commit()
    return merchant_from_row(merchant)
