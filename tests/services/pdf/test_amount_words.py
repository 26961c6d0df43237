"""Importe con letra: Spanish number words as printed on Mexican invoices."""
from decimal import Decimal

import pytest

from services.pdf.amount_words import amount_in_words, integer_in_words

CASES = [
    # given the total, expect the words
    ("0.00", "CERO PESOS 00/100 M.N."),
    ("0.50", "CERO PESOS 50/100 M.N."),
    ("1.00", "UN PESO 00/100 M.N."),
    ("1.99", "UN PESO 99/100 M.N."),
    ("2", "DOS PESOS 00/100 M.N."),
    ("10", "DIEZ PESOS 00/100 M.N."),
    ("15", "QUINCE PESOS 00/100 M.N."),
    ("16", "DIECISÉIS PESOS 00/100 M.N."),
    ("20", "VEINTE PESOS 00/100 M.N."),
    ("21", "VEINTIÚN PESOS 00/100 M.N."),
    ("22", "VEINTIDÓS PESOS 00/100 M.N."),
    ("23", "VEINTITRÉS PESOS 00/100 M.N."),
    ("26", "VEINTISÉIS PESOS 00/100 M.N."),
    ("30", "TREINTA PESOS 00/100 M.N."),
    ("31", "TREINTA Y UN PESOS 00/100 M.N."),
    ("99", "NOVENTA Y NUEVE PESOS 00/100 M.N."),
    ("100", "CIEN PESOS 00/100 M.N."),
    ("101", "CIENTO UN PESOS 00/100 M.N."),
    ("115", "CIENTO QUINCE PESOS 00/100 M.N."),
    ("200", "DOSCIENTOS PESOS 00/100 M.N."),
    ("500", "QUINIENTOS PESOS 00/100 M.N."),
    ("555.55", "QUINIENTOS CINCUENTA Y CINCO PESOS 55/100 M.N."),
    ("700", "SETECIENTOS PESOS 00/100 M.N."),
    ("900", "NOVECIENTOS PESOS 00/100 M.N."),
    ("1000", "MIL PESOS 00/100 M.N."),
    ("1001", "MIL UN PESOS 00/100 M.N."),
    ("1100", "MIL CIEN PESOS 00/100 M.N."),
    ("1160.00", "MIL CIENTO SESENTA PESOS 00/100 M.N."),
    ("2000", "DOS MIL PESOS 00/100 M.N."),
    ("3327.01", "TRES MIL TRESCIENTOS VEINTISIETE PESOS 01/100 M.N."),
    ("21000", "VEINTIÚN MIL PESOS 00/100 M.N."),
    ("31500", "TREINTA Y UN MIL QUINIENTOS PESOS 00/100 M.N."),
    ("100000", "CIEN MIL PESOS 00/100 M.N."),
    ("101000", "CIENTO UN MIL PESOS 00/100 M.N."),
    ("999999.99", "NOVECIENTOS NOVENTA Y NUEVE MIL NOVECIENTOS NOVENTA Y NUEVE PESOS 99/100 M.N."),
    ("1000000", "UN MILLÓN DE PESOS 00/100 M.N."),
    ("1000000.50", "UN MILLÓN DE PESOS 50/100 M.N."),
    ("1000001", "UN MILLÓN UN PESOS 00/100 M.N."),
    ("1234567.89", "UN MILLÓN DOSCIENTOS TREINTA Y CUATRO MIL QUINIENTOS SESENTA Y SIETE PESOS 89/100 M.N."),
    ("2000000", "DOS MILLONES DE PESOS 00/100 M.N."),
    ("2500000.50", "DOS MILLONES QUINIENTOS MIL PESOS 50/100 M.N."),
    ("21000000", "VEINTIÚN MILLONES DE PESOS 00/100 M.N."),
    ("1000000000", "MIL MILLONES DE PESOS 00/100 M.N."),
    ("2021000001", "DOS MIL VEINTIÚN MILLONES UN PESOS 00/100 M.N."),
    ("1000000000000", "UN BILLÓN DE PESOS 00/100 M.N."),
    ("3000000000000.10", "TRES BILLONES DE PESOS 10/100 M.N."),
]


@pytest.mark.parametrize("amount, words", CASES)
def test_mxn_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_cents_are_rounded_half_up_to_two_places():
    assert amount_in_words("1.005") == "UN PESO 01/100 M.N."
    assert amount_in_words("1.004") == "UN PESO 00/100 M.N."
    assert amount_in_words("0.999") == "UN PESO 00/100 M.N."


def test_accepts_str_int_and_decimal():
    assert amount_in_words(21) == amount_in_words("21.00") == amount_in_words(Decimal("21"))


@pytest.mark.parametrize(
    "amount, currency, words",
    [
        ("1", "USD", "UN DÓLAR 00/100 USD"),
        ("10.50", "USD", "DIEZ DÓLARES 50/100 USD"),
        ("1000000", "EUR", "UN MILLÓN DE EUROS 00/100 EUR"),
        ("3", "JPY", "TRES JPY 00/100 JPY"),  # unknown currencies fall back to the code
    ],
)
def test_other_currencies(amount, currency, words):
    assert amount_in_words(amount, currency) == words


def test_integer_words_without_apocope():
    assert integer_in_words(21, apocope=False) == "VEINTIUNO"
    assert integer_in_words(1, apocope=False) == "UNO"
    assert integer_in_words(21_000, apocope=False) == "VEINTIÚN MIL"  # "mil" is masculine noun-like


@pytest.mark.parametrize("bad", ["-1", "1000000000000000000"])
def test_out_of_range_amounts_are_rejected(bad):
    with pytest.raises(ValueError):
        amount_in_words(bad)
