"""services.cfdi.engine end to end: build, seal, XSD, cadena equals SAT's XSLT."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from services.cfdi.concepts import importe_limits, tax_limits
from services.cfdi.csd import CsdError
from services.cfdi.engine import CfdiBuildError, SignedCfdi, build_signed_cfdi
from services.cfdi.verify import cadena_original, verify_seal
from services.cfdi.sat import parse_strict
from services.cfdi.xsd import validate_xml
from services.kernel.types import (
    IVA_16, Customer, GenericConceptConfig, InvoiceRequest, Issuer, LineTax, SaleLine,
)

from .conftest import csd_material

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
ISSUER = Issuer("EKU9003173C9", "ESCUELA KEMPER URGATE SA DE CV", "601", "42501")
CUSTOMER = Customer("CACX7605101P8", "Xochilt Casas Chavez", "10740", "612", "G03", "x@ejemplo.mx")
TREATMENTS = [(IVA_16,), (LineTax("IVA", D("0.08")),), (LineTax("IVA", D("0")),), (LineTax("IVA", exempt=True),),
              (LineTax("IEPS", D("0.265")), IVA_16), (LineTax("IEPS", D("0.08")), IVA_16), ()]


def request(lines, **kw) -> InvoiceRequest:
    base = dict(issuer=ISSUER, customer=CUSTOMER, lines=tuple(lines), payment_form="04", series="A",
                folio="1", ticket_total=sum((l.amount for l in lines), D("0.00")))
    base.update(kw)
    return InvoiceRequest(**base)


def line(q, p, taxes=(IVA_16,)):
    return SaleLine("50181900", "H87", "Pan dulce", D(q), D(p), taxes)


def check_signed(signed: SignedCfdi, ticket_total: D) -> None:
    root = parse_strict(signed.xml).getroot()
    assert validate_xml(signed.xml) == []
    assert verify_seal(signed.xml)
    assert cadena_original(signed.xml) == signed.cadena  # what we signed is SAT's cadena
    assert D(root.get("Total")) == ticket_total == signed.total
    subtotal = D(root.get("SubTotal"))
    concepts = root.findall("cfdi:Conceptos/cfdi:Concepto", NS)
    assert subtotal == sum(D(c.get("Importe")) for c in concepts)
    transferred = D("0")
    for c in concepts:
        q, vu, imp = D(c.get("Cantidad")), D(c.get("ValorUnitario")), D(c.get("Importe"))
        lo, hi = importe_limits(q, vu)
        assert lo <= imp <= hi
        for t in c.findall("cfdi:Impuestos/cfdi:Traslados/cfdi:Traslado", NS):
            if t.get("TipoFactor") == "Exento":
                assert t.get("TasaOCuota") is None and t.get("Importe") is None
                continue
            lo, hi = tax_limits(D(t.get("Base")), D(t.get("TasaOCuota")))
            assert lo <= D(t.get("Importe")) <= hi
            transferred += D(t.get("Importe"))
    imp = root.find("cfdi:Impuestos", NS)
    total_tr = D(imp.get("TotalImpuestosTrasladados")) if imp is not None and imp.get("TotalImpuestosTrasladados") else D(0)
    assert total_tr == transferred
    if imp is not None:
        assert sum(D(t.get("Importe") or 0) for t in imp.findall("cfdi:Traslados/cfdi:Traslado", NS)) == total_tr
    assert subtotal + total_tr == ticket_total


def test_build_sign_validate_simple(eku_csd):
    lines = [line("2.5", "17.90"), line("1", "25.00", (LineTax("IEPS", D("0.08")), IVA_16)),
             line("1.234", "27.50", (LineTax("IVA", D("0")),)), line("1", "10", (LineTax("IVA", exempt=True),))]
    signed = build_signed_cfdi(request(lines), eku_csd)
    check_signed(signed, D("113.69"))
    root = etree.fromstring(signed.xml)
    assert root.get("NoCertificado") == signed.certificate_number == "30001000000500003416"
    assert root.find("cfdi:Emisor", NS).get("Nombre") == "ESCUELA KEMPER URGATE"
    assert root.find("cfdi:Receptor", NS).get("Nombre") == "XOCHILT CASAS CHAVEZ"
    assert (root.get("TipoDeComprobante"), root.get("Exportacion"), root.get("MetodoPago"), root.get("Moneda"),
            root.get("FormaPago"), root.get("LugarExpedicion")) == ("I", "01", "PUE", "MXN", "04", "42501")


def test_fecha_is_local_time_of_lugar_expedicion(eku_csd):
    at = datetime(2026, 11, 1, 18, 30, 15, 123456, tzinfo=timezone.utc)
    signed = build_signed_cfdi(request([line("1", "116")], issued_at=at), eku_csd)
    assert etree.fromstring(signed.xml).get("Fecha") == "2026-11-01T12:30:15"  # Mexico City UTC-6
    tijuana = ISSUER.__class__(ISSUER.rfc, ISSUER.legal_name, "601", "22000")
    signed = build_signed_cfdi(request([line("1", "116")], issued_at=at, issuer=tijuana), eku_csd)
    assert etree.fromstring(signed.xml).get("Fecha") == "2026-11-01T10:30:15"  # Tijuana: PDT ended 02:00 local, now PST (UTC-8)


def test_generic_concept(eku_csd):
    lines = [line("1", "116"), line("3", "9.99", (LineTax("IVA", exempt=True),)), line("2", "0.55")]
    signed = build_signed_cfdi(request(lines, generic_concept=GenericConceptConfig("01010101", "ACT", "Venta")), eku_csd)
    check_signed(signed, D("147.07"))
    assert len(etree.fromstring(signed.xml).findall("cfdi:Conceptos/cfdi:Concepto", NS)) == 2


def test_invalid_customer_raises_build_error(eku_csd):
    bad = Customer("XAXX010101000", "PUBLICO EN GENERAL", "42501", "616", "S01")
    with pytest.raises(CfdiBuildError) as err:
        build_signed_cfdi(request([line("1", "116")], customer=bad), eku_csd)
    assert [p.code for p in err.value.problems] == ["RFC_GENERIC_NOT_ALLOWED"]


def test_ticket_total_mismatch_and_payment_form(eku_csd):
    with pytest.raises(CfdiBuildError) as err:
        build_signed_cfdi(request([line("1", "116")], ticket_total=D("115.99"), payment_form="99"), eku_csd)
    assert {p.code for p in err.value.problems} == {"TICKET_TOTAL_MISMATCH", "PAYMENT_FORM_INVALID"}


def test_issuer_must_match_csd():
    other = csd_material("CACX7605101P8")
    with pytest.raises(CfdiBuildError) as err:
        build_signed_cfdi(request([line("1", "116")]), other)
    assert err.value.problems[0].code == "ISSUER_RFC_MISMATCH"


def test_expired_csd_raises_csd_error():
    issuer = Issuer("XIQB891116QE4", "BERENICE XIMO QUEZADA", "612", "42501")
    with pytest.raises(CsdError) as err:
        build_signed_cfdi(request([line("1", "116")], issuer=issuer), csd_material("XIQB891116QE4"))
    assert err.value.code == "EXPIRED"


def test_build_time_per_invoice(eku_csd, capsys):
    build_signed_cfdi(request([line("1", "116")]), eku_csd)  # warm XSD / XSLT
    lines = [line("1", "116")] * 10
    n = 10
    start = time.perf_counter()
    for _ in range(n):
        build_signed_cfdi(request(lines), eku_csd)
    per = (time.perf_counter() - start) / n
    with capsys.disabled():
        print(f"\n[build+seal+XSD, 10 lines] {per * 1000:.1f} ms per invoice")
    assert per < 1.0


line_st = st.builds(
    lambda q, p, t: SaleLine("50181900", "H87", "Artículo & <especial>", q, p, t),
    st.integers(1, 99_999).map(lambda n: D(n) / 1000),
    st.integers(1, 9_999_999).map(lambda n: D(n) / 100),
    st.sampled_from(TREATMENTS),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(line_st, min_size=1, max_size=300), st.booleans())
def test_property_random_tickets(eku_csd, lines, generic):
    ticket_total = sum((l.amount for l in lines), D("0.00"))
    if all(l.amount == 0 for l in lines):
        return
    req = request(lines, generic_concept=GenericConceptConfig("01010101", "ACT", "Venta") if generic else None)
    check_signed(build_signed_cfdi(req, eku_csd), ticket_total)
