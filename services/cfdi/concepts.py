"""Ticket lines (prices include taxes) -> CFDI 4.0 conceptos whose arithmetic a PAC accepts.

The ticket is the truth: the CFDI's Total must equal what the customer paid, to the cent.
Every line amount A (taxes included) is split into a Base B and taxes so that
B + IEPS + IVA == A exactly, and every number obeys Anexo 20's limits:

Concepto@Importe (Anexo 20, Guía de llenado, Concepto/Importe; PAC check CFDI40108 family)
    Importe must lie in [límite inferior, límite superior] where, with
    dq = decimals written in Cantidad and dv = decimals written in ValorUnitario,
        límite inferior = (Cantidad - 10^-dq / 2) * (ValorUnitario - 10^-dv / 2),
                          truncated to the currency's decimals (MXN: 2)
        límite superior = (Cantidad + 10^-dq / 2) * (ValorUnitario + 10^-dv / 2),
                          rounded up to the currency's decimals
    We do better than that: we pick ValorUnitario (up to 6 decimals, t_Importe) so that
    round_half_up(Cantidad * ValorUnitario, 2) == Importe whenever that is possible,
    and always check the limits (`importe_limits`).

Concepto/Impuestos/Traslados/Traslado@Importe (Anexo 20; CFDI40165-CFDI40167 family)
    with db = decimals written in Base,
        límite inferior = (Base - 10^-db / 2) * TasaOCuota, truncated to Importe's decimals
        límite superior = (Base + 10^-db / 2) * TasaOCuota, rounded up
    (`tax_limits`). We prefer Importe = round_half_up(Base * Tasa, 2) and only move a cent
    inside these limits when no Base makes the line add up exactly.

Concepto/Impuestos/Traslados/Traslado@TipoFactor Exento (CFDI40177): no TasaOCuota, no
Importe. IVA 0 %: TasaOCuota 0.000000 and Importe 0.00. Traslado@Base must be > 0
(Anexo 20, Traslado@Base), so lines whose amount is 0.00 are left out (they add nothing).
IEPS trasladado is part of IVA's base (Ley del IVA art. 18; Anexo 20 Traslado@Base
"base para el cálculo del impuesto"), so with both taxes IVA's Base = Base + IEPS.

Comprobante-level sums (SubTotal = Σ Importe, CFDI40107/40108 family; Impuestos/Traslados
grouped by Impuesto+TipoFactor+TasaOCuota with Σ Base and Σ Importe; TotalImpuestos-
Trasladados = Σ Importe of the non-exempt groups and absent when all are exempt;
Total = SubTotal - Descuento + traslados - retenciones, CFDI40119) are in `summarize`.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from services import catalogs
from services.kernel.money import CENT, cents, quantize
from services.kernel.types import GenericConceptConfig, LineTax, SaleLine

IVA = "002"  # c_Impuesto
IEPS = "003"
TASA = "Tasa"  # c_TipoFactor
EXENTO = "Exento"
OBJETO_IMP_SI = "02"  # c_ObjetoImp: sí objeto de impuesto
OBJETO_IMP_NO = "01"  # no objeto de impuesto (line with no taxes at all)
MAX_UNIT_DECIMALS = 6  # t_Importe allows up to 6 decimals


class ConceptError(ValueError):
    """A ticket that cannot be expressed as CFDI conceptos (bad rate, nothing to invoice)."""


@dataclass(frozen=True)
class Transfer:
    """One Concepto/Impuestos/Traslados/Traslado."""

    impuesto: str  # "002" IVA, "003" IEPS
    tipo_factor: str  # "Tasa" or "Exento"
    tasa: Decimal | None  # 6 decimals, None when Exento
    base: Decimal
    importe: Decimal | None  # None when Exento


@dataclass(frozen=True)
class Concept:
    product_key: str
    unit_key: str
    description: str
    quantity: Decimal  # Cantidad
    unit_value: Decimal  # ValorUnitario
    amount: Decimal  # Importe (= Base of the first tax), 2 decimals
    objeto_imp: str = OBJETO_IMP_SI
    transfers: tuple[Transfer, ...] = ()
    no_identificacion: str | None = None  # NoIdentificacion; the ticket reference in a factura global

    @property
    def total(self) -> Decimal:
        return self.amount + sum((t.importe or Decimal(0)) for t in self.transfers)


@dataclass(frozen=True)
class TransferSummary:
    """Comprobante/Impuestos/Traslados/Traslado: one group of Impuesto+TipoFactor+Tasa."""

    impuesto: str
    tipo_factor: str
    tasa: Decimal | None
    base: Decimal
    importe: Decimal | None


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    transfers: tuple[TransferSummary, ...]
    total_transferred: Decimal | None  # TotalImpuestosTrasladados; None if only Exento
    total: Decimal
    discount: Decimal | None = None  # never set: tickets carry prices after discount


@dataclass(frozen=True)
class _Treatment:
    """How a line is taxed; lines with the same treatment can share a generic concept."""

    iva: Decimal | None  # rate, or None
    iva_exempt: bool
    ieps: Decimal | None

    @property
    def has_taxes(self) -> bool:
        return self.iva is not None or self.iva_exempt or self.ieps is not None


# ---- Anexo 20 limits -----------------------------------------------------------------


def decimals_of(value: Decimal) -> int:
    """Decimals as written in the XML (satcfdi writes Decimal with format 'f')."""
    exp = value.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _half_unit(value: Decimal) -> Decimal:
    return Decimal(1).scaleb(-decimals_of(value)) / 2


def importe_limits(quantity: Decimal, unit_value: Decimal, places: int = 2) -> tuple[Decimal, Decimal]:
    """Anexo 20 Concepto@Importe límite inferior / superior (see module docstring)."""
    hq, hv = _half_unit(quantity), _half_unit(unit_value)
    step = Decimal(1).scaleb(-places)
    low = ((quantity - hq) * (unit_value - hv)).quantize(step, rounding=ROUND_DOWN)
    high = ((quantity + hq) * (unit_value + hv)).quantize(step, rounding=ROUND_CEILING)
    return low, high


def tax_limits(base: Decimal, rate: Decimal, places: int = 2) -> tuple[Decimal, Decimal]:
    """Anexo 20 Traslado@Importe límite inferior / superior (see module docstring)."""
    hb = _half_unit(base)
    step = Decimal(1).scaleb(-places)
    low = ((base - hb) * rate).quantize(step, rounding=ROUND_DOWN)
    high = ((base + hb) * rate).quantize(step, rounding=ROUND_CEILING)
    return low, high


def within(value: Decimal, limits: tuple[Decimal, Decimal]) -> bool:
    return limits[0] <= value <= limits[1]


# ---- line -> treatment ---------------------------------------------------------------


def _treatment(line: SaleLine) -> _Treatment:
    iva: Decimal | None = None
    iva_exempt = False
    ieps: Decimal | None = None
    seen: set[str] = set()
    for tax in line.taxes:
        kind = tax.type.upper()
        if kind in seen:
            # A concept cannot carry the same impuesto twice (Anexo 20, one Traslado per
            # Impuesto/TipoFactor/TasaOCuota and one IVA rate per concept).
            raise ConceptError(f"line {line.description!r} carries {kind} twice")
        seen.add(kind)
        if kind == "IVA":
            if tax.exempt:
                iva_exempt = True
            else:
                iva = _checked_rate("IVA", tax)
        elif kind == "IEPS":
            if tax.exempt:
                raise ConceptError("IEPS exento is not supported for tickets")
            ieps = _checked_rate("IEPS", tax)
        else:
            raise ConceptError(f"unsupported tax {tax.type!r}")
    return _Treatment(iva=iva, iva_exempt=iva_exempt, ieps=ieps)


def _checked_rate(kind: str, tax: LineTax) -> Decimal:
    if tax.rate is None or not catalogs.transfer_rate_allowed(kind, tax.rate):
        # c_TasaOCuota: only the catalogue's fixed traslado rates (CFDI40114 family).
        raise ConceptError(f"{kind} rate {tax.rate} is not in c_TasaOCuota")
    return quantize(tax.rate, 6)


# ---- splitting an amount into base and taxes ------------------------------------------


def _split(amount: Decimal, t: _Treatment) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """(Base, IEPS importe, IVA importe) with Base + IEPS + IVA == amount exactly.

    Search Base around amount / (1+ieps)(1+iva); for each, taxes are rounded half-up
    first, and if that misses the amount by a cent the cent moves into a tax only when
    the tax stays inside Anexo 20's Traslado@Importe limits. The candidate that needs
    no such move and is closest to the exact net wins.
    """
    ieps_rate = t.ieps or Decimal(0)
    iva_rate = t.iva or Decimal(0)  # exempt or none: no IVA amount
    exact = amount / ((1 + ieps_rate) * (1 + iva_rate))
    start = cents(exact)
    best: tuple[tuple, tuple] | None = None
    for offset in (0, -1, 1, -2, 2, -3, 3, -4, 4):
        base = start + CENT * offset
        if base <= 0:
            continue
        ieps_candidates = [cents(base * ieps_rate)] if t.ieps is not None else [None]
        if t.ieps is not None:
            lo, hi = tax_limits(base, t.ieps)
            ieps_candidates += [v for v in (ieps_candidates[0] - CENT, ieps_candidates[0] + CENT) if lo <= v <= hi and v >= 0]
        for ieps_amount in ieps_candidates:
            rest = amount - base - (ieps_amount or 0)
            if t.iva is not None:
                iva_base = base + (ieps_amount or 0)
                if not within(rest, tax_limits(iva_base, t.iva)) or rest < 0:
                    continue
                iva_amount = rest
                moved = (iva_amount != cents(iva_base * t.iva)) + (
                    ieps_amount is not None and ieps_amount != cents(base * t.ieps)
                )
            else:
                if rest != 0:
                    continue
                iva_amount = None
                moved = int(ieps_amount is not None and ieps_amount != cents(base * t.ieps))
            key = (moved, abs(base - exact))
            if best is None or key < best[0]:
                best = (key, (base, ieps_amount, iva_amount))
        if best is not None and best[0][0] == 0 and abs(offset) >= 1:
            break
    if best is None:
        raise ConceptError(f"cannot split {amount} into base and taxes")
    return best[1]


def _unit_value(quantity: Decimal, amount: Decimal) -> Decimal:
    """ValorUnitario with the fewest decimals (2..6) such that Cantidad×VU rounds to Importe.

    Falls back to the 6-decimal neighbours and finally to any value inside Anexo 20's
    Concepto@Importe limits.
    """
    exact = amount / quantity
    for places in range(2, MAX_UNIT_DECIMALS + 1):
        vu = quantize(exact, places)
        if cents(quantity * vu) == amount:
            return vu
    step = Decimal(1).scaleb(-MAX_UNIT_DECIMALS)
    base = quantize(exact, MAX_UNIT_DECIMALS)
    for k in range(1, 50):
        for vu in (base - step * k, base + step * k):
            if vu >= 0 and cents(quantity * vu) == amount:
                return vu
    if within(amount, importe_limits(quantity, base)):
        return base
    raise ConceptError(f"no ValorUnitario for Cantidad {quantity} and Importe {amount}")


def _ticket_unit_value(quantity: Decimal, unit_price: Decimal, t: _Treatment, base: Decimal) -> Decimal | None:
    """The ticket's own price before taxes as ValorUnitario, when it is exact: the price
    divided by (1 + IEPS)(1 + IVA) has at most 6 decimals (t_Importe) and Cantidad × it
    rounds to the Importe the line was split into. An IVA 0 %, exento or untaxed line's
    price is always exact. None when not (then `_unit_value` derives one from Importe).

    Anexo 20, Concepto@ValorUnitario: "el valor o precio unitario del bien o servicio":
    the invoice states the price the ticket did, not one derived from a rounded amount
    (333.33 × 0.5 stays 333.33, not 333.34)."""
    divisor = (1 + (t.ieps or 0)) * (1 + (t.iva or 0))
    net = unit_price / divisor
    if net * divisor != unit_price or net <= 0:
        return None
    net = net.normalize()
    if decimals_of(net) > MAX_UNIT_DECIMALS:
        return None
    if decimals_of(net) < 2:
        net = net.quantize(CENT)
    if cents(quantity * net) != base or not within(base, importe_limits(quantity, net)):
        return None
    return net


def _transfers(base: Decimal, t: _Treatment, ieps: Decimal | None, iva: Decimal | None) -> tuple[Transfer, ...]:
    out: list[Transfer] = []
    iva_base = base + (ieps or Decimal(0))
    if t.iva is not None:
        out.append(Transfer(IVA, TASA, t.iva, iva_base, iva))
    elif t.iva_exempt:
        out.append(Transfer(IVA, EXENTO, None, iva_base, None))
    if t.ieps is not None:
        out.append(Transfer(IEPS, TASA, t.ieps, base, ieps))
    return tuple(out)


def _concept(
    amount: Decimal, t: _Treatment, *, product_key: str, unit_key: str, description: str, quantity: Decimal,
    unit_price: Decimal | None = None,
) -> Concept:
    """`unit_price`: the ticket line's price (taxes included), when the concept is one line."""
    def unit_value(base: Decimal) -> Decimal:
        exact = _ticket_unit_value(quantity, unit_price, t, base) if unit_price is not None else None
        return exact if exact is not None else _unit_value(quantity, base)

    if not t.has_taxes:
        return Concept(product_key, unit_key, description, quantity,
                       unit_value(amount), amount, OBJETO_IMP_NO, ())
    base, ieps, iva = _split(amount, t)
    return Concept(
        product_key=product_key,
        unit_key=unit_key,
        description=description,
        quantity=quantity,
        unit_value=unit_value(base),
        amount=base,
        objeto_imp=OBJETO_IMP_SI,
        transfers=_transfers(base, t, ieps, iva),
    )


