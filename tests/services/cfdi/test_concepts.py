"""services.cfdi.concepts: ticket arithmetic that a PAC accepts and adds up to the ticket."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cfdi.concepts import (
    EXENTO, IEPS, IVA, ConceptError, build_concepts, check_concept, importe_limits, summarize, tax_limits,
)
from services.kernel.types import IVA_16, GenericConceptConfig, LineTax, SaleLine

IVA_8 = LineTax("IVA", D("0.08"))
IVA_0 = LineTax("IVA", D("0"))
IVA_EX = LineTax("IVA", exempt=True)
IEPS_265 = LineTax("IEPS", D("0.265"))
IEPS_8 = LineTax("IEPS", D("0.08"))
TREATMENTS = [(IVA_16,), (IVA_8,), (IVA_0,), (IVA_EX,), (IEPS_265, IVA_16), (IEPS_8, IVA_16), (IEPS_8, IVA_EX)]
GENERIC = GenericConceptConfig("01010101", "ACT", "Venta")


def line(q, p, taxes=(IVA_16,)):
    return SaleLine("01010101", "H87", "art", D(q), D(p), taxes)


def test_limits_formulas():
    # Anexo 20: (2 - 0.5)*(10.00 - 0.005) truncated .. (2 + 0.5)*(10.005) rounded up
    assert importe_limits(D("2"), D("10.00")) == (D("14.99"), D("25.02"))
    assert importe_limits(D("1.000"), D("10.00")) == (D("9.99"), D("10.02"))
    assert tax_limits(D("100.00"), D("0.160000")) == (D("15.99"), D("16.01"))


def test_simple_16():
    [c] = build_concepts([line("1", "116.00")])
    assert (c.amount, c.unit_value, c.quantity) == (D("100.00"), D("100.00"), D("1"))
    [t] = c.transfers
    assert (t.impuesto, t.tipo_factor, t.tasa, t.base, t.importe) == (IVA, "Tasa", D("0.160000"), D("100.00"), D("16.00"))
    assert summarize([c]).total == D("116.00")


def test_exento_has_no_rate_nor_amount():
    [c] = build_concepts([line("1", "50", (IVA_EX,))])
    [t] = c.transfers
    assert t.tipo_factor == EXENTO and t.tasa is None and t.importe is None and t.base == D("50.00")
    s = summarize([c])
    assert s.total_transferred is None and s.total == D("50.00")


def test_iva_zero_has_zero_amount():
    [c] = build_concepts([line("2", "10.005", (IVA_0,))])
    [t] = c.transfers
    assert t.tasa == D("0.000000") and t.importe == D("0.00")
    assert summarize([c]).total == D("20.01")


def test_ieps_then_iva_on_base_plus_ieps():
    [c] = build_concepts([line("1", "100.00", (IEPS_8, IVA_16))])
    iva = next(t for t in c.transfers if t.impuesto == IVA)
    ieps = next(t for t in c.transfers if t.impuesto == IEPS)
    assert ieps.base == c.amount and iva.base == c.amount + ieps.importe
    assert c.amount + ieps.importe + iva.importe == D("100.00")
    assert check_concept(c) == []


def test_unreachable_amount_moves_a_cent_within_limits():
    # 0.01 steps of base can't produce every total with 16 %; find one that needs a move.
    for cents_ in range(100, 400):
        amount = D(cents_) / 100
        [c] = build_concepts([line("1", amount)])
        assert summarize([c]).total == amount
        assert check_concept(c) == []


def test_zero_lines_are_skipped_and_all_zero_is_error():
    cs = build_concepts([line("0.001", "0.01"), line("1", "1.16")])
    assert len(cs) == 1
    with pytest.raises(ConceptError):
        build_concepts([line("0.001", "0.01")])


def test_rate_not_in_catalogue_is_refused():
    with pytest.raises(ConceptError):
        build_concepts([line("1", "10", (LineTax("IVA", D("0.15")),))])


def test_generic_groups_by_treatment():
    lines = [line("1", "116"), line("2", "10.80", (IVA_8,)), line("1", "50", (IVA_EX,)), line("3", "1.16")]
    cs = build_concepts(lines, GENERIC)
    assert len(cs) == 3 and all(c.quantity == 1 and c.unit_key == "ACT" for c in cs)
    assert summarize(cs).total == sum(l.amount for l in lines)
    assert all(len({t.impuesto for t in c.transfers}) == len(c.transfers) for c in cs)


def test_generic_single_treatment_keeps_description():
    [c] = build_concepts([line("1", "116"), line("1", "1.16")], GENERIC)
    assert c.description == "Venta" and c.amount == D("101.00")


def test_summary_groups_by_tax_factor_rate():
    cs = build_concepts([line("1", "116"), line("1", "232"), line("1", "108", (IVA_8,))])
    s = summarize(cs)
    groups = {(t.impuesto, t.tipo_factor, t.tasa): (t.base, t.importe) for t in s.transfers}
    assert groups[(IVA, "Tasa", D("0.160000"))] == (D("300.00"), D("48.00"))
    assert groups[(IVA, "Tasa", D("0.080000"))] == (D("100.00"), D("8.00"))
    assert s.total_transferred == D("56.00") and s.subtotal == D("400.00") and s.total == D("456.00")


quantities = st.integers(min_value=1, max_value=99_999).map(lambda n: D(n) / 1000)
prices = st.integers(min_value=1, max_value=9_999_999).map(lambda n: D(n) / 100)
lines_st = st.lists(
    st.builds(lambda q, p, t: SaleLine("01010101", "H87", "art", q, p, t), quantities, prices, st.sampled_from(TREATMENTS)),
    min_size=1, max_size=300,
)


@settings(max_examples=60, deadline=None)
@given(lines_st, st.booleans())
def test_property_totals_and_limits(lines, generic):
    if all(l.amount == 0 for l in lines):
        return
    cs = build_concepts(lines, GENERIC if generic else None)
    s = summarize(cs)
    assert s.total == sum(l.amount for l in lines)  # ticket total, to the cent
    assert s.subtotal == sum(c.amount for c in cs)
    for c in cs:
        assert check_concept(c) == []
        assert c.amount == c.amount.quantize(D("0.01"))
        assert -c.unit_value.as_tuple().exponent <= 6
        assert len([t for t in c.transfers if t.impuesto == IVA]) <= 1


# Anexo 20 Concepto@ValorUnitario is the price: where the ticket's price before taxes is
# exact (at most 6 decimals, Cantidad × it rounds to Importe) the concept carries it,
# not a value derived from the rounded amount.
@pytest.mark.parametrize(("q", "p", "taxes", "unit_value"), [
    ("0.5", "333.33", (IVA_0,), "333.33"),  # was 333.34
    ("0.333", "99999.99", (IVA_EX,), "99999.99"),  # was 100000.00
    ("0.5", "116", (IVA_16,), "100.00"),  # 116 / 1.16 is exact
    ("3", "10.5", (), "10.50"),  # no taxes: the price itself
    ("2.5", "17.90", (IVA_16,), "15.43"),  # 17.90 / 1.16 is not exact: derived, as before
])
def test_unit_value_is_the_tickets_price_when_exact(q, p, taxes, unit_value):
    (c,) = build_concepts([line(q, p, taxes)])
    assert c.unit_value == D(unit_value) and str(c.unit_value) == unit_value
    assert check_concept(c) == [] and c.total == line(q, p, taxes).amount


def test_generic_description_stays_within_1000_characters():
    generic = GenericConceptConfig("01010101", "ACT", "x" * 1000)
    cs = build_concepts([line("1", "116"), line("1", "100", (IVA_0,))], generic)
    assert [len(c.description) for c in cs] == [1000, 1000]
    assert cs[0].description.endswith(" (IVA 16 %)") and cs[1].description.endswith(" (IVA 0 %)")
