"""A branded portal in a real browser: a merchant signs up over the API (ALLOW_SIGNUP is on
in development), sets its display name, accent colour and SVG logo, and the portal page
shows them under its strict Content-Security-Policy (no CSP violation reaches the console).

Screenshots: test-artifacts/browser/test_branded_portal/.
"""
from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.helpers import csd_files

pytestmark = pytest.mark.browser

REGISTER = """mutation($input: RegisterMerchantInput!) { registerMerchant(input: $input) {
  __typename ... on MerchantRegistered { token merchant { companyNumber legalName } }
  ... on InvalidMerchantData { errors { field code message } } } }"""
BRANDING = """mutation($input: UpdateBrandingInput!) { updateBranding(input: $input) {
  __typename ... on Branding { displayName accentColor logoUrl } ... on InvalidSettings { errors { code message } } } }"""
ACCENT = "#7A1F5C"
LOGO = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120" onload="alert('x')">
  <script>document.title = 'pwned'</script>
  <circle cx="60" cy="60" r="56" fill="#7A1F5C"/>
  <path d="M30 78 Q60 20 90 78 Z" fill="#F6C453"/>
  <rect x="28" y="78" width="64" height="10" rx="5" fill="#FFFFFF"/>
</svg>"""


def call(server, query, variables, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(f"{server['base']}/graphql", json={"query": query, "variables": variables},
                      headers=headers, timeout=60).json()
    assert "errors" not in body, body
    return body["data"]


def test_branded_portal(page, live_server):
    cer, key = csd_files("CACX7605101P8")
    registered = call(live_server, REGISTER, {"input": {
        "email": "panaderia@example.com", "password": "una-contraseña-larga", "certificate": base64.b64encode(cer).decode(),
        "privateKey": base64.b64encode(key).decode(), "keyPassword": "12345678a", "taxRegime": "612", "zipCode": "06600",
    }})["registerMerchant"]
    assert registered["__typename"] == "MerchantRegistered", registered
    company, legal_name = registered["merchant"]["companyNumber"], registered["merchant"]["legalName"]
    branding = call(live_server, BRANDING, {"input": {
        "displayName": "Panadería La Espiga", "accentColor": ACCENT, "logo": base64.b64encode(LOGO.encode()).decode(),
    }}, registered["token"])["updateBranding"]
    assert branding["__typename"] == "Branding", branding

    with page.expect_response(lambda r: "/logos/" in r.url) as logo_response:
        page.goto(f"{live_server['base']}/{company}")
    assert logo_response.value.status == 200
    assert logo_response.value.headers["content-type"] == "image/svg+xml"
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("#merchant-name")).to_have_text("Panadería La Espiga")
    expect(page.locator("#merchant-legal-name")).to_have_text(legal_name)
    logo = page.locator("#merchant-logo")
    expect(logo).to_be_visible()
    expect(logo).to_have_attribute("alt", "Logotipo de Panadería La Espiga")
    expect(page).to_have_title("Facturación · Panadería La Espiga")  # the logo's <script> never ran
    shot = page.shots("branded-portal")

    # The accent colour paints the masthead and the primary button (read from the pixels).
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    masthead = page.locator(".masthead").bounding_box()
    assert image.getpixel((int(masthead["x"]) + 5, int(masthead["y"]) + 5)) == (0x7A, 0x1F, 0x5C)
    button = page.locator("#lookup-button").bounding_box()
    assert image.getpixel((int(button["x"] + button["width"] / 2), int(button["y"]) + 4)) == (0x7A, 0x1F, 0x5C)
    # The logo was drawn: its box holds the circle's colour and the yellow roof.
    box = logo.bounding_box()
    colours = {image.getpixel((int(box["x"] + box["width"] * fx), int(box["y"] + box["height"] * fy)))
               for fx in (0.3, 0.5, 0.7) for fy in (0.3, 0.5, 0.7)}
    assert (0xF6, 0xC4, 0x53) in colours
    # The CSP held: no inline style nor script was refused (they would be console errors).
    assert page.js_errors == []