def _quantity(q: Decimal) -> Decimal:
    q = q.normalize()
    if decimals_of(q) > MAX_UNIT_DECIMALS:
        q = quantize(q, MAX_UNIT_DECIMALS)
    if q <= 0:
        raise ConceptError("Cantidad must be greater than 0")  # Anexo 20 Concepto@Cantidad
    return q if decimals_of(q) > 0 else q.quantize(Decimal(1))


def build_concepts(
    lines: tuple[SaleLine, ...] | list[SaleLine],
    generic: GenericConceptConfig | None = None,
) -> list[Concept]:
    """Conceptos whose totals add up to Σ line.amount exactly.

    Without `generic`: one concept per line (ClaveProdServ/ClaveUnidad/Descripción/Cantidad
    from the line). With `generic`: one concept per distinct tax treatment (a concept may
    carry only one IVA rate), Cantidad 1, keys and description from the config; if there
    is more than one treatment the description says which.
    """
    if generic is None:
        out = []
        for line in lines:
            amount = line.amount
            if amount <= 0:
                continue  # Traslado@Base must be > 0; a 0.00 line adds nothing
            out.append(_concept(amount, _treatment(line), product_key=line.product_key,
                                unit_key=line.unit_key, description=line.description,
                                quantity=_quantity(line.quantity), unit_price=line.unit_price))
    else:
        groups: OrderedDict[_Treatment, Decimal] = OrderedDict()
        for line in lines:
            t = _treatment(line)
            groups[t] = groups.get(t, Decimal(0)) + line.amount
        groups = OrderedDict((t, a) for t, a in groups.items() if a > 0)
        out = [
            _concept(amount, t, product_key=generic.product_key, unit_key=generic.unit_key,
                     description=_generic_description(generic.description, t, len(groups)),
                     quantity=Decimal(1))
            for t, amount in groups.items()
        ]
    if not out:
        raise ConceptError("nothing to invoice: every line amounts to 0.00")
    return out


