"""The merchant console (/panel/) in headless Chromium against `serve --demo` with
ENV=production, so every operation the page sends must be a persisted one. One browser
session per flow group: sales and invoices (find, download, cancel), settings (and the portal
changing with them), API keys, the fiscal clock (the next factura global, its periodicity and
the globals' periods); and GraphiQL rendering with every outside request refused.

Screenshots at desktop and phone widths: test-artifacts/browser/<test>/.
"""
from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from api.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.helpers import operation, renewed_csd

pytestmark = pytest.mark.browser

NEW_CSD_NUMBER = "30001000000500009999"
MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre"]
CUSTOMER = {"rfc": "CACX7605101P8", "legalName": "XOCHILT CASAS CHAVEZ", "zipCode": "36257",
            "taxRegime": "612", "cfdiUse": "G03"}


def api(server, name: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(f"{server['base']}/graphql", json={"query": operation(name), "variables": variables},
                      headers=headers, timeout=60).json()
    assert "errors" not in body, body
    return body["data"]


def self_invoice(server, reference: str, total: str) -> None:
    """A customer invoices a demo ticket through the portal's operations."""
    ticket = api(server, "TicketLookup", {"companyNumber": server["company"], "reference": reference, "total": total})["ticket"]
    assert ticket["__typename"] == "InvoiceableTicket", ticket
    issued = api(server, "IssueInvoice", {"input": {"customer": CUSTOMER}}, ticket["ticketToken"])["issueInvoice"]
    assert issued["__typename"] == "InvoiceIssued", issued


def log_in(page, server) -> None:
    page.goto(f"{server['base']}/panel/")
    email = page.locator("input[type=email]")
    password = page.locator("input[type=password]")
    expect(email).to_have_attribute("autocomplete", "username")
    expect(password).to_have_attribute("autocomplete", "current-password")
    page.shots("login")
    email.fill(DEMO_EMAIL)
    password.fill(DEMO_PASSWORD)
    password.press("Enter")  # the keyboard submits the form
    expect(page.locator("#view h1")).to_have_text("Resumen")


def no_errors(page) -> None:
    assert page.js_errors == [], page.js_errors


def test_sales_find_download_and_cancel(page, production_server, tmp_path):
    server = production_server
    self_invoice(server, "DEMO-0002", _total(server, "DEMO-0002"))
    log_in(page, server)
    expect(page.locator("#sandbox-banner")).to_contain_text("pruebas")
    expect(page.locator(".chart svg rect.bar-total")).to_have_count(30)
    assert page.locator(".chart svg rect.bar-self").count() >= 1  # today's self-invoice
    expect(page.locator(".tile").first).to_contain_text("ventas")
    page.shots("overview-desktop")

    page.locator("nav").get_by_role("link", name="Ventas", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Ventas")
    page.get_by_label("Referencia").fill("demo-0002")
    page.get_by_label("Estado").select_option("INVOICED")
    page.get_by_role("button", name="Buscar").click()
    rows = page.locator("#sales-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("DEMO-0002")
    page.shots("sales-found")

    rows.first.get_by_role("link", name="DEMO-0002").click()
    expect(page.locator("#view h1")).to_have_text("Venta DEMO-0002")
    expect(page.locator("#sale-invoice")).to_contain_text(CUSTOMER["rfc"])
    with page.expect_download() as xml:
        page.locator("#sale-invoice").get_by_role("link", name="Descargar XML").click()
    xml_path = tmp_path / xml.value.suggested_filename
    xml.value.save_as(xml_path)
    assert xml_path.suffix == ".xml" and b"TimbreFiscalDigital" in xml_path.read_bytes()
    with page.expect_download() as pdf:
        page.locator("#sale-invoice").get_by_role("link", name="Descargar PDF").click()
    assert pdf.value.suggested_filename.endswith(".pdf")
    page.shots("sale-detail")

    page.get_by_role("link", name="Ver y cancelar").click()
    expect(page.locator("#cancel-form")).to_be_visible()
    reason = page.get_by_label("Motivo")
    reason.select_option("01")
    expect(page.get_by_label("Folio fiscal (UUID) que la sustituye")).to_be_visible()
    page.get_by_role("button", name="Solicitar cancelación al SAT").click()
    expect(page.locator("#cancel-result .alert")).to_be_visible()  # 01 without the replacing UUID
    page.shots("cancel-01-needs-uuid")
    reason.select_option("02")
    expect(page.get_by_label("Folio fiscal (UUID) que la sustituye")).to_be_hidden()
    page.get_by_role("button", name="Solicitar cancelación al SAT").click()
    expect(page.locator("#cancel-result")).to_contain_text(re.compile("canceló|Cancelación en proceso"))
    expect(page.locator("#invoice-card .badge").first).to_have_text(re.compile("Cancelada|Cancelación en proceso"))
    expect(page.locator("#invoice-card")).to_contain_text("02 · Comprobante emitido con errores sin relación")
    page.shots("cancelled")

    page.locator("nav").get_by_role("link", name="Facturas", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Facturas")
    expect(page.locator("table tbody tr").first).to_contain_text(CUSTOMER["rfc"])
    page.locator("nav").get_by_role("link", name="Facturas globales", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Facturas globales")
    # DEMO-OLD-0001 (90 days ago) is past every deadline: the factura global of its month takes it.
    old = datetime.now(ZoneInfo("America/Tijuana")) - timedelta(days=90)
    page.get_by_label("Periodicidad").select_option("02")  # semanal: the form asks for a day
    expect(page.get_by_label("Un día del periodo")).to_be_visible()
    expect(page.get_by_label("Meses")).to_be_hidden()
    page.get_by_label("Periodicidad").select_option("04")
    expect(page.get_by_label("Un día del periodo")).to_be_hidden()
    page.get_by_label("Meses").select_option(f"{old.month:02d}")
    page.get_by_label("Año").fill(str(old.year))
    page.get_by_role("button", name="Emitir factura global").click()
    row = page.locator("table tbody tr").first
    expect(row).to_contain_text(f"Mensual · {MONTHS[old.month - 1]} {old.year}")
    expect(row).to_contain_text("$250.00")
    # The exact period, first to last day of that month in the merchant's zone, and its part.
    last = calendar.monthrange(old.year, old.month)[1]
    expect(row.locator(".period-range")).to_have_text(re.compile(rf"^1 \S+ {old.year} – {last} \S+ {old.year}$"))
    expect(row.locator("td").nth(2)).to_have_text("1")
    expect(row.locator(".relations")).to_have_text("—")
    with page.expect_download() as global_xml:
        row.get_by_role("link", name="XML").click()
    assert global_xml.value.suggested_filename.endswith(".xml")
    page.shots("globals")
    no_errors(page)


def test_settings_change_the_portal(page, production_server):
    server = production_server
    log_in(page, server)
    page.locator("nav").get_by_role("link", name="Ajustes", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Ajustes")

    page.get_by_label("Un número de días después de la compra").check()
    page.get_by_label("Días", exact=True).fill("15")
    page.get_by_role("button", name="Guardar", exact=True).click()
    expect(page.locator("#rules-form .ok")).to_have_text("Reglas guardadas.")

    page.get_by_label("Serie", exact=True).fill("WEB")
    page.get_by_role("button", name="Guardar serie").click()
    expect(page.locator("#series-form .ok")).to_contain_text("WEB")

    page.get_by_label("Usar un concepto genérico").check()
    product = page.get_by_label("Clave de producto o servicio (c_ClaveProdServ)")
    product.fill("cafe")
    page.locator("#g-product-results button[data-code='50201706']").click()
    expect(product).to_have_value("50201706")
    unit = page.get_by_label("Clave de unidad (c_ClaveUnidad)")
    unit.fill("pieza")
    expect(page.locator("#g-unit-results button").first).to_have_attribute("data-code", "H87")
    unit.press("ArrowDown")  # into the results by keyboard
    page.keyboard.press("Enter")
    expect(unit).to_have_value("H87")
    page.get_by_label("Descripción").fill("Consumo de alimentos")
    page.get_by_role("button", name="Guardar concepto").click()
    expect(page.locator("#concept-form .ok")).to_have_text("Concepto guardado.")

    page.get_by_label("Nombre comercial").fill("Cafetería Kemper")
    expect(page.locator("#preview-name")).to_have_text("Cafetería Kemper")  # the preview follows as one types
    page.get_by_label("Color").fill("#7a1f5c")
    page.shots("settings-preview")
    page.get_by_role("button", name="Guardar marca").click()
    expect(page.locator("#branding-form .ok")).to_contain_text("Marca guardada")

    token = api(server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    me = api(server, "ConsoleSettings", {}, token)["me"]["selfInvoicing"]
    assert (me["monthEndLimit"], me["deadlineDays"], me["series"]) == (False, 15, "WEB")
    assert me["genericConcept"] == {"enabled": True, "productKey": "50201706", "unitKey": "H87", "description": "Consumo de alimentos"}

    page.goto(f"{server['base']}/{server['company']}")
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("#merchant-name")).to_have_text("Cafetería Kemper")
    page.shots("portal-changed")
    no_errors(page)


def test_api_keys_on_a_phone(phone_page, production_server):
    page, server = phone_page, production_server
    log_in(page, server)
    page.shots("overview-phone")
    page.locator("nav").get_by_role("link", name="Llaves y webhooks", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Llaves de API y webhooks")
    page.get_by_label("Para qué es").fill("Caja 1")
    page.get_by_role("button", name="Crear llave").click()
    secret = page.locator("#new-secret")
    expect(secret).to_have_text(re.compile(r"^af_"))
    key = secret.inner_text()
    page.shots("key-created")
    keys = httpx.post(f"{server['base']}/graphql", json={"query": operation("ApiKeys")}, timeout=30,
                      headers={"Authorization": f"Bearer {key}"}).json()
    assert keys["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # SALES_WRITE and SALES_READ only
    sales = httpx.post(f"{server['base']}/graphql", json={"query": operation("SalesPage"), "variables": {"first": 1}},
                       headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    assert "errors" not in sales, sales  # the key works

    page.reload()
    expect(page.locator("tr[data-key='Caja 1']")).to_be_visible()
    expect(page.locator("#new-secret")).to_have_count(0)  # shown once, never again
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr[data-key='Caja 1']").get_by_role("button", name="Revocar").click()
    expect(page.locator("tr[data-key='Caja 1']")).to_contain_text("Revocada")
    page.shots("key-revoked")
    refused = httpx.post(f"{server['base']}/graphql", json={"query": operation("SalesPage"), "variables": {"first": 1}},
                         headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # A webhook endpoint: its signing secret once, a delivery for the next event, a retry.
    page.get_by_label("URL").fill("https://hooks.example.com/autofactura")
    page.get_by_role("button", name="Agregar webhook").click()
    expect(page.locator("#webhook-form .secret")).to_contain_text("Secreto de firma")
    page.shots("webhook-created")
    token = api(server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    recorded = api(server, "RecordSale", {"input": {"reference": "WEBHOOK-1", "paymentForm": "01", "lines": [
        {"productKey": "01010101", "unitKey": "H87", "description": "Producto", "quantity": "1", "unitPrice": "116.00"}]}},
        token)["recordSale"]
    assert recorded["__typename"] == "SaleRecorded", recorded
    page.reload()
    endpoint = page.locator("section[data-endpoint='https://hooks.example.com/autofactura']")
    expect(endpoint.locator("tbody tr").first).to_contain_text("Venta registrada")
    endpoint.get_by_role("button", name="Reintentar").first.click()
    expect(page.locator("#page-status")).to_have_text("Entrega reintentada.")
    page.shots("webhook-retried")

    for section, title in (("ventas", "Ventas"), ("ajustes", "Ajustes"), ("globales", "Facturas globales")):
        page.goto(f"{server['base']}/panel/#/{section}")
        expect(page.locator("#view h1")).to_have_text(title)
        page.shots(f"{section}-phone")

    # CSD renewal: the new certificate and key of the same RFC, uploaded from the page.
    page.locator("nav").get_by_role("link", name="CSD", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Certificado de Sello Digital")
    now = datetime.now(UTC)
    cer, key = renewed_csd("EKU9003173C9", NEW_CSD_NUMBER, now - timedelta(days=1), now + timedelta(days=4 * 365))
    page.get_by_label("Certificado (.cer)").set_input_files(files=[{"name": "nuevo.cer", "mimeType": "application/octet-stream", "buffer": cer}])
    page.get_by_label("Llave privada (.key)").set_input_files(files=[{"name": "nuevo.key", "mimeType": "application/octet-stream", "buffer": key}])
    page.get_by_label("Contraseña de la llave").fill("12345678a")
    page.get_by_role("button", name="Renovar CSD").click()
    expect(page.locator("#csd-form .ok")).to_contain_text(NEW_CSD_NUMBER)
    expect(page.locator("#view dl.facts")).to_contain_text(NEW_CSD_NUMBER)
    page.shots("csd-renewed-phone")
    no_errors(page)


def test_fiscal_clock_in_the_console(page, production_server):
    """The overview's next factura global, the periodicity and automatic issue in Ajustes
    (bimestral refused for régimen 601: Guía de llenado del CFDI global, 05 only for 621), and
    the issue form asking for a day once the periodicity is weekly."""
    server = production_server
    token = api(server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    api(server, "UpdateSelfInvoicingSettings", {"input": {"globalInvoicePeriodicity": "MONTHLY", "globalInvoiceAutomatic": True}}, token)
    data = api(server, "ConsoleOverview", {}, token)
    zone, expected = data["dashboardSummary"]["timeZone"], data["nextGlobalInvoice"]
    log_in(page, server)
    tile = page.locator("#next-global")
    expect(tile.locator("h2")).to_have_text("Próxima factura global")
    period = page.locator("#next-global-period")
    expect(period).to_contain_text("Mensual · ")
    expect(tile).to_contain_text(f"{expected['saleCount']} venta")
    expect(tile).to_contain_text(f"Fechas y horas de {zone}")
    expect(page.locator("#next-global-mode")).to_contain_text("Automática")
    monthly_period = period.inner_text()
    page.shots("next-global-monthly")

    page.locator("nav").get_by_role("link", name="Ajustes", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Ajustes")
    periodicity = page.get_by_label("Periodicidad de la factura global")
    expect(periodicity).to_have_value("MONTHLY")
    periodicity.select_option("BIMONTHLY")
    page.get_by_role("button", name="Guardar", exact=True).click()
    error = page.locator("#s-periodicity-error")
    expect(error).to_have_text("La periodicidad bimestral (05) solo aplica al Régimen de Incorporación Fiscal (621).")
    expect(periodicity).to_have_attribute("aria-invalid", "true")
    page.shots("bimonthly-refused")
    settings = api(server, "ConsoleSettings", {}, token)["me"]["selfInvoicing"]
    assert settings["globalInvoicePeriodicity"] == "MONTHLY"

    periodicity.select_option("WEEKLY")
    page.get_by_label("Emitir automáticamente al terminar cada periodo (dentro de 24 horas)").uncheck()
    page.get_by_role("button", name="Guardar", exact=True).click()
    expect(page.locator("#rules-form .ok")).to_have_text("Reglas guardadas.")
    expect(error).to_be_hidden()
    settings = api(server, "ConsoleSettings", {}, token)["me"]["selfInvoicing"]
    assert (settings["globalInvoicePeriodicity"], settings["globalInvoiceAutomatic"]) == ("WEEKLY", False)

    page.locator("nav").get_by_role("link", name="Resumen", exact=True).click()
    expect(period).to_contain_text("Semanal · ")
    assert period.inner_text() != monthly_period
    expect(page.locator("#next-global-mode")).to_contain_text("Manual")
    assert api(server, "NextGlobalInvoice", {}, token)["nextGlobalInvoice"]["periodicity"] == "02"
    page.shots("next-global-weekly")

    page.locator("nav").get_by_role("link", name="Facturas globales", exact=True).click()
    expect(page.locator("#view h1")).to_have_text("Facturas globales")
    expect(page.get_by_label("Periodicidad")).to_have_value("02")  # the merchant's, preselected
    expect(page.get_by_label("Un día del periodo")).to_be_visible()
    expect(page.get_by_label("Meses")).to_be_hidden()
    page.shots("globals-weekly-form")

    # A daily global issued from the form for a past day, then a customer invoices one of its
    # tickets inside the deadline: the global is cancelled with motivo 04 and replaced by one
    # related to it (Guía de llenado del CFDI global; c_MotivoCancelacion 04, c_TipoRelacion 04).
    api(server, "UpdateSelfInvoicingSettings", {"input": {"globalInvoicePeriodicity": "DAILY", "monthEndLimit": False,
                                                          "deadlineDays": 15}}, token)
    day = (datetime.now(ZoneInfo(zone)) - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    for i, reference in enumerate(("CLOCK-A", "CLOCK-B")):
        recorded = api(server, "RecordSale", {"input": {
            "reference": reference, "soldAt": (day + timedelta(minutes=i)).isoformat(), "paymentForm": "01",
            "lines": [{"productKey": "01010101", "unitKey": "H87", "description": "Producto", "quantity": "1",
                       "unitPrice": "116.00"}]}}, token)["recordSale"]
        assert recorded["__typename"] == "SaleRecorded", recorded
    page.reload()
    expect(page.get_by_label("Periodicidad")).to_have_value("01")
    page.get_by_label("Un día del periodo").fill(day.date().isoformat())
    page.get_by_role("button", name="Emitir factura global").click()
    expect(page.locator("#page-status")).to_contain_text("Factura global emitida")
    daily = page.locator("#globals tbody tr").first
    expect(daily.locator("td.period")).to_contain_text("Diaria")
    expect(daily.locator(".period-range")).to_have_text(re.compile(rf"^{day.day} \S+ {day.year}$"))  # one day
    self_invoice(server, "CLOCK-B", "116.00")
    page.reload()
    cancelled = page.locator("#globals tbody tr", has_text="Cancelada")
    expect(cancelled).to_have_count(1)
    expect(cancelled).to_contain_text("04 · Operación nominativa relacionada en una factura global")
    expect(cancelled.locator(".relations")).to_contain_text("Sustituida por")
    replacement = page.locator("#globals tbody tr", has_text="Sustituye a")
    expect(replacement).to_have_count(1)
    expect(replacement.locator(".badge")).to_have_text("Vigente")
    expect(replacement.locator(".period-range")).to_have_text(re.compile(rf"^{day.day} \S+ {day.year}$"))
    listed = api(server, "ConsoleGlobals", {}, token)["globalInvoices"]["edges"]
    old_uuid = next(e["node"]["uuid"] for e in listed if e["node"]["status"] == "CANCELLED")
    expect(replacement.locator(".relations")).to_contain_text(old_uuid)
    page.shots("global-cancelled-and-replaced")
    page.set_viewport_size({"width": 390, "height": 844})
    page.shots("global-cancelled-and-replaced-phone")
    no_errors(page)
    # Back to the demo's monthly automatic globals for whatever runs after.
    api(server, "UpdateSelfInvoicingSettings", {"input": {"globalInvoicePeriodicity": "MONTHLY", "globalInvoiceAutomatic": True,
                                                          "monthEndLimit": False, "deadlineDays": 30}}, token)


def test_graphiql_renders_offline(page, live_server):
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(live_server["base"]):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_this_server)
    page.goto(f"{live_server['base']}/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.locator(".graphiql-container")).to_contain_text("paymentForms")
    page.shots("graphiql")
    assert outside == []
    no_errors(page)


def _total(server, reference: str) -> str:
    token = api(server, "Login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})["login"]["token"]
    edges = api(server, "ConsoleSales", {"reference": reference}, token)["sales"]["edges"]
    return edges[0]["node"]["total"]

