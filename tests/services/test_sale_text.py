"""recordSale's validation and issueInvoice's customer check against what a CFDI 4.0 can
carry (cfdv40.xsd patterns and lengths, XML 1.0 characters), called directly: NUL and
other control characters, which a GraphQL transport may refuse before they get here."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from services.cfdi import xsd_text
from services.cfdi.rules import capital_regime_suffix, check_customer
from services.kernel.money import is_money
from services.kernel.results import Invalid
from services.kernel.types import Customer
from services.merchants.models import Merchant
from services.sales.validation import RawLine, SaleInput, validate_sale

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MERCHANT = Merchant(
    id=1, company_number="100001", email="t@example.com", rfc="EKU9003173C9", legal_name="ESCUELA KEMPER URGATE",
    tax_regime="601", zip_code="42501", certificate_number="30001000000500003416", certificate_valid_to=NOW,
    certificate_valid_from=NOW, self_invoicing_enabled=True, month_end_limit=False, deadline_days=30, series="AF",
    generic_concept_enabled=False, generic_product_key=None, generic_unit_key=None, generic_description=None,
)


def sale(description="Pan dulce", reference="T-1", email=None, quantity="1", price="10.00"):
    return SaleInput(reference, None, "01", (RawLine("50181900", "H87", description, D(quantity), D(price), None),), email)


def problems(result):
    assert isinstance(result, Invalid)
    return [(p.field, p.code) for p in result.problems]


def test_the_rules_are_read_from_cfdv40_xsd():
    assert xsd_text.rule(xsd_text.DESCRIPCION).max_length == 1000
    assert xsd_text.rule(xsd_text.RECEPTOR_NOMBRE).max_length == 300
    assert xsd_text.rule(xsd_text.NO_IDENTIFICACION).max_length == 100
    assert xsd_text.rule(xsd_text.UNIDAD).max_length == 20
    assert xsd_text.rule(xsd_text.DESCRIPCION).pattern.pattern == "[^|]{1,1000}"


@pytest.mark.parametrize("description", ["Pan\x00dulce", "Pan\x1bdulce", "Pan\x1fdulce", "Pan\x85dulce",
                                         "Pan\ud800dulce", "Pan\uffffdulce"])
def test_control_characters_in_a_description_are_refused(description):
    result = validate_sale(sale(description), MERCHANT, NOW)
    assert problems(result) == [("lines.0.description", "INVALID")]
    assert "control" in result.problems[0].message


def test_whitespace_is_collapsed_and_1000_characters_fit():
    (line,) = validate_sale(sale("  Pan\t\n dulce  " + "x" * 990), MERCHANT, NOW)
    assert line.description == "Pan dulce " + "x" * 990
    assert problems(validate_sale(sale("x" * 1001), MERCHANT, NOW)) == [("lines.0.description", "TOO_LONG")]


@pytest.mark.parametrize("reference", ["T\x00-1", "T\x1f-1", "T|1"])
def test_reference_must_fit_no_identificacion(reference):
    assert problems(validate_sale(sale(reference=reference), MERCHANT, NOW)) == [("reference", "INVALID")]


def test_customer_email_with_nul_is_refused():
    assert problems(validate_sale(sale(email="x\x00@ejemplo.mx"), MERCHANT, NOW)) == [("customerEmail", "EMAIL_INVALID")]


def test_amount_ranges_never_overflow():
    assert problems(validate_sale(sale(quantity="1e999999", price="1e999999"), MERCHANT, NOW)) == [
        ("lines.0.quantity", "TOO_LARGE"), ("lines.0.unitPrice", "TOO_LARGE")]
    assert problems(validate_sale(sale(quantity="999999999", price="1"), MERCHANT, NOW)) == [
        ("lines.0.unitPrice", "TOO_LARGE")]
    two = SaleInput("T-1", None, "01", (RawLine("50181900", "H87", "a", D(1), D("99999999.99"), None),) * 2)
    assert problems(validate_sale(two, MERCHANT, NOW)) == [("lines", "TOO_LARGE")]


def customer(legal_name, rfc="CACX7605101P8", regime="612", use="G03"):
    return Customer(rfc, legal_name, "36257", regime, use)


@pytest.mark.parametrize(("legal_name", "code"), [
    ("Xochilt\x00Casas", "NAME_INVALID"), ("Xochilt\x1bCasas", "NAME_INVALID"), ("Xochilt | Casas", "NAME_INVALID"),
    ("x" * 301, "NAME_TOO_LONG"), ("ß" * 151, "NAME_TOO_LONG"),  # upper-cased "SS" × 151 = 302 characters
])
def test_customer_name_must_fit_receptor_nombre(legal_name, code):
    assert [(p.field, p.code) for p in check_customer(customer(legal_name))] == [("customer.legalName", code)]


def test_300_characters_fit_and_a_moral_capital_regime_does_not_count():
    assert check_customer(customer("x" * 300)) == []
    assert check_customer(customer("E" * 300 + " S.A. de C.V.", rfc="EKU9003173C9", regime="601")) == []


@pytest.mark.parametrize(("name", "suffix"), [
    ("Berenice Ximo Quezada S.A. de C.V.", "S.A. DE C.V."), ("Berenice Ximo Quezada SA DE CV", "SA DE CV"),
    ("Berenice Ximo Quezada S.A.", "S.A."), ("Berenice Ximo Quezada SAPI", "SAPI"),
    ("Berenice Ximo Quezada", None), ("Ana Sa", None), ("Luis Ac", None),  # bare 2-letter words may be a name
])
def test_capital_regime_suffix(name, suffix):
    assert capital_regime_suffix(name) == suffix


def test_persona_fisica_with_capital_regime_is_refused_in_spanish():
    (problem,) = check_customer(customer("Berenice Ximo Quezada S.A. de C.V.", rfc="XIQB891116QE4"))
    assert (problem.field, problem.code) == ("customer.legalName", "NAME_CAPITAL_REGIME")
    assert "persona física" in problem.message and "S.A. DE C.V." in problem.message


@pytest.mark.parametrize(("use", "regime"), [("CP01", "612"), ("CN01", "605")])
def test_uses_of_pagos_and_nomina_are_not_for_an_ingreso(use, regime):
    assert [(p.field, p.code) for p in check_customer(customer("Xochilt Casas", regime=regime, use=use))] == [
        ("customer.cfdiUse", "CFDI_USE_NOT_ALLOWED")]


@pytest.mark.parametrize(("value", "ok"), [
    ("1160", True), ("1160.0", True), ("1160.00", True), ("1160.000", True), ("0.01", True), ("99999999.99", True),
    ("1160.001", False), ("0", False), ("-1", False), ("1e309", False), ("1e308", False), ("1" * 39, False),
    ("100000000", False), ("NaN", False), ("Infinity", False), ("1e-999999", False),
])
def test_is_money(value, ok):
    assert is_money(D(value)) is ok
