"""The receipt QR on SQLite and PostgreSQL: InvoicingData.qrSvg and GET /qr/{n}.png both
decode (zxing-cpp, a real decoder) to the portal address with the ticket's three data."""
from __future__ import annotations

import base64
import io
import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image

from tests.helpers import record

SALE_QR = "query { sales(first: 1) { edges { node { invoicingData { portalUrl qrSvg } } } } }"


def decode(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image.convert("L")) if b.format == zxingcpp.BarcodeFormat.QRCode]


def rasterise_svg(svg: str, tmp_path) -> Image.Image:
    """The SVG as a printer would draw it: laid on a page by WeasyPrint, rasterised by poppler."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from weasyprint import HTML

    data = base64.b64encode(svg.encode()).decode()
    pdf = tmp_path / "qr.pdf"
    HTML(string=f'<img style="width: 50mm" src="data:image/svg+xml;base64,{data}">').write_pdf(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(pdf), str(tmp_path / "qr")], check=True, timeout=60)
    return Image.open(tmp_path / "qr.png")


async def test_qr_svg_decodes_to_the_portal_url(merchant, tmp_path):
    row, client = merchant
    await record(client, "Caja 3/Ticket 0042")
    data = (await client(SALE_QR))["data"]["sales"]["edges"][0]["node"]["invoicingData"]
    assert data["portalUrl"] == f"http://testserver/{row.company_number}?reference=Caja+3%2FTicket+0042&total=1160.00"
    svg = data["qrSvg"]
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<script" not in svg
    assert decode(rasterise_svg(svg, tmp_path)) == [data["portalUrl"]]


async def test_qr_png_for_thermal_printers(http, merchant):
    row, _ = merchant
    res = await http.get(f"/qr/{row.company_number}.png", params={"reference": "Caja 3/Ticket 0042", "total": "1160", "size": "384"})
    assert res.status_code == 200
    assert res.headers["content-type"] == "image/png" and res.headers["x-content-type-options"] == "nosniff"
    image = Image.open(io.BytesIO(res.content))
    assert image.width == image.height and 200 <= image.width <= 384
    assert decode(image) == [f"http://testserver/{row.company_number}?reference=Caja+3%2FTicket+0042&total=1160.00"]
    default = await http.get(f"/qr/{row.company_number}.png", params={"reference": "T-1", "total": "10.5"})
    assert default.status_code == 200 and Image.open(io.BytesIO(default.content)).width <= 256
    assert decode(Image.open(io.BytesIO(default.content))) == [f"http://testserver/{row.company_number}?reference=T-1&total=10.50"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/qr/12a.png", {"reference": "T-1", "total": "1"}, "companyNumber"),
    ("/qr/1234567890123.png", {"reference": "T-1", "total": "1"}, "companyNumber"),
    ("/qr/100001.png", {"total": "1"}, "reference"),
    ("/qr/100001.png", {"reference": "x" * 101, "total": "1"}, "reference"),
    ("/qr/100001.png", {"reference": "T\u00001", "total": "1"}, "reference"),
    ("/qr/100001.png", {"reference": "T-1"}, "total"),
    ("/qr/100001.png", {"reference": "T-1", "total": "-1"}, "total"),
    ("/qr/100001.png", {"reference": "T-1", "total": "0"}, "total"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1.234"}, "total"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1e3"}, "total"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1", "size": "63"}, "size"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1", "size": "1025"}, "size"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1", "size": "99999999999"}, "size"),
    ("/qr/100001.png", {"reference": "T-1", "total": "1", "size": "big"}, "size"),
])
async def test_qr_png_refuses_bad_input_with_400(http, path, params, field):
    res = await http.get(path, params=params)
    assert res.status_code == 400, res.text
    assert field in {e["field"] for e in res.json()["errors"]}
    assert all(e["message"] for e in res.json()["errors"])
