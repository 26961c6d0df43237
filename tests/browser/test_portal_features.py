"""The portal's issue-15 features driven by a real browser at phone width against a live
server: several tickets in one invoice, the customer's correction, remember me on this
device, the Constancia de Situación Fiscal pre-fill; errors beside a field clear as soon as
the field is valid. Screenshots under test-artifacts/browser/<test>/."""
from __future__ import annotations

import re

import pytest
from lxml import etree
from playwright.sync_api import expect
from weasyprint import HTML

from api.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.test_portal_page import CUSTOMER, api, fill_customer, look_up, open_portal

pytestmark = pytest.mark.browser

CFDI_NS = {"cfdi": "http://www.sat.gob.mx/cfd/4"}


@pytest.fixture(scope="module")
def merchant_token(live_server) -> str:
    return api(live_server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]


def sale(server, token, reference, price="116.00", quantity="1") -> str:
    """Record a sale at the live server (the point of sale's call); its total."""
    line = {"productKey": "01010101", "unitKey": "H87", "description": f"Artículo {reference}",
            "quantity": quantity, "unitPrice": price}
    res = api(server, "RecordSale", {"input": {"reference": reference, "paymentForm": "01", "lines": [line]}}, token)
    return res["recordSale"]["sale"]["total"]


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_several_tickets_in_one_invoice_on_a_phone(phone_page, live_server, merchant_token, tmp_path):
    page, shot = phone_page, phone_page.shots
    totals = {ref: sale(live_server, merchant_token, ref, price) for ref, price in
              (("MULTI-1", "116.00"), ("MULTI-2", "58.00"), ("MULTI-3", "23.20"))}
    open_portal(page, live_server)
    # An error beside a field clears as soon as the field becomes valid.
    page.get_by_role("button", name="Buscar ticket").click()
    expect(page.locator("#reference-error")).not_to_be_empty()
    page.get_by_label("Referencia", exact=True).fill("MULTI-1")
    expect(page.locator("#reference-error")).to_be_empty()
    expect(page.locator("#total-error")).not_to_be_empty()
    shot("error-cleared-beside-reference")
    look_up(page, "MULTI-1", totals["MULTI-1"])
    page.wait_for_selector("#step-customer:not([hidden])")
    # The dates say their time zone (one es-MX format everywhere).
    assert re.search(r"\d{2}:\d{2} .*(hora|GMT|UTC)", page.locator("#ticket-summary").inner_text())

    page.get_by_text("Agregar otro ticket a esta factura").click()
    for ref in ("MULTI-2", "MULTI-3"):
        page.get_by_label("Referencia del otro ticket").fill(ref)
        page.get_by_label("Total del otro ticket").fill(totals[ref])
        page.get_by_role("button", name="Agregar ticket").click()
        expect(page.locator("#extra-tickets")).to_contain_text(ref)
    expect(page.locator("#extra-tickets")).to_contain_text("3 tickets en una factura")
    # The same ticket twice is refused beside the field.
    page.get_by_label("Referencia del otro ticket").fill("multi-2")
    page.get_by_label("Total del otro ticket").fill(totals["MULTI-2"])
    page.get_by_role("button", name="Agregar ticket").click()
    expect(page.locator("#extraReference-error")).to_contain_text("ya está en esta factura")
    page.get_by_label("Referencia del otro ticket").fill("")
    page.get_by_label("Total del otro ticket").fill("")
    no_sideways_scroll(page)
    shot("three-tickets-listed")

    fill_customer(page, CUSTOMER)
    page.get_by_role("button", name="Facturar").click()
    page.wait_for_selector("#step-done:not([hidden])")
    assert page.locator("#invoice-status").inner_text() == "Factura emitida"
    assert "$197.20" in page.locator("#invoice-facts").inner_text()
    assert re.search(r"AF-\d+", page.locator("#invoice-facts").inner_text())  # the folio as e-mail and PDF write it
    no_sideways_scroll(page)
    shot("combined-invoice-issued")
    with page.expect_download() as xml_download:
        page.get_by_role("link", name="Descargar XML").click()
    path = tmp_path / "combined.xml"
    xml_download.value.save_as(path)
    root = etree.parse(str(path)).getroot()
    assert root.get("Total") == "197.20"
    assert len(root.findall("cfdi:Conceptos/cfdi:Concepto", CFDI_NS)) == 3
    for ref in ("MULTI-2", "MULTI-3"):
        found = api(live_server, "TicketLookup", {"companyNumber": live_server["company"], "reference": ref,
                                                   "total": totals[ref]})["ticket"]
        assert found["__typename"] == "TicketAlreadyInvoiced"
    assert page.js_errors == []