# Factura global (CFDI to público en general, RMF 2.7.1.24). Anexo 20, Guía de llenado del
# CFDI global, Conceptos: one Concepto per operation (ticket) with ClaveProdServ 01010101,
# NoIdentificacion = the ticket's folio or operation number, Cantidad 1, ClaveUnidad ACT,
# Descripcion "Venta", ValorUnitario = Importe = the ticket's amount before taxes, and the
# ticket's own traslados. A ticket whose lines carry several tax treatments becomes one
# Concepto per treatment (a Concepto carries one IVA rate), all with its reference.
GLOBAL_PRODUCT_KEY = "01010101"  # c_ClaveProdServ "No existe en el catálogo"
GLOBAL_UNIT_KEY = "ACT"  # c_ClaveUnidad "Actividad"
GLOBAL_DESCRIPTION = "Venta"


def build_global_concepts(tickets) -> list[Concept]:
    """Conceptos of a factura global: per ticket and tax treatment; their totals add up to
    Σ ticket.total exactly (each concept's Base + traslados == its share of the ticket).

    `tickets`: iterable of services.kernel.types.GlobalTicket.
    """
    out: list[Concept] = []
    for ticket in tickets:
        groups: OrderedDict[_Treatment, Decimal] = OrderedDict()
        for line in ticket.lines:
            t = _treatment(line)
            groups[t] = groups.get(t, Decimal(0)) + line.amount
        if sum(groups.values(), Decimal(0)) != ticket.total:
            raise ConceptError(f"ticket {ticket.reference!r}: lines add up to {sum(groups.values())}, not {ticket.total}")
        for t, amount in groups.items():
            if amount <= 0:
                continue  # Traslado@Base must be > 0; a 0.00 group adds nothing
            concept = _concept(amount, t, product_key=GLOBAL_PRODUCT_KEY, unit_key=GLOBAL_UNIT_KEY,
                               description=GLOBAL_DESCRIPTION, quantity=Decimal(1))
            out.append(replace(concept, no_identificacion=_no_identificacion(ticket.reference)))
    if not out:
        raise ConceptError("nothing to invoice: every ticket amounts to 0.00")
    return out


