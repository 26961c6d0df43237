"""updateBranding on SQLite and PostgreSQL: validation, SVG and PNG sanitising, the logo
route's headers, Portal.branding, and the display name and logo in the PDF."""
from __future__ import annotations

import base64
import io
import shutil
import subprocess

import pytest
from PIL import Image, PngImagePlugin

from tests.helpers import issue, lookup, operation, record

UPDATE = operation("UpdateBranding")  # $input
PORTAL = operation("Portal")  # $companyNumber

HOSTILE_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 120 40" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <style>@import url(https://evil.example/x.css);</style>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#0B5ED7"/><stop offset="1" stop-color="#2ECC71"/></linearGradient></defs>
  <rect width="120" height="40" rx="6" fill="url(#g)" onclick="steal()"/>
  <circle cx="20" cy="20" r="12" fill="url(https://evil.example/p.svg#x)" style="fill: url(https://evil.example/y)"/>
  <image href="https://evil.example/tracker.png" width="1" height="1"/>
  <a xlink:href="javascript:alert(1)"><text x="40" y="26">clic</text></a>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
  <text x="40" y="26" fill="#FFFFFF" font-size="14">Café Kemper</text>
</svg>""".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_logo(size=(160, 60), color=(11, 94, 215)) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG", pnginfo=info)
    return out.getvalue() + b"<script>trailing</script>"  # bytes after IEND


async def update(client, **fields):
    return (await client(UPDATE, {"input": fields}))["data"]["updateBranding"]


async def test_svg_logo_is_sanitised_and_served_safely(merchant, http):
    row, client = merchant
    result = await update(client, displayName="  Café   Kemper ", accentColor="#0b5ed7", logo=b64(HOSTILE_SVG))
    assert result["__typename"] == "Branding", result
    assert result["displayName"] == "Café Kemper" and result["accentColor"] == "#0B5ED7"
    assert result["logoUrl"].startswith(f"http://testserver/logos/{row.company_number}?v=")

    res = await http.get(result["logoUrl"].replace("http://testserver", ""))
    assert res.status_code == 200
    assert res.headers["content-type"] == "image/svg+xml"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in res.headers["content-security-policy"] and "sandbox" in res.headers["content-security-policy"]
    svg = res.text
    for banned in ("script", "onload", "onclick", "evil.example", "javascript:", "foreignObject", "<style", "<image", "<a ", "@import"):
        assert banned not in svg, banned
    # The drawing itself survives.
    assert 'fill="url(#g)"' in svg and "Café Kemper" in svg and "<linearGradient" in svg

    portal = (await http.post("/graphql", json={"query": PORTAL, "variables": {"companyNumber": row.company_number}})).json()
    assert portal["data"]["portal"]["branding"] == {k: v for k, v in result.items() if k != "__typename"}


async def test_png_logo_is_re_encoded(merchant, http):
    _, client = merchant
    result = await update(client, logo=b64(png_logo()))
    assert result["__typename"] == "Branding", result
    res = await http.get(result["logoUrl"].replace("http://testserver", ""))
    assert res.headers["content-type"] == "image/png" and res.headers["x-content-type-options"] == "nosniff"
    assert b"script" not in res.content and b"Comment" not in res.content
    image = Image.open(io.BytesIO(res.content))
    assert image.size == (160, 60) and image.convert("RGB").getpixel((5, 5)) == (11, 94, 215)


async def test_branding_refuses_bad_input(merchant):
    _, client = merchant
    cases = [
        ({"accentColor": "red"}, "accentColor", "COLOR_INVALID"),
        ({"accentColor": "#12345"}, "accentColor", "COLOR_INVALID"),
        ({"displayName": "x" * 121}, "displayName", "DISPLAY_NAME_INVALID"),
        ({"logo": "¿no es base64?"}, "logo", "NOT_BASE64"),
        ({"logo": b64(b"GIF89a" + b"\0" * 100)}, "logo", "LOGO_INVALID"),
        ({"logo": b64(b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>')},
         "logo", "LOGO_INVALID"),
        ({"logo": b64(b"<svg><rect/></svg>")}, "logo", "LOGO_INVALID"),  # not in the SVG namespace
        ({"logo": b64(png_logo(size=(3000, 10)))}, "logo", "LOGO_INVALID"),
        ({"logo": b64(b"\x89PNG\r\n\x1a\n" + b"x" * (200 * 1024))}, "logo", "LOGO_TOO_LARGE"),
    ]
    for fields, field, code in cases:
        answer = await update(client, **fields)
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)], fields
        assert answer["errors"][0]["message"]


async def test_branding_can_be_removed(merchant, http):
    row, client = merchant
    first = await update(client, displayName="Kemper", accentColor="#112233", logo=b64(png_logo()))
    logo_path = first["logoUrl"].replace("http://testserver", "")
    partial = await update(client, accentColor="#445566")  # null keeps the others
    assert partial == {**first, "accentColor": "#445566"}
    cleared = await update(client, displayName="", accentColor="", logo="")
    assert cleared == {"__typename": "Branding", "displayName": None, "accentColor": None, "logoUrl": None}
    assert (await http.get(logo_path)).status_code == 404
    assert (await http.get("/logos/999999")).status_code == 404


async def test_branding_needs_a_merchant_token(gql):
    answer = await gql(UPDATE, {"input": {"displayName": "x"}})
    assert answer["data"] is None and answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_pdf_shows_display_name_and_logo(merchant, gql, http, tmp_path):
    if shutil.which("pdftotext") is None or shutil.which("pdfimages") is None:
        pytest.skip("poppler-utils not installed")
    row, client = merchant
    await update(client, displayName="Cafetería Kemper Centro", logo=b64(png_logo()))
    await record(client, "T-1")
    res = await issue(gql, (await lookup(gql, row, "T-1"))["ticketToken"])
    assert res["__typename"] == "InvoiceIssued", res
    pdf = (await http.get(res["invoice"]["pdfUrl"].replace("http://testserver", ""))).content
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Cafetería Kemper Centro" in text
    assert "ESCUELA KEMPER URGATE" in text  # the legal name stays under it
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert any(line.split()[3:5] == ["160", "60"] for line in images.splitlines()[2:]), images  # the logo, at its size
