"""Sales recorded by the point of sale: validation, idempotent recording, listing."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError

from persistence.tables import MerchantRow, SaleRow
from persistence.uow import UowFactory
from services import catalogs
from services.errors import ValidationFailed
from services.merchants import valid_email
from services.money import cents
from services.types import IVA_16, FieldProblem, LineTax, SaleLine

MAX_LINES = 500  # documented cap on lines per sale (schema docs, README)
MAX_PAGE = 100
MAX_REFERENCE = 100
MAX_AMOUNT = Decimal("99999999.99")
FUTURE_SKEW = timedelta(minutes=5)
MAX_DECIMALS = 6  # Anexo 20: Cantidad and ValorUnitario admit up to 6 decimals


@dataclass(frozen=True)
class RawTax:
    type: str
    rate: Decimal | None
    exempt: bool


@dataclass(frozen=True)
class RawLine:
    product_key: str
    unit_key: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    taxes: tuple[RawTax, ...] | None


@dataclass(frozen=True)
class SaleInput:
    reference: str
    sold_at: datetime | None
    payment_form: str
    lines: tuple[RawLine, ...]
    customer_email: str | None = None


def reference_key(reference: str) -> str:
    """What ticket lookups match: trimmed, inner spaces folded, case-folded."""
    return " ".join(reference.split()).casefold()


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 99


def validate_sale(sale: SaleInput, merchant: MerchantRow, now: datetime) -> tuple[SaleLine, ...]:
    """Every problem at once, or the lines as the engine will see them."""
    problems: list[FieldProblem] = []
    add = lambda f, c, m: problems.append(FieldProblem(f, c, m))  # noqa: E731
    ref = " ".join(sale.reference.split())
    if not ref:
        add("reference", "REQUIRED", "La referencia del ticket es obligatoria.")
    elif len(ref) > MAX_REFERENCE:
        add("reference", "TOO_LONG", f"La referencia admite hasta {MAX_REFERENCE} caracteres.")
    elif not ref.isprintable():
        add("reference", "INVALID", "La referencia contiene caracteres no imprimibles.")
    if sale.sold_at is not None and sale.sold_at > now + FUTURE_SKEW:
        add("soldAt", "IN_FUTURE", "La fecha de venta no puede estar en el futuro.")
    # Anexo 20, FormaPago: c_FormaPago; with MetodoPago PUE the value 99 "Por definir" is not allowed.
    if catalogs.payment_form(sale.payment_form) is None:
        add("paymentForm", "PAYMENT_FORM_INVALID", f"La forma de pago {sale.payment_form!r} no está en el catálogo c_FormaPago.")
    elif sale.payment_form == "99":
        add("paymentForm", "PAYMENT_FORM_INVALID", "Una venta pagada (PUE) no puede tener forma de pago 99 «Por definir».")
    if sale.customer_email is not None and not valid_email(sale.customer_email.strip()):
        add("customerEmail", "EMAIL_INVALID", "El correo electrónico del cliente no es válido.")
    if not sale.lines:
        add("lines", "REQUIRED", "La venta debe tener al menos una línea.")
    if len(sale.lines) > MAX_LINES:
        add("lines", "TOO_MANY", f"Una venta admite hasta {MAX_LINES} líneas.")
        return _fail(problems)
    border = bool((pc := catalogs.postal_code(merchant.zip_code)) and pc.border_region)
    out: list[SaleLine] = []
    for i, line in enumerate(sale.lines):
        p = f"lines.{i}"
        if catalogs.product_key(line.product_key) is None:
            add(f"{p}.productKey", "PRODUCT_KEY_INVALID", f"La clave {line.product_key!r} no está en el catálogo c_ClaveProdServ.")
        if catalogs.unit_key(line.unit_key) is None:
            add(f"{p}.unitKey", "UNIT_KEY_INVALID", f"La clave de unidad {line.unit_key!r} no está en el catálogo c_ClaveUnidad.")
        description = " ".join(line.description.split())
        if not description:
            add(f"{p}.description", "REQUIRED", "La descripción es obligatoria.")
        elif len(description) > 1000:
            add(f"{p}.description", "TOO_LONG", "La descripción admite hasta 1000 caracteres (Anexo 20, Descripcion).")
        if not line.quantity.is_finite() or line.quantity <= 0:
            add(f"{p}.quantity", "NOT_POSITIVE", "La cantidad debe ser mayor que cero.")
        elif _decimals(line.quantity) > MAX_DECIMALS:
            add(f"{p}.quantity", "TOO_MANY_DECIMALS", "La cantidad admite hasta 6 decimales (Anexo 20, Cantidad).")
        if not line.unit_price.is_finite() or line.unit_price < 0:
            add(f"{p}.unitPrice", "NEGATIVE", "El precio no puede ser negativo.")
        elif _decimals(line.unit_price) > MAX_DECIMALS:
            add(f"{p}.unitPrice", "TOO_MANY_DECIMALS", "El precio admite hasta 6 decimales.")
        elif line.quantity.is_finite() and line.quantity * line.unit_price > MAX_AMOUNT:
            add(f"{p}.unitPrice", "TOO_LARGE", "El importe de la línea es demasiado grande.")
        taxes = _validate_taxes(line.taxes, p, border, add)
        if taxes is not None and not any(x.field.startswith(p + ".") for x in problems):
            out.append(SaleLine(line.product_key, line.unit_key, description, line.quantity, line.unit_price, taxes))
    if not problems and sum((x.amount for x in out), Decimal(0)) <= 0:
        add("lines", "TOTAL_NOT_POSITIVE", "El total de la venta debe ser mayor que cero.")
    if problems:
        _fail(problems)
    return tuple(out)


def _validate_taxes(taxes: tuple[RawTax, ...] | None, p: str, border: bool, add) -> tuple[LineTax, ...] | None:
    if taxes is None:
        return (IVA_16,)
    out: list[LineTax] = []
    seen: set[str] = set()
    ok = True
    for j, tax in enumerate(taxes):
        f = f"{p}.taxes.{j}"
        kind = tax.type.strip().upper()
        if kind not in ("IVA", "IEPS"):
            add(f"{f}.type", "TAX_TYPE_INVALID", "El impuesto debe ser IVA o IEPS (c_Impuesto 002 o 003).")
            ok = False
            continue
        if kind in seen:
            # A concept cannot carry the same impuesto twice (CFDI40 Traslado uniqueness per concepto).
            add(f"{f}.type", "TAX_DUPLICATED", f"La línea ya tiene {kind}: un concepto no puede llevar dos tasas del mismo impuesto.")
            ok = False
            continue
        seen.add(kind)
        if tax.exempt:
            if kind != "IVA":
                add(f"{f}.exempt", "EXEMPT_NOT_ALLOWED", "Solo el IVA puede ser exento (TipoFactor Exento).")
                ok = False
            elif tax.rate is not None:
                add(f"{f}.rate", "RATE_WITH_EXEMPT", "Un impuesto exento no lleva tasa.")
                ok = False
            else:
                out.append(LineTax("IVA", None, True))
            continue
        if tax.rate is None:
            add(f"{f}.rate", "REQUIRED", "Indica la tasa del impuesto o márcalo como exento.")
            ok = False
            continue
        # c_TasaOCuota: the Tasa must be one SAT publishes for that impuesto as traslado.
        if not catalogs.transfer_rate_allowed(kind, tax.rate):
            add(f"{f}.rate", "RATE_NOT_ALLOWED", f"La tasa {tax.rate} no está permitida para {kind} en el catálogo c_TasaOCuota.")
            ok = False
            continue
        if kind == "IVA" and tax.rate == Decimal("0.08") and not border:
            # Decreto de estímulos fiscales región fronteriza: IVA 8 % only where
            # c_CodigoPostal marks the LugarExpedicion with the estímulo franja fronteriza.
            add(f"{f}.rate", "RATE_NOT_ALLOWED", "La tasa de IVA 8 % solo aplica en la región fronteriza (estímulo del código postal de expedición).")
            ok = False
            continue
        out.append(LineTax(kind, Decimal(tax.rate).normalize(), False))
    if "IVA" not in seen and ok:
        # Every ticket line is objeto de impuesto (ObjetoImp 02): it must carry IVA.
        add(f"{p}.taxes", "IVA_REQUIRED", "Cada línea debe llevar IVA (tasa 16 %, 8 %, 0 % o exento).")
        ok = False
    if ok and any(t.type == "IEPS" for t in out) and any(t.exempt for t in out):
        add(f"{p}.taxes", "IEPS_WITH_EXEMPT_IVA", "Una línea con IEPS no puede tener IVA exento.")
        ok = False
    return tuple(sorted(out, key=lambda t: t.type != "IEPS")) if ok else None


def _fail(problems: list[FieldProblem]):
    raise ValidationFailed(problems)


def _content_hash(payment_form: str, lines: tuple[SaleLine, ...], email: str | None) -> str:
    doc = {
        "paymentForm": payment_form,
        "email": email,
        "lines": [
            [l.product_key, l.unit_key, l.description, str(l.quantity.normalize()), str(l.unit_price.normalize()),
             [[t.type, str(t.rate.normalize()) if t.rate is not None else None, t.exempt] for t in l.taxes]]
            for l in lines
        ],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def lines_to_json(lines: tuple[SaleLine, ...]) -> str:
    return json.dumps([
        {"productKey": l.product_key, "unitKey": l.unit_key, "description": l.description,
         "quantity": str(l.quantity), "unitPrice": str(l.unit_price),
         "taxes": [{"type": t.type, "rate": None if t.rate is None else str(t.rate), "exempt": t.exempt} for t in l.taxes]}
        for l in lines
    ], ensure_ascii=False)


def lines_from_json(text: str) -> tuple[SaleLine, ...]:
    return tuple(
        SaleLine(d["productKey"], d["unitKey"], d["description"], Decimal(d["quantity"]), Decimal(d["unitPrice"]),
                 tuple(LineTax(t["type"], None if t["rate"] is None else Decimal(t["rate"]), t["exempt"]) for t in d["taxes"]))
        for d in json.loads(text)
    )


@dataclass(frozen=True)
class Recorded:
    sale: SaleRow
    created: bool


async def record_sale(
    uow_factory: UowFactory, merchant: MerchantRow, sale: SaleInput, *, now: datetime | None = None, on_created=None
) -> Recorded:
    """Record a sale. The same reference with the same content returns the same sale;
    with other content it is DUPLICATE_REFERENCE. Raises ValidationFailed."""
    now = now or datetime.now(UTC)
    lines = validate_sale(sale, merchant, now)
    email = sale.customer_email.strip().lower() if sale.customer_email else None
    digest = _content_hash(sale.payment_form, lines, email)
    key = reference_key(sale.reference)
    total = sum((l.amount for l in lines), Decimal(0))

    def same(existing: SaleRow) -> Recorded:
        if existing.content_hash == digest and (sale.sold_at is None or existing.sold_at == sale.sold_at.astimezone(UTC)):
            return Recorded(existing, False)
        raise ValidationFailed([FieldProblem(
            "reference", "DUPLICATE_REFERENCE",
            "Ya existe una venta con esa referencia y otro contenido: usa una referencia nueva.")])

    async with uow_factory() as uow:
        existing = await uow.sales.by_reference(merchant.id, key)
    if existing is not None:
        return same(existing)
    row = SaleRow(
        merchant_id=merchant.id, reference=" ".join(sale.reference.split()), reference_key=key,
        total_cents=int(cents(total) * 100), sold_at=(sale.sold_at or now).astimezone(UTC),
        payment_form=sale.payment_form, lines_json=lines_to_json(lines), content_hash=digest,
        customer_email=email, created_at=now,
    )
    try:
        async with uow_factory(write=True) as uow:
            await uow.sales.add(row)
            if on_created is not None:
                pending = on_created(uow, row)  # e.g. queue the ticket e-mail in the same transaction
                if pending is not None:
                    await pending
    except IntegrityError:
        # A concurrent call with the same reference won the unique constraint.
        async with uow_factory() as uow:
            existing = await uow.sales.by_reference(merchant.id, key)
        assert existing is not None
        return same(existing)
    return Recorded(row, True)


def portal_url(public_url: str, company_number: str, reference: str, total: Decimal) -> str:
    query = urlencode({"reference": reference, "total": f"{total:.2f}"})
    return f"{public_url.rstrip('/')}/{company_number}?{query}"


def total_of(row: SaleRow) -> Decimal:
    return Decimal(row.total_cents) / 100


def encode_cursor(moment: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        moment, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            return None
        return parsed, int(row_id)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_cursor(after: str | None) -> tuple[datetime, int] | None:
    """A page's `after` argument: None for the first page; ValidationFailed when forged."""
    if not after:
        return None
    cursor = decode_cursor(after)
    if cursor is None:
        raise ValidationFailed([FieldProblem("after", "CURSOR_INVALID", "El cursor no es válido.")])
    return cursor


