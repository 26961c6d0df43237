"""Factura global (CFDI to público en general): receptor, InformacionGlobal, one concept
per ticket and tax treatment, Total == Σ tickets to the cent, XSD and seal."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from services.cfdi.concepts import build_global_concepts, summarize
from services.cfdi.engine import CfdiBuildError, build_signed_global_cfdi, global_payment_form
from services.cfdi.verify import cadena_original, verify_seal
from services.cfdi.xsd import validate_xml
from services.kernel.types import IVA_16, GlobalInvoiceRequest, GlobalTicket, Issuer, LineTax, SaleLine

from .test_engine import check_signed

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}
ISSUER = Issuer("EKU9003173C9", "ESCUELA KEMPER URGATE SA DE CV", "601", "42501")
NOW = datetime.now().year


def ticket(reference, *lines, payment_form="01"):
    lines = tuple(lines)
    return GlobalTicket(reference, lines, sum((l.amount for l in lines), D("0.00")), payment_form)


def line(q, p, taxes=(IVA_16,)):
    return SaleLine("50181900", "H87", "Pan dulce", D(q), D(p), taxes)


def request(tickets_, **kw) -> GlobalInvoiceRequest:
    base = dict(issuer=ISSUER, periodicity="04", months="01", year=NOW, tickets=tuple(tickets_), series="GL", folio="1")
    base.update(kw)
    return GlobalInvoiceRequest(**base)


def test_global_invoice_receptor_information_and_concepts(eku_csd):
    tickets = [
        ticket("T-1", line("2", "580.00")),
        ticket("T-2", line("1", "25.00", (LineTax("IEPS", D("0.08")), IVA_16)), line("3", "9.99", (LineTax("IVA", D("0")),)),
               payment_form="04"),
        ticket("T-3", line("1", "10", (LineTax("IVA", exempt=True),))),
    ]
    signed = build_signed_global_cfdi(request(tickets), eku_csd)
    total = sum((t.total for t in tickets), D("0.00"))
    check_signed(signed, total)  # XSD, seal, cadena = SAT's XSLT, limits, Total to the cent
    root = etree.fromstring(signed.xml)
    receptor = root.find("cfdi:Receptor", NS)
    assert dict(receptor.attrib) == {"Rfc": "XAXX010101000", "Nombre": "PUBLICO EN GENERAL", "DomicilioFiscalReceptor": "42501",
                                     "RegimenFiscalReceptor": "616", "UsoCFDI": "S01"}
    assert root.get("LugarExpedicion") == "42501"
    info = root.find("cfdi:InformacionGlobal", NS)
    assert dict(info.attrib) == {"Periodicidad": "04", "Meses": "01", "Año": str(NOW)}
    # InformacionGlobal is right after the root's attributes, before Emisor (cfdv40.xsd order).
    assert [etree.QName(c).localname for c in root][:3] == ["InformacionGlobal", "Emisor", "Receptor"]
    assert (root.get("MetodoPago"), root.get("FormaPago"), root.get("Serie"), root.get("Folio")) == ("PUE", "01", "GL", "1")
    concepts = root.findall("cfdi:Conceptos/cfdi:Concepto", NS)
    # T-2 has two tax treatments: two concepts with its reference.
    assert [c.get("NoIdentificacion") for c in concepts] == ["T-1", "T-2", "T-2", "T-3"]
    for c in concepts:
        assert (c.get("ClaveProdServ"), c.get("ClaveUnidad"), c.get("Cantidad"), c.get("Descripcion")) == (
            "01010101", "ACT", "1", "Venta")
        assert c.get("ValorUnitario") == c.get("Importe")
    assert "|Venta|" in signed.cadena and "|04|01|" in signed.cadena


def test_payment_form_is_the_one_with_the_largest_amount():
    tickets = [ticket("A", line("1", "10"), payment_form="01"), ticket("B", line("1", "10"), payment_form="01"),
               ticket("C", line("1", "15"), payment_form="04")]
    assert global_payment_form(tickets) == "01"
    assert global_payment_form(tickets[:1] + tickets[2:]) == "04"
    assert global_payment_form([ticket("A", line("1", "10"), payment_form="28"),
                                ticket("B", line("1", "10"), payment_form="04")]) == "04"  # tie: lowest code


@pytest.mark.parametrize("kw,field,code", [
    ({"periodicity": "06"}, "periodicity", "PERIODICITY_INVALID"),
    ({"periodicity": "05", "months": "13"}, "periodicity", "PERIODICITY_NOT_ALLOWED"),  # régimen 601, not RIF
    ({"months": "13"}, "months", "MONTHS_INVALID"),
    ({"months": "00"}, "months", "MONTHS_INVALID"),
    ({"year": NOW - 2}, "year", "YEAR_OUT_OF_RANGE"),
    ({"year": NOW + 1}, "year", "YEAR_OUT_OF_RANGE"),
    ({"tickets": ()}, "tickets", "NOTHING_TO_INVOICE"),
])
def test_invalid_global_information_is_refused(eku_csd, kw, field, code):
    with pytest.raises(CfdiBuildError) as exc:
        build_signed_global_cfdi(request([ticket("T-1", line("1", "10"))], **kw), eku_csd)
    assert (field, code) in {(p.field, p.code) for p in exc.value.problems}


def test_daily_and_previous_year_are_accepted(eku_csd):
    signed = build_signed_global_cfdi(request([ticket("T-1", line("1", "10"))], periodicity="01", months="12",
                                              year=NOW - 1), eku_csd)
    assert validate_xml(signed.xml) == [] and verify_seal(signed.xml)
    assert cadena_original(signed.xml) == signed.cadena


TREATMENTS = [(IVA_16,), (LineTax("IVA", D("0.08")),), (LineTax("IVA", D("0")),), (LineTax("IVA", exempt=True),),
              (LineTax("IEPS", D("0.265")), IVA_16), (LineTax("IEPS", D("0.08")), IVA_16)]
_line = st.builds(
    lambda q, p, t: line(q, p, t),
    st.decimals(min_value=D("0.001"), max_value=D("50"), places=3),
    st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2),
    st.sampled_from(TREATMENTS),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_line, min_size=1, max_size=4), min_size=1, max_size=12))
def test_global_total_is_the_sum_of_the_tickets(ticket_lines):
    tickets = [ticket(f"T-{i}", *ls) for i, ls in enumerate(ticket_lines)]
    tickets = [t for t in tickets if t.total > 0]
    if not tickets:
        return
    concepts = build_global_concepts(tickets)
    assert summarize(concepts).total == sum((t.total for t in tickets), D("0.00"))
    for t in tickets:  # and each ticket's concepts add up to that ticket
        assert sum((c.total for c in concepts if c.no_identificacion == t.reference), D("0.00")) == t.total


def test_a_reference_stored_before_recordsale_refused_pipes_still_fits_no_identificacion():
    # cfdv40.xsd Concepto@NoIdentificacion [^|]{1,100}: an old sale's "A|1" must not keep
    # the other tickets of the period out of the factura global.
    concepts = build_global_concepts([ticket("A|1\x1b", line("1", "116")), ticket("B-2", line("1", "116"))])
    assert [c.no_identificacion for c in concepts] == ["A/1", "B-2"]
