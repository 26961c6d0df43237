"""Accepted means invoiceable, as a property (hypothesis, fixed seed): for any sale that
recordSale's validation accepts and any customer that issueInvoice's check accepts, the
CFDI is built and sealed, passes SAT's XSD (cfdv40.xsd) and its seal verifies; the same
sale also fits a factura global (its reference becomes NoIdentificacion). And neither
check ever raises: whatever they refuse is a field problem.

In-process (validation -> engine -> XSD), no database, so it runs once and not per
database; derandomize=True keeps CI's examples the same on every run."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.cfdi.engine import build_signed_cfdi, build_signed_global_cfdi
from services.cfdi.rules import check_customer
from services.cfdi.verify import verify_seal
from services.cfdi.xsd import validate_xml
from services.kernel.results import Invalid
from services.kernel.types import Customer, GenericConceptConfig, GlobalInvoiceRequest, GlobalTicket, InvoiceRequest, Issuer
from services.merchants.models import Merchant
from services.sales.validation import RawLine, RawTax, SaleInput, validate_sale

from .conftest import csd_material

NOW = datetime.now(UTC)
CSD = csd_material("EKU9003173C9")

# Characters that have broken invoices or could: the cadena's separator, C0/C1 controls,
# XML-illegal code points, Unicode line separators, non-BMP characters.
_NASTY = st.sampled_from(["|", "\x00", "\x1b", "\x1f", "\x7f", "\x85", "\u2028", "\ufffe", "\ud800",
                          "\t", "\n", "\r", "\xa0", "ß", "ŉ", "😀", "&", "<", '"', "'"])
def _mostly(good, bad):
    """`good` about four times in five, `bad` otherwise (one_of leans on its later
    branches, a middle band of a bounded integer does not)."""
    return st.integers(0, 19).flatmap(lambda i: bad if 6 <= i <= 9 else good)


_CHAR = st.one_of(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), _NASTY, st.characters())
_GOOD_CHAR = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="|")
# Mostly text that should pass (so that most examples reach the engine), sometimes
# anything, sometimes text around the XSD's length limits.
_GOOD_TEXT = st.text(_GOOD_CHAR, min_size=1, max_size=40)
_TEXT = _mostly(_GOOD_TEXT, st.one_of(
    st.text(_CHAR, max_size=30),
    st.builds(lambda a, n, b: a * n + b, st.sampled_from(["a", "ñ ", "😀", "ß"]), st.integers(140, 1010),
              st.text(_CHAR, max_size=3)),
))
_GOOD_QUANTITY = st.builds(lambda n, p: D(n).scaleb(-p), st.integers(1, 500), st.integers(0, 3))
_GOOD_PRICE = st.builds(lambda n, p: D(n).scaleb(-p), st.integers(1, 10**7), st.integers(2, 4))
_ODD_AMOUNT = st.one_of(
    st.builds(lambda n, p: D(n).scaleb(-p), st.integers(0, 10**9), st.integers(0, 7)),
    st.sampled_from([D("1e999999"), D("1e308"), D("-1"), D("0.0000001"), D("333.33"), D("99999.99"), D("0.5"),
                     D("0.333"), D("99999999.99")]),
)
_QUANTITY = _mostly(_GOOD_QUANTITY, _ODD_AMOUNT)
_PRICE = _mostly(_GOOD_PRICE, _ODD_AMOUNT)
# Catalogue keys, taxes and payment forms are checked elsewhere (tests/api/test_merchant_api.py,
# test_concepts.py): here they are valid, so that most examples reach the engine with the
# free text and the amounts this property is about.
_TAX_SETS = st.sampled_from([
    None, (RawTax("IVA", D("0.16"), False),), (RawTax("IVA", D("0"), False),), (RawTax("IVA", None, True),),
    (RawTax("IEPS", D("0.265"), False), RawTax("IVA", D("0.16"), False)),
    (RawTax("IEPS", D("0.08"), False), RawTax("IVA", D("0"), False)),
])
_LINE = st.builds(RawLine, product_key=st.sampled_from(["01010101", "50181900"]),
                  unit_key=st.sampled_from(["H87", "E48", "ACT"]), description=_TEXT,
                  quantity=_QUANTITY, unit_price=_PRICE, taxes=_TAX_SETS)
_REFERENCE = _TEXT
_SALE = st.builds(SaleInput, reference=_REFERENCE, sold_at=st.none(), payment_form=st.sampled_from(["01", "04", "03"]),
                  lines=st.lists(_LINE, min_size=1, max_size=3).map(tuple),
                  customer_email=_mostly(st.sampled_from([None, "x@ejemplo.mx"]), st.just("x\x00@ejemplo.mx")))
_CAPITAL = _mostly(st.just(""), st.sampled_from([" S.A. DE C.V.", " SA de CV", " SAPI de CV", " A.C.", " SA"]))
_CUSTOMER = st.builds(
    lambda who, name, capital, zip_code: Customer(who[0], name + capital, zip_code, who[1], who[2]),
    st.sampled_from([("CACX7605101P8", "612", "G03"), ("XIQB891116QE4", "612", "D01"), ("EKU9003173C9", "601", "G01"),
                     ("XEXX010101000", "616", "S01"), ("CACX7605101P8", "605", "CN01"), ("CACX7605101P8", "612", "CP01"),
                     ("EKU9003173C9", "601", "I01")]),
    _TEXT, _CAPITAL, st.sampled_from(["36257", "10740", "42501"]),
)
_GENERIC = st.one_of(st.none(), st.just(GenericConceptConfig("90101500", "E48", ("Consumo de alimentos " * 47).strip())))


def _merchant(zip_code: str, generic: GenericConceptConfig | None) -> Merchant:
    return Merchant(
        id=1, company_number="100001", email="tienda@example.com", rfc="EKU9003173C9",
        legal_name="ESCUELA KEMPER URGATE", tax_regime="601", zip_code=zip_code, certificate_number="30001000000500003416",
        certificate_valid_to=NOW, certificate_valid_from=NOW, self_invoicing_enabled=True, month_end_limit=False,
        deadline_days=30, series="AF", generic_concept_enabled=generic is not None,
        generic_product_key=generic.product_key if generic else None, generic_unit_key=generic.unit_key if generic else None,
        generic_description=generic.description if generic else None,
    )


@settings(max_examples=300, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sale=_SALE, customer=_CUSTOMER, zip_code=st.sampled_from(["42501", "22000"]), generic=_GENERIC)
def test_what_is_accepted_can_be_invoiced(sale, customer, zip_code, generic):
    merchant = _merchant(zip_code, generic)
    lines = validate_sale(sale, merchant, NOW)  # never raises
    customer_problems = check_customer(customer, global_invoice=False, issuer_zip=zip_code)  # never raises
    assert all(p.field.startswith("customer.") and p.message for p in customer_problems)
    if isinstance(lines, Invalid):
        assert lines.problems and all(p.message for p in lines.problems)
        event("sale refused")
        return
    issuer = Issuer(merchant.rfc, merchant.legal_name, merchant.tax_regime, zip_code)
    total = sum((line.amount for line in lines), D("0.00"))
    reference = " ".join(sale.reference.split())
    # The same sale in a factura global: Concepto@NoIdentificacion is its reference.
    global_cfdi = build_signed_global_cfdi(GlobalInvoiceRequest(
        issuer=issuer, periodicity="04", months=f"{NOW.month:02d}", year=NOW.year,
        tickets=(GlobalTicket(reference, lines, total, sale.payment_form),), series="FG", folio="1"), CSD)
    assert validate_xml(global_cfdi.xml) == [] and verify_seal(global_cfdi.xml)
    if customer_problems:
        event("sale accepted, customer refused")
        return
    event("sale and customer accepted")
    signed = build_signed_cfdi(InvoiceRequest(
        issuer=issuer, customer=customer, lines=lines, payment_form=sale.payment_form, series="AF", folio="1",
        ticket_total=total, generic_concept=generic), CSD)
    assert validate_xml(signed.xml) == []
    assert verify_seal(signed.xml)
    assert signed.total == total
