"""Accepted means invoiceable, over GraphQL on SQLite and PostgreSQL: what recordSale and
issueInvoice accept can become a CFDI (cfdv40.xsd, catalogue rules), what they refuse is a
field error (never "Error interno", never a folio left PENDING), and a ticket's total
is no oracle."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.helpers import CUSTOMER, RECORD, UPDATE_GENERIC, issue, lookup, record, sale_input

NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}


def _line(description="Producto", quantity="2", price="580.00", taxes=None):
    line = {"productKey": "01010101", "unitKey": "H87", "description": description, "quantity": quantity,
            "unitPrice": price}
    if taxes is not None:
        line["taxes"] = taxes
    return line


async def _record_raw(client, reference="T-1", **over):
    return (await client(RECORD, {"input": sale_input(reference, **over)}))["data"]["recordSale"]


# cfdv40.xsd Concepto@Descripcion: pattern [^|]{1,1000}; XML 1.0 cannot carry ESC. Both
# were recorded, and every issueInvoice of such a sale answered "Error interno".
@pytest.mark.parametrize("description", ["Pan | dulce", "Pan\x1bdulce", "Pan\x7fdulce"])
async def test_record_sale_refuses_a_description_the_cfdi_cannot_carry(merchant, description):
    _, client = merchant
    res = await _record_raw(client, lines=[_line(description)])
    assert res["__typename"] == "InvalidSale"
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("lines.0.description", "INVALID")]
    assert res["errors"][0]["message"].startswith("La descripción")


async def test_record_sale_refuses_a_pipe_in_the_reference(merchant):
    # The reference is the factura global's Concepto@NoIdentificacion ([^|]{1,100}).
    _, client = merchant
    res = await _record_raw(client, "T|1")
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("reference", "INVALID")]


async def test_huge_quantity_and_price_are_field_errors(merchant):
    _, client = merchant
    res = await _record_raw(client, lines=[_line(quantity="1e999999", price="1e999999")])
    assert res["__typename"] == "InvalidSale"
    assert {(e["field"], e["code"]) for e in res["errors"]} == {
        ("lines.0.quantity", "TOO_LARGE"), ("lines.0.unitPrice", "TOO_LARGE")}


@pytest.mark.parametrize(("legal_name", "code"), [
    ("X" * 301, "NAME_TOO_LONG"),  # cfdv40.xsd Receptor@Nombre maxLength 300
    ("Xochilt | Casas Chavez", "NAME_INVALID"),  # pattern [^|]{1,300}
    ("Xochilt\x1bCasas Chavez", "NAME_INVALID"),  # not an XML 1.0 character
])
async def test_customer_name_the_cfdi_cannot_carry_takes_no_folio(gql, merchant, legal_name, code):
    row, client = merchant
    await record(client)
    ticket = await lookup(gql, row)
    res = await issue(gql, ticket["ticketToken"], {**CUSTOMER, "legalName": legal_name})
    assert res["__typename"] == "InvalidCustomerData", res
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("customer.legalName", code)]
    ok = await issue(gql, ticket["ticketToken"])
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["folio"] == "1"  # no PENDING row took one


async def test_persona_fisica_with_a_capital_regime_is_refused(gql, merchant):
    # XIQB891116QE4 is a persona física (13 characters): no régimen de capital (CFDI40145 family).
    row, client = merchant
    await record(client)
    ticket = await lookup(gql, row)
    berenice = {"rfc": "XIQB891116QE4", "legalName": "Berenice Ximo Quezada S.A. de C.V.", "zipCode": "36257",
                "taxRegime": "612", "cfdiUse": "G03"}
    res = await issue(gql, ticket["ticketToken"], berenice)
    assert res["__typename"] == "InvalidCustomerData", res
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("customer.legalName", "NAME_CAPITAL_REGIME")]
    assert "persona física" in res["errors"][0]["message"] and "S.A. DE C.V." in res["errors"][0]["message"]
    ok = await issue(gql, ticket["ticketToken"], {**berenice, "legalName": "Berenice Ximo Quezada"})
    assert ok["__typename"] == "InvoiceIssued" and ok["invoice"]["customerName"] == "BERENICE XIMO QUEZADA"


@pytest.mark.parametrize("use", ["CP01", "CN01"])
async def test_uses_of_pagos_and_nomina_are_refused_on_an_ingreso(gql, merchant, use):
    # CP01 is for CFDI de pagos (tipo P), CN01 for nómina (tipo N): never on an ingreso.
    row, client = merchant
    await record(client)
    ticket = await lookup(gql, row)
    customer = {**CUSTOMER, "cfdiUse": use}
    if use == "CN01":  # CN01 is in the matrix for 605 (sueldos y salarios) only
        customer["taxRegime"] = "605"
    res = await issue(gql, ticket["ticketToken"], customer)
    assert res["__typename"] == "InvalidCustomerData", res
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("customer.cfdiUse", "CFDI_USE_NOT_ALLOWED")]
    uses = (await gql('{ cfdiUses(taxRegime: "605", personType: PHYSICAL) { code } }'))["data"]["cfdiUses"]
    assert use not in {u["code"] for u in uses}


@pytest.mark.parametrize("total", ["1e309", "1e308", "1" * 39, "1160.001", "1160.004", "-1160", "0"])
async def test_an_impossible_total_answers_like_an_unknown_ticket(gql, merchant, total):
    # Before: "Error interno" when the reference existed, TicketNotFound when not (an oracle).
    row, client = merchant
    await record(client)
    existing = await lookup(gql, row, "T-1", total)
    unknown = await lookup(gql, row, "NOPE", total)
    assert existing == unknown
    assert existing["__typename"] == "TicketNotFound" and existing["retryAfterSeconds"] is None


async def test_impossible_totals_count_as_failed_lookups(gql, merchant, services):
    row, client = merchant
    await record(client)
    for _ in range(services.throttle.limits.per_client_company):
        assert (await lookup(gql, row, "T-1", "1e309"))["__typename"] == "TicketNotFound"
    blocked = await lookup(gql, row, "T-1", "1160.00")  # even the right data waits now
    assert blocked["__typename"] == "TicketNotFound" and blocked["retryAfterSeconds"] > 0


async def test_valor_unitario_is_the_tickets_price_when_exact(gql, merchant, http):
    # IVA 0 % at 333.33 × 0.5 and exento at 99,999.99 × 0.333: ValorUnitario used to be
    # derived from the rounded amount (333.34, 100000.00), a price the ticket did not state.
    row, client = merchant
    lines = [_line("Libro", "0.5", "333.33", [{"type": "IVA", "rate": "0"}]),
             _line("Consulta", "0.333", "99999.99", [{"type": "IVA", "exempt": True}]),
             _line("Pan", "2", "58.00")]
    sale = await record(client, lines=lines)
    ticket = await lookup(gql, row, "T-1", sale["total"])
    res = await issue(gql, ticket["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
    concepts = etree.fromstring(xml).findall("cfdi:Conceptos/cfdi:Concepto", NS)
    assert [(c.get("Cantidad"), c.get("ValorUnitario"), c.get("Importe")) for c in concepts] == [
        ("0.5", "333.33", "166.67"), ("0.333", "99999.99", "33300.00"), ("2", "50.00", "100.00")]


async def test_generic_concept_description_the_cfdi_cannot_carry_is_refused(merchant):
    # The generic concept's description is every invoice's Concepto@Descripcion ([^|]{1,1000}).
    _, client = merchant
    for description in ["Consumo | alimentos", "Consumo\x1balimentos"]:
        res = await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "01010101", "unitKey": "ACT",
                                                      "description": description}})
        errors = res["data"]["updateGenericConcept"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [("description", "DESCRIPTION_INVALID")]


async def test_generic_description_leaves_room_for_the_treatment(gql, merchant, http):
    # With several tax treatments the description gains " (IVA 16 %)": still <= 1000 characters.
    row, client = merchant
    ok = await client(UPDATE_GENERIC, {"input": {"enabled": True, "productKey": "01010101", "unitKey": "ACT",
                                                 "description": "Consumo " * 123 + "alimentos"}})
    assert ok["data"]["updateGenericConcept"]["__typename"] == "GenericConcept"
    await record(client, lines=[_line(), _line("Libro", "1", "100.00", [{"type": "IVA", "rate": "0"}])])
    ticket = await lookup(gql, row, "T-1", "1260.00")
    res = await issue(gql, ticket["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
    descriptions = [c.get("Descripcion") for c in etree.fromstring(xml).findall("cfdi:Conceptos/cfdi:Concepto", NS)]
    assert len(descriptions) == 2 and all(len(d) <= 1000 for d in descriptions)
    assert descriptions[0].endswith(" (IVA 16 %)") and descriptions[1].endswith(" (IVA 0 %)")


async def test_a_sale_stored_before_these_checks_takes_no_folio(gql, merchant, services):
    # A sale recorded before recordSale refused "|" (written here as an older version stored
    # it): issueInvoice answers a field error before claiming, not "Error interno" with a
    # folio left PENDING.
    from sqlalchemy import func, select, update

    from persistence.tables import InvoiceRow, SaleRow

    row, client = merchant
    sale = await record(client)
    async with services.uow_factory(write=True) as uow:
        stored = await uow.sales.owned(row.id, int(sale["id"]))
        await uow.session.execute(update(SaleRow).where(SaleRow.id == stored.id)
                                  .values(lines_json=stored.lines_json.replace("Producto", "Pan | dulce")))
        await uow.commit()
    ticket = await lookup(gql, row)
    res = await issue(gql, ticket["ticketToken"])
    assert res["__typename"] == "InvalidCustomerData", res
    assert [(e["field"], e["code"]) for e in res["errors"]] == [("ticket.lines", "LINES_INVALID")]
    async with services.uow_factory() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(InvoiceRow))).scalar_one() == 0
