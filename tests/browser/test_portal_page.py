"""The reference portal driven by a real browser against a live server with the demo data.

Every step saves a screenshot under test-artifacts/browser/<test>/.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from lxml import etree
from playwright.sync_api import expect

from api.demo import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser

OPERATIONS = Path(__file__).resolve().parents[2] / "frontend-contract" / "operations"
CUSTOMER = {"rfc": "CACX7605101P8", "legalName": "XOCHILT CASAS CHAVEZ", "zipCode": "36257",
            "taxRegime": "612", "cfdiUse": "G03"}
TFD_NS = "http://www.sat.gob.mx/TimbreFiscalDigital"


def api(server, operation: str, variables: dict, token: str | None = None) -> dict:
    """Call the live server with a contract document (the same text the SPA ships)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = (OPERATIONS / f"{operation}.graphql").read_text(encoding="utf-8")
    body = httpx.post(f"{server['base']}/graphql", json={"query": query, "variables": variables},
                      headers=headers, timeout=60).json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="session")
def demo_totals(live_server) -> dict[str, str]:
    token = api(live_server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    edges = api(live_server, "SalesPage", {"first": 100}, token)["sales"]["edges"]
    return {e["node"]["reference"]: e["node"]["total"] for e in edges}


def open_portal(page, server, **query) -> None:
    url = f"{server['base']}/{server['company']}"
    if query:
        url += "?" + urlencode(query)
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    # The merchant's name heads the page once portal(companyNumber) answers.
    # (expect() polls from Python: wait_for_function would eval a string in the page, which
    # the portal's Content-Security-Policy rightly forbids.)
    expect(page.locator("#merchant-name")).to_contain_text("ESCUELA KEMPER")


def look_up(page, reference: str, total: str) -> None:
    page.get_by_label("Referencia", exact=True).fill(reference)
    page.get_by_label("Total del ticket").fill(total)
    page.get_by_role("button", name="Buscar ticket").click()


def fill_customer(page, customer: dict) -> None:
    page.get_by_label("RFC", exact=True).fill(customer["rfc"])
    page.get_by_label("Nombre o razón social").fill(customer["legalName"])
    page.get_by_label("Código postal del domicilio fiscal").fill(customer["zipCode"])
    regime = page.get_by_label("Régimen fiscal")
    page.wait_for_selector(f"#taxRegime option[value='{customer['taxRegime']}']", state="attached")
    regime.select_option(customer["taxRegime"])
    page.wait_for_selector(f"#cfdiUse option[value='{customer['cfdiUse']}']", state="attached")
    page.get_by_label("Uso del CFDI").select_option(customer["cfdiUse"])


def test_happy_path_to_both_downloads(page, live_server, tmp_path):
    open_portal(page, live_server)
    shot = page.shots
    assert page.locator("h1").inner_text() == "ESCUELA KEMPER URGATE SA DE CV"
    assert page.get_by_label("Número de comercio").input_value() == live_server["company"]
    shot("empty-ticket-form")

    look_up(page, "DEMO-0001", "1160.00")
    page.wait_for_selector("#step-customer:not([hidden])")
    assert "DEMO-0001" in page.locator("#ticket-summary").inner_text()
    shot("ticket-found")

    fill_customer(page, CUSTOMER)
    # The régimen select lists only personas físicas' régimenes (13-character RFC) ...
    regimes = page.locator("#taxRegime option").evaluate_all("os => os.map(o => o.value).filter(Boolean)")
    expected = api(live_server, "TaxRegimes", {"personType": "PHYSICAL"})["taxRegimes"]
    assert regimes == [e["code"] for e in expected] and "601" not in regimes
    # ... and the uso select only what the SAT matrix allows for 612 and a persona física.
    uses = page.locator("#cfdiUse option").evaluate_all("os => os.map(o => o.value).filter(Boolean)")
    expected = api(live_server, "CfdiUses", {"taxRegime": "612", "personType": "PHYSICAL"})["cfdiUses"]
    assert uses == [e["code"] for e in expected] and "G03" in uses and "S01" in uses
    shot("customer-filled")

    page.get_by_role("button", name="Facturar").click()
    page.wait_for_selector("#step-done:not([hidden])")
    status = page.locator("#invoice-status")
    assert status.inner_text() == "Factura emitida"
    uuid_shown = page.locator("#invoice-facts dd").first.inner_text()
    shot("invoice-issued")

    with page.expect_download() as xml_download:
        page.get_by_role("link", name="Descargar XML").click()
    xml_path = tmp_path / xml_download.value.suggested_filename
    xml_download.value.save_as(xml_path)
    assert xml_path.suffix == ".xml"
    root = etree.parse(str(xml_path)).getroot()
    tfd = root.find(f".//{{{TFD_NS}}}TimbreFiscalDigital")
    assert tfd is not None and tfd.get("UUID") == uuid_shown
    assert root.get("Total") == "1160.00"

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Descargar PDF").click()
    pdf_path = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    shot("downloaded")
    assert page.js_errors == []


def test_wrong_total(page, live_server):
    open_portal(page, live_server)
    look_up(page, "DEMO-0002", "1.00")
    message = page.locator("#total-error")
    message.wait_for()
    assert "no" in message.inner_text().lower()  # TicketNotFound's Spanish message, beside the total
    assert page.get_by_label("Total del ticket").get_attribute("aria-invalid") == "true"
    assert page.locator("#step-customer").is_hidden()
    page.shots("wrong-total")


def test_invalid_rfc_message_beside_the_field(page, live_server, demo_totals):
    open_portal(page, live_server)
    look_up(page, "DEMO-0003", demo_totals["DEMO-0003"])
    page.wait_for_selector("#step-customer:not([hidden])")
    fill_customer(page, {**CUSTOMER, "rfc": "CACX7605101P9"})
    page.get_by_role("button", name="Facturar").click()
    error = page.locator("#rfc-error")
    error.wait_for()
    page.shots("invalid-rfc")
    assert error.inner_text().strip()
    rfc = page.get_by_label("RFC", exact=True)
    assert rfc.get_attribute("aria-invalid") == "true"
    assert "rfc-error" in rfc.get_attribute("aria-describedby")
    # The message sits right under the RFC input, and focus went back to it.
    field_box, error_box = rfc.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 80
    assert page.evaluate("document.activeElement.id") == "rfc"
    assert page.locator("#step-done").is_hidden()


def test_expired_ticket(page, live_server):
    open_portal(page, live_server)
    look_up(page, "DEMO-OLD-0001", "250.00")
    alert = page.locator("#ticket-error")
    alert.wait_for()
    page.shots("expired-ticket")
    assert "plazo" in alert.inner_text().lower() or "venci" in alert.inner_text().lower()
    assert page.locator("#step-customer").is_hidden()


def test_already_invoiced_ticket(page, live_server):
    # Invoice DEMO-0005 through the API, as another customer's phone would have.
    found = api(live_server, "TicketLookup", {"companyNumber": live_server["company"],
                                              "reference": "DEMO-0005", "total": "800.00"})["ticket"]
    assert found["__typename"] == "InvoiceableTicket", found
    issued = api(live_server, "IssueInvoice", {"input": {"customer": CUSTOMER}}, found["ticketToken"])
    assert issued["issueInvoice"]["__typename"] == "InvoiceIssued", issued

    open_portal(page, live_server, reference="DEMO-0005", total="800.00")
    page.get_by_role("button", name="Buscar ticket").click()
    alert = page.locator("#ticket-error")
    alert.wait_for()
    page.shots("already-invoiced")
    assert "CACX7605****8" in alert.inner_text()
    assert page.locator("#step-customer").is_hidden()


def test_qr_link_prefills_and_works_by_keyboard_on_a_phone(phone_page, live_server, demo_totals):
    page, shot = phone_page, phone_page.shots
    total = demo_totals["DEMO-0004"]
    # The address printed as the ticket's QR code: {PUBLIC_URL}/{companyNumber}?reference=&total=
    open_portal(page, live_server, reference="DEMO-0004", total=total)
    assert page.get_by_label("Número de comercio").input_value() == live_server["company"]
    assert page.get_by_label("Referencia", exact=True).input_value() == "DEMO-0004"
    assert page.get_by_label("Total del ticket").input_value() == total
    # Everything is filled in, so focus waits on the button: Enter looks the ticket up.
    assert page.evaluate("document.activeElement.id") == "lookup-button"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot("qr-prefilled-phone")

    page.keyboard.press("Enter")
    page.wait_for_selector("#step-customer:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "rfc"  # focus moved to the next thing to do
    page.keyboard.type(CUSTOMER["rfc"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "zipCode"
    page.keyboard.type(CUSTOMER["zipCode"])
    page.keyboard.press("Tab")
    page.keyboard.type(CUSTOMER["legalName"])
    page.wait_for_selector("#taxRegime option[value='612']", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "taxRegime"
    page.keyboard.type("612")  # type-ahead selects the option whose label starts so
    expect(page.locator("#taxRegime")).to_have_value("612")
    page.wait_for_selector("#cfdiUse option[value='G03']", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "cfdiUse"
    page.keyboard.type("G03")
    page.wait_for_function("document.getElementById('cfdiUse').value === 'G03'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot("customer-filled-phone")

    page.keyboard.press("Tab")  # email (optional), then submit with Enter from the form
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.press("Enter")
    page.wait_for_selector("#step-done:not([hidden])")
    assert page.locator("#invoice-status").inner_text() == "Factura emitida"
    assert page.get_by_role("link", name="Descargar XML").is_visible()
    assert page.get_by_role("link", name="Descargar PDF").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot("invoice-issued-phone")
    assert page.js_errors == []


def test_a_challenged_lookup_is_solved_in_the_page(page, challenge_server):
    """Past a company's burst the server answers TicketChallenge; the page solves it with
    the vendored ALTCHA worker (same origin, under the strict CSP) and gets the ticket."""
    token = api(challenge_server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    edges = api(challenge_server, "SalesPage", {"first": 100}, token)["sales"]["edges"]
    totals = {e["node"]["reference"]: e["node"]["total"] for e in edges}
    asked = api(challenge_server, "TicketLookup", {"companyNumber": challenge_server["company"],
                                                  "reference": "DEMO-0003", "total": totals["DEMO-0003"]})
    assert asked["ticket"]["__typename"] == "TicketChallenge"  # what the page receives first
    open_portal(page, challenge_server)
    look_up(page, "DEMO-0003", totals["DEMO-0003"])
    page.wait_for_selector("#step-customer:not([hidden])", timeout=90_000)
    expect(page.locator("#ticket-summary")).to_contain_text("DEMO-0003")
    page.shots("ticket-after-challenge")
    assert page.js_errors == []