def test_the_customer_corrects_their_invoice_on_a_phone(phone_page, live_server, merchant_token):
    page, shot = phone_page, phone_page.shots
    total = sale(live_server, merchant_token, "FIX-1")
    open_portal(page, live_server)
    look_up(page, "FIX-1", total)
    page.wait_for_selector("#step-customer:not([hidden])")
    fill_customer(page, {**CUSTOMER, "cfdiUse": "G01"})
    page.get_by_role("button", name="Facturar").click()
    page.wait_for_selector("#step-done:not([hidden])")
    facts = page.locator("#invoice-facts").inner_text()
    old_uuid = page.locator("#invoice-facts dd").first.inner_text()
    shot("issued-with-a-mistake")

    page.get_by_role("button", name="Corregir mis datos").click()
    page.wait_for_selector("#step-customer:not([hidden])")
    expect(page.locator("#customer-title")).to_contain_text("Corrige")
    assert page.get_by_label("RFC", exact=True).input_value() == CUSTOMER["rfc"]  # the issued data, to edit
    page.wait_for_selector("#cfdiUse option[value='G03']", state="attached")
    page.get_by_label("Uso del CFDI").select_option("G03")
    no_sideways_scroll(page)
    shot("correcting")
    page.get_by_role("button", name="Emitir factura corregida").click()
    page.wait_for_selector("#step-done:not([hidden])")
    expect(page.locator("#invoice-message")).to_contain_text("se canceló")
    new_uuid = page.locator("#invoice-facts dd").first.inner_text()
    assert new_uuid != old_uuid and page.locator("#invoice-facts").inner_text() != facts
    no_sideways_scroll(page)
    shot("corrected")
    # The merchant sees the old one cancelled with motivo 01 naming the new one.
    edges = api(live_server, "InvoicesPage", {"first": 50}, merchant_token)["invoices"]["edges"]
    old = next(e["node"] for e in edges if e["node"]["uuid"] == old_uuid)
    assert old["status"] == "CANCELLED"
    assert page.js_errors == []


def test_remember_me_prefills_and_forgets_on_a_phone(phone_page, live_server, merchant_token):
    page, shot = phone_page, phone_page.shots
    totals = {ref: sale(live_server, merchant_token, ref) for ref in ("REM-1", "REM-2", "REM-3")}
    open_portal(page, live_server)
    look_up(page, "REM-1", totals["REM-1"])
    page.wait_for_selector("#step-customer:not([hidden])")
    fill_customer(page, CUSTOMER)
    page.get_by_label("Recordar mis datos fiscales en este dispositivo").check()
    shot("remember-opt-in")
    page.get_by_role("button", name="Facturar").click()
    page.wait_for_selector("#step-done:not([hidden])")

    open_portal(page, live_server)  # next visit, same device
    look_up(page, "REM-2", totals["REM-2"])
    page.wait_for_selector("#step-customer:not([hidden])")
    expect(page.get_by_label("RFC", exact=True)).to_have_value(CUSTOMER["rfc"])
    expect(page.get_by_label("Nombre o razón social")).to_have_value(CUSTOMER["legalName"])
    expect(page.locator("#taxRegime")).to_have_value("612")
    expect(page.locator("#cfdiUse")).to_have_value("G03")
    no_sideways_scroll(page)
    shot("prefilled-from-this-device")
    page.get_by_role("button", name="Olvidar mis datos").click()
    expect(page.locator("#customer-error")).to_contain_text("Olvidamos")
    assert page.evaluate("window.localStorage.length") == 0
    shot("forgotten")

    open_portal(page, live_server)
    look_up(page, "REM-3", totals["REM-3"])
    page.wait_for_selector("#step-customer:not([hidden])")
    expect(page.get_by_label("RFC", exact=True)).to_have_value("")
    assert page.js_errors == []


