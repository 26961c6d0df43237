"""What recordSale accepts: every problem of a sale at once, in the terms SAT's catalogues
and Anexo 20 set (each rule names its source)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services import catalogs
from services.cfdi import xsd_text
from services.kernel.codes import SaleErrorCode as Code
from services.kernel.money import MAX_TICKET_TOTAL
from services.kernel.results import Invalid
from services.kernel.types import IVA_16, FieldProblem, LineTax, SaleLine
from services.merchants.models import Merchant
from services.merchants.service import valid_email

MAX_LINES = 500  # documented cap on lines per sale (schema docs, README)
MAX_REFERENCE = 100
MAX_AMOUNT = MAX_TICKET_TOTAL  # per line and per sale (the ticket lookup's documented range too)
MAX_QUANTITY = Decimal("999999999")  # documented cap: keeps Cantidad x precio inside Decimal's precision
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


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 99


def validate_sale(sale: SaleInput, merchant: Merchant, now: datetime) -> tuple[SaleLine, ...] | Invalid:
    """Every problem at once, or the lines as the engine will see them."""
    problems: list[FieldProblem] = []
    add = lambda f, c, m: problems.append(FieldProblem(f, c, m))  # noqa: E731
    ref = " ".join(sale.reference.split())
    if not ref:
        add("reference", Code.REQUIRED, "La referencia del ticket es obligatoria.")
    elif len(ref) > MAX_REFERENCE:
        add("reference", Code.TOO_LONG, f"La referencia admite hasta {MAX_REFERENCE} caracteres.")
    elif not ref.isprintable() or xsd_text.unwritable(sale.reference) is not None:
        add("reference", Code.INVALID, "La referencia contiene caracteres no imprimibles.")
    elif xsd_text.text_problem(ref, xsd_text.NO_IDENTIFICACION) is not None:
        # The reference is the Concepto@NoIdentificacion of a factura global
        # (cfdv40.xsd pattern [^|]{1,100}): "|" would keep the sale out of it.
        add("reference", Code.INVALID, "La referencia no puede contener el carácter «|»: el SAT no lo admite (Anexo 20, NoIdentificacion).")
    if sale.sold_at is not None and sale.sold_at > now + FUTURE_SKEW:
        add("soldAt", Code.IN_FUTURE, "La fecha de venta no puede estar en el futuro.")
    # Anexo 20, FormaPago: c_FormaPago; with MetodoPago PUE the value 99 "Por definir" is not allowed.
    if catalogs.payment_form(sale.payment_form) is None:
        add("paymentForm", Code.PAYMENT_FORM_INVALID, f"La forma de pago {sale.payment_form!r} no está en el catálogo c_FormaPago.")
    elif sale.payment_form == "99":
        add("paymentForm", Code.PAYMENT_FORM_INVALID, "Una venta pagada (PUE) no puede tener forma de pago 99 «Por definir».")
    if sale.customer_email is not None and (
        not valid_email(sale.customer_email.strip()) or not sale.customer_email.strip().isprintable()
    ):
        add("customerEmail", Code.EMAIL_INVALID, "El correo electrónico del cliente no es válido.")
    if not sale.lines:
        add("lines", Code.REQUIRED, "La venta debe tener al menos una línea.")
    if len(sale.lines) > MAX_LINES:
        add("lines", Code.TOO_MANY, f"Una venta admite hasta {MAX_LINES} líneas.")
        return Invalid(tuple(problems))
    border = bool((pc := catalogs.postal_code(merchant.zip_code)) and pc.border_region)
    out: list[SaleLine] = []
    for i, line in enumerate(sale.lines):
        p = f"lines.{i}"
        if catalogs.product_key(line.product_key) is None:
            add(f"{p}.productKey", Code.PRODUCT_KEY_INVALID, f"La clave {line.product_key!r} no está en el catálogo c_ClaveProdServ.")
        if catalogs.unit_key(line.unit_key) is None:
            add(f"{p}.unitKey", Code.UNIT_KEY_INVALID, f"La clave de unidad {line.unit_key!r} no está en el catálogo c_ClaveUnidad.")
        description = " ".join(line.description.split())
        # Concepto@Descripcion (cfdv40.xsd): 1-1000 characters after whitespace collapse,
        # pattern [^|]{1,1000}; and nothing XML 1.0 cannot carry (services/cfdi/xsd_text.py).
        problem = xsd_text.text_problem(line.description, xsd_text.DESCRIPCION)
        if not description:
            add(f"{p}.description", Code.REQUIRED, "La descripción es obligatoria.")
        elif problem is not None and problem.kind == "CONTROL":
            add(f"{p}.description", Code.INVALID, "La descripción contiene caracteres de control (invisibles): quítalos.")
        elif len(description) > 1000:
            add(f"{p}.description", Code.TOO_LONG, "La descripción admite hasta 1000 caracteres (Anexo 20, Descripcion).")
        elif xsd_text.text_problem(description, xsd_text.DESCRIPCION) is not None:
            add(f"{p}.description", Code.INVALID,
                "La descripción no puede contener el carácter «|»: el SAT no lo admite en la factura (Anexo 20, Descripcion).")
        quantity_ok = price_ok = False
        if not line.quantity.is_finite() or line.quantity <= 0:
            add(f"{p}.quantity", Code.NOT_POSITIVE, "La cantidad debe ser mayor que cero.")
        elif _decimals(line.quantity) > MAX_DECIMALS:
            add(f"{p}.quantity", Code.TOO_MANY_DECIMALS, "La cantidad admite hasta 6 decimales (Anexo 20, Cantidad).")
        elif line.quantity > MAX_QUANTITY:
            add(f"{p}.quantity", Code.TOO_LARGE, f"La cantidad admite hasta {MAX_QUANTITY:,}.")
        else:
            quantity_ok = True
        if not line.unit_price.is_finite() or line.unit_price < 0:
            add(f"{p}.unitPrice", Code.NEGATIVE, "El precio no puede ser negativo.")
        elif _decimals(line.unit_price) > MAX_DECIMALS:
            add(f"{p}.unitPrice", Code.TOO_MANY_DECIMALS, "El precio admite hasta 6 decimales.")
        elif line.unit_price > MAX_AMOUNT:
            add(f"{p}.unitPrice", Code.TOO_LARGE, "El importe de la línea es demasiado grande.")
        else:
            price_ok = True
        if quantity_ok and price_ok and line.quantity * line.unit_price > MAX_AMOUNT:
            add(f"{p}.unitPrice", Code.TOO_LARGE, "El importe de la línea es demasiado grande.")
        taxes = _validate_taxes(line.taxes, p, border, add)
        if taxes is not None and not any(x.field.startswith(p + ".") for x in problems):
            out.append(SaleLine(line.product_key, line.unit_key, description, line.quantity, line.unit_price, taxes))
    total = sum((x.amount for x in out), Decimal(0))
    if not problems and total <= 0:
        add("lines", Code.TOTAL_NOT_POSITIVE, "El total de la venta debe ser mayor que cero.")
    elif not problems and total > MAX_AMOUNT:
        add("lines", Code.TOO_LARGE, f"El total de la venta admite hasta {MAX_AMOUNT:,}.")
    if problems:
        return Invalid(tuple(problems))
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
            add(f"{f}.type", Code.TAX_TYPE_INVALID, "El impuesto debe ser IVA o IEPS (c_Impuesto 002 o 003).")
            ok = False
            continue
        if kind in seen:
            # A concept cannot carry the same impuesto twice (CFDI40 Traslado uniqueness per concepto).
            add(f"{f}.type", Code.TAX_DUPLICATED, f"La línea ya tiene {kind}: un concepto no puede llevar dos tasas del mismo impuesto.")
            ok = False
            continue
        seen.add(kind)
        if tax.exempt:
            if kind != "IVA":
                add(f"{f}.exempt", Code.EXEMPT_NOT_ALLOWED, "Solo el IVA puede ser exento (TipoFactor Exento).")
                ok = False
            elif tax.rate is not None:
                add(f"{f}.rate", Code.RATE_WITH_EXEMPT, "Un impuesto exento no lleva tasa.")
                ok = False
            else:
                out.append(LineTax("IVA", None, True))
            continue
        if tax.rate is None:
            add(f"{f}.rate", Code.REQUIRED, "Indica la tasa del impuesto o márcalo como exento.")
            ok = False
            continue
        # c_TasaOCuota: the Tasa must be one SAT publishes for that impuesto as traslado.
        if not catalogs.transfer_rate_allowed(kind, tax.rate):
            add(f"{f}.rate", Code.RATE_NOT_ALLOWED, f"La tasa {tax.rate} no está permitida para {kind} en el catálogo c_TasaOCuota.")
            ok = False
            continue
        if kind == "IVA" and tax.rate == Decimal("0.08") and not border:
            # Decreto de estímulos fiscales región fronteriza: IVA 8 % only where
            # c_CodigoPostal marks the LugarExpedicion with the estímulo franja fronteriza.
            add(f"{f}.rate", Code.RATE_NOT_ALLOWED, "La tasa de IVA 8 % solo aplica en la región fronteriza (estímulo del código postal de expedición).")
            ok = False
            continue
        out.append(LineTax(kind, Decimal(tax.rate).normalize(), False))
    if "IVA" not in seen and ok:
        # Every ticket line is objeto de impuesto (ObjetoImp 02): it must carry IVA.
        add(f"{p}.taxes", Code.IVA_REQUIRED, "Cada línea debe llevar IVA (tasa 16 %, 8 %, 0 % o exento).")
        ok = False
    if ok and any(t.type == "IEPS" for t in out) and any(t.exempt for t in out):
        add(f"{p}.taxes", Code.IEPS_WITH_EXEMPT_IVA, "Una línea con IEPS no puede tener IVA exento.")
        ok = False
    return tuple(sorted(out, key=lambda t: t.type != "IEPS")) if ok else None