def _no_identificacion(reference: str) -> str:
    """The ticket reference as Concepto@NoIdentificacion (cfdv40.xsd: 1-100 characters,
    pattern [^|]{1,100}). recordSale refuses references that do not fit; one stored before
    it did is written with "|" as "/" and without control characters, so that it does not
    keep every other ticket of the period out of the factura global."""
    cleaned = " ".join("".join(ch for ch in reference.replace("|", "/") if ch.isprintable()).split())
    return cleaned[:100] or "-"


def _generic_description(description: str, t: _Treatment, n_groups: int) -> str:
    if n_groups == 1:
        return description
    parts = []
    if t.iva is not None:
        parts.append(f"IVA {(t.iva * 100).normalize():f} %")
    elif t.iva_exempt:
        parts.append("IVA exento")
    if t.ieps is not None:
        parts.append(f"IEPS {(t.ieps * 100).normalize():f} %")
    suffix = f" ({', '.join(parts) or 'sin impuestos'})"
    # Concepto@Descripcion admits 1000 characters (cfdv40.xsd): the merchant's description
    # gives way to the treatment it names.
    return description[:1000 - len(suffix)].rstrip() + suffix


def summarize(concepts: list[Concept]) -> Totals:
    """Comprobante SubTotal, Impuestos/Traslados, TotalImpuestosTrasladados and Total."""
    subtotal = sum((c.amount for c in concepts), Decimal("0.00"))
    groups: OrderedDict[tuple, list[Decimal | None]] = OrderedDict()
    for c in concepts:
        for t in c.transfers:
            key = (t.impuesto, t.tipo_factor, t.tasa)
            acc = groups.setdefault(key, [Decimal("0.00"), None])
            acc[0] += t.base
            if t.importe is not None:
                acc[1] = (acc[1] or Decimal("0.00")) + t.importe
    summaries = tuple(TransferSummary(k[0], k[1], k[2], v[0], v[1]) for k, v in groups.items())
    amounts = [s.importe for s in summaries if s.importe is not None]
    # Anexo 20 Impuestos@TotalImpuestosTrasladados: absent when only Exento traslados.
    total_transferred = sum(amounts, Decimal("0.00")) if amounts else None
    total = subtotal + (total_transferred or Decimal(0))
    return Totals(subtotal=subtotal, transfers=summaries, total_transferred=total_transferred, total=total)


def check_concept(c: Concept) -> list[str]:
    """The Anexo 20 limit checks a PAC applies to one concept; [] when it passes."""
    problems = []
    if not within(c.amount, importe_limits(c.quantity, c.unit_value)):
        problems.append(f"Importe {c.amount} outside limits {importe_limits(c.quantity, c.unit_value)}")
    for t in c.transfers:
        if t.base <= 0:
            problems.append("Traslado Base must be > 0")
        if t.tipo_factor == EXENTO:
            if t.tasa is not None or t.importe is not None:
                problems.append("Exento with TasaOCuota/Importe (CFDI40177)")
            continue
        assert t.tasa is not None and t.importe is not None
        if not within(t.importe, tax_limits(t.base, t.tasa)):
            problems.append(f"Traslado {t.impuesto} Importe {t.importe} outside {tax_limits(t.base, t.tasa)}")
    return problems


__all__ = [
    "Concept", "ConceptError", "Totals", "Transfer", "TransferSummary", "build_concepts", "build_global_concepts",
    "check_concept", "importe_limits", "summarize", "tax_limits",
]
