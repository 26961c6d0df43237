"""Importe con letra: a CFDI total written out in Spanish, as Mexican invoices print it.

    amount_in_words(Decimal("1160.00"))            -> "MIL CIENTO SESENTA PESOS 00/100 M.N."
    amount_in_words(Decimal("2500000.50"))         -> "DOS MILLONES QUINIENTOS MIL PESOS 50/100 M.N."
    amount_in_words(Decimal("10.5"), "USD")        -> "DIEZ DÓLARES 50/100 USD"

Rules (Real Academia Española, "Ortografía" 2010 §4.3 and usage on Mexican invoices):
- "uno" drops its last vowel before a masculine noun: UN PESO, VEINTIÚN PESOS, TREINTA Y
  UN MIL, CIENTO UN MILLONES.
- 100 is CIEN alone and CIENTO before more digits; 1000 is MIL (never "UN MIL").
- Long scale: 10^6 MILLÓN, 10^9 MIL MILLONES, 10^12 BILLÓN.
- A whole number of millions takes "DE" before the currency: UN MILLÓN DE PESOS.
- Centavos are written as digits over 100, rounded half-up to two places.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_UNITS = (
    "CERO", "UNO", "DOS", "TRES", "CUATRO", "CINCO", "SEIS", "SIETE", "OCHO", "NUEVE",
    "DIEZ", "ONCE", "DOCE", "TRECE", "CATORCE", "QUINCE", "DIECISÉIS", "DIECISIETE",
    "DIECIOCHO", "DIECINUEVE", "VEINTE", "VEINTIUNO", "VEINTIDÓS", "VEINTITRÉS",
    "VEINTICUATRO", "VEINTICINCO", "VEINTISÉIS", "VEINTISIETE", "VEINTIOCHO", "VEINTINUEVE",
)
_TENS = ("", "", "", "TREINTA", "CUARENTA", "CINCUENTA", "SESENTA", "SETENTA", "OCHENTA", "NOVENTA")
_HUNDREDS = (
    "", "CIENTO", "DOSCIENTOS", "TRESCIENTOS", "CUATROCIENTOS", "QUINIENTOS", "SEISCIENTOS",
    "SETECIENTOS", "OCHOCIENTOS", "NOVECIENTOS",
)
_MILLION = 10**6
_BILLION = 10**12  # billón, long scale
_MAX = 10**18  # a trillón is far beyond any CFDI total (t_Importe allows 18 integer digits)

# Currency code (c_Moneda) -> (singular, plural, suffix after the cents).
_CURRENCIES = {
    "MXN": ("PESO", "PESOS", "M.N."),
    "USD": ("DÓLAR", "DÓLARES", "USD"),
    "EUR": ("EURO", "EUROS", "EUR"),
    "CAD": ("DÓLAR CANADIENSE", "DÓLARES CANADIENSES", "CAD"),
}


def _below_100(n: int, apocope: bool) -> str:
    if n < 30:
        word = _UNITS[n]
    else:
        tens, unit = divmod(n, 10)
        word = _TENS[tens] if unit == 0 else f"{_TENS[tens]} Y {_UNITS[unit]}"
    if apocope:
        if word.endswith("VEINTIUNO"):
            return word[:-9] + "VEINTIÚN"
        if word.endswith("UNO"):
            return word[:-1]
    return word


def _below_1000(n: int, apocope: bool) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _below_100(rest, apocope)
    if rest == 0:
        return "CIEN" if hundreds == 1 else _HUNDREDS[hundreds]
    return f"{_HUNDREDS[hundreds]} {_below_100(rest, apocope)}"


def _below_million(n: int, apocope: bool) -> str:
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands == 1:
        parts.append("MIL")
    elif thousands > 1:
        parts.append(f"{_below_1000(thousands, True)} MIL")
    if rest or not parts:
        parts.append(_below_1000(rest, apocope))
    return " ".join(parts)


def _scale(n: int, singular: str, plural: str) -> str:
    return f"UN {singular}" if n == 1 else f"{_below_million(n, True)} {plural}"


def integer_in_words(n: int, *, apocope: bool = True) -> str:
    """0 <= n < 10**18 in capital Spanish words; apocope: "UN"/"VEINTIÚN" instead of "UNO"."""
    if not 0 <= n < _MAX:
        raise ValueError(f"amount out of range for words: {n}")
    billions, rest = divmod(n, _BILLION)
    millions, units = divmod(rest, _MILLION)
    parts = []
    if billions:
        parts.append(_scale(billions, "BILLÓN", "BILLONES"))
    if millions:
        parts.append(_scale(millions, "MILLÓN", "MILLONES"))
    if units or not parts:
        parts.append(_below_million(units, apocope))
    return " ".join(parts)


def amount_in_words(amount: Decimal | str | int, currency: str = "MXN") -> str:
    """The "importe con letra" line for a total in the given c_Moneda currency."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError(f"negative amount: {amount}")
    integer = int(value)
    cents = int((value - integer) * 100)
    singular, plural, suffix = _CURRENCIES.get(currency, (currency, currency, currency))
    noun = singular if integer == 1 else plural
    words = integer_in_words(integer)
    if integer >= _MILLION and integer % _MILLION == 0:
        noun = f"DE {noun}"
    return f"{words} {noun} {cents:02d}/100 {suffix}"