CONSTANCIA = """
<h1>CONSTANCIA DE SITUACIÓN FISCAL</h1>
<p>CÉDULA DE IDENTIFICACIÓN FISCAL</p>
<h2>Datos de Identificación del Contribuyente:</h2>
<p>RFC: CACX7605101P8</p>
<p>CURP: CACX760510MGTSHC04</p>
<p>Nombre (s): XOCHILT</p>
<p>Primer Apellido: CASAS</p>
<p>Segundo Apellido: CHAVEZ</p>
<h2>Datos del domicilio registrado</h2>
<p>Código Postal:36257 Tipo de Vialidad: CALLE</p>
<h2>Regímenes:</h2>
<p>Régimen Fecha Inicio Fecha Fin</p>
<p>Régimen de las Personas Físicas con Actividades Empresariales y Profesionales 01/01/2015</p>
"""


def test_constancia_prefills_the_form_on_a_phone(phone_page, live_server, merchant_token, tmp_path):
    page, shot = phone_page, phone_page.shots
    total = sale(live_server, merchant_token, "CSF-1")
    pdf = tmp_path / "constancia.pdf"
    pdf.write_bytes(HTML(string=f"<html><body>{CONSTANCIA}</body></html>").write_pdf())
    open_portal(page, live_server)
    look_up(page, "CSF-1", total)
    page.wait_for_selector("#step-customer:not([hidden])")
    page.get_by_label("Llenar con mi Constancia de Situación Fiscal").set_input_files(str(pdf))
    expect(page.get_by_label("RFC", exact=True)).to_have_value("CACX7605101P8")
    expect(page.get_by_label("Nombre o razón social")).to_have_value("XOCHILT CASAS CHAVEZ")
    expect(page.get_by_label("Código postal del domicilio fiscal")).to_have_value("36257")
    expect(page.locator("#taxRegime")).to_have_value("612")
    expect(page.locator("#customer-error")).to_contain_text("Confírmalos")
    no_sideways_scroll(page)
    shot("prefilled-from-constancia")
    # The customer confirms (chooses the uso) and invoices.
    page.wait_for_selector("#cfdiUse option[value='G03']", state="attached")
    page.get_by_label("Uso del CFDI").select_option("G03")
    page.get_by_role("button", name="Facturar").click()
    page.wait_for_selector("#step-done:not([hidden])")
    assert page.locator("#invoice-status").inner_text() == "Factura emitida"
    shot("issued-after-constancia")
    assert page.js_errors == []


def test_a_lost_invoice_is_recovered_with_the_full_rfc_on_a_phone(phone_page, live_server, merchant_token):
    page, shot = phone_page, phone_page.shots
    total = sale(live_server, merchant_token, "LOST-1")
    ticket = api(live_server, "TicketLookup", {"companyNumber": live_server["company"], "reference": "LOST-1",
                                               "total": total})["ticket"]
    issued = api(live_server, "IssueInvoice", {"input": {"customer": CUSTOMER}}, ticket["ticketToken"])["issueInvoice"]
    open_portal(page, live_server)
    look_up(page, "LOST-1", total)
    expect(page.locator("#ticket-error")).to_contain_text("ya fue facturado")
    expect(page.locator("#recover-form")).to_be_visible()
    page.get_by_label("RFC con el que facturaste").fill("CACX7605101P9")  # one character wrong
    page.get_by_role("button", name="Recuperar mi factura").click()
    expect(page.locator("#recoverRfc-error")).to_contain_text("No encontramos")
    shot("wrong-rfc")
    page.get_by_label("RFC con el que facturaste").fill(CUSTOMER["rfc"].lower())
    expect(page.locator("#recoverRfc-error")).to_be_empty()  # cleared as soon as it is valid
    page.get_by_role("button", name="Recuperar mi factura").click()
    page.wait_for_selector("#step-done:not([hidden])")
    assert page.locator("#invoice-facts dd").first.inner_text() == issued["invoice"]["uuid"]
    assert page.get_by_role("link", name="Descargar PDF").is_visible()
    no_sideways_scroll(page)
    shot("recovered")
    assert page.js_errors == []