async def list_sales(uow_factory: UowFactory, merchant_id: int, first: int, after: str | None):
    """(rows, has_next, invoices by sale id). first is clamped to 1..MAX_PAGE by the caller."""
    cursor = parse_cursor(after)
    async with uow_factory() as uow:
        rows = await uow.sales.page(merchant_id, first + 1, cursor)
        invoices = await uow.invoices.by_sales(merchant_id, [r.id for r in rows[:first]])
    return rows[:first], len(rows) > first, invoices


async def cancel_sale(uow_factory: UowFactory, merchant_id: int, sale_id: int) -> SaleRow:
    """A returned or voided sale: it can no longer be self-invoiced (reason CANCELLED).
    Only an OPEN sale with no invoice in progress can be cancelled here; an invoiced one
    needs the CFDI cancelled with SAT first."""
    async with uow_factory(write=True) as uow:
        sale = await uow.sales.by_id(merchant_id, sale_id)
        if sale is None:
            raise ValidationFailed([FieldProblem("id", "NOT_FOUND", "No existe esa venta.")])
        if sale.status == "CANCELLED":
            return sale
        if sale.status != "OPEN" or await uow.invoices.by_sale(sale.id) is not None:
            raise ValidationFailed([FieldProblem(
                "id", "SALE_NOT_CANCELLABLE",
                "La venta ya tiene una factura (o está en una factura global): cancela primero el CFDI.")])
        sale.status = "CANCELLED"
        uow.session.add(sale)
        return sale
