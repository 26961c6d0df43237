"""render_invoice_pdf: what a stamped CFDI 4.0 prints as, and how the renderer behaves."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from services.cfdi.sat import tfd_cadena as tfd_original_string
from services.pdf.render import (
    NS,
    SANDBOX_LEGEND,
    PdfRenderError,
    build_view,
    layout_invoice,
    qr_total,
    render_invoice_html,
    render_invoice_pdf,
    verification_url,
)

from .conftest import SAMPLES, pdf_info, pdf_text

TFD_XSLT = (
    Path(__file__).resolve().parents[3]
    / "services/sat_data/schemas/www.sat.gob.mx/sitio_internet/cfd/TimbreFiscalDigital/cadenaoriginal_TFD_1_1.xslt"
)
UUID_02 = "6F35D3B5-3651-5370-BC2C-14CDBE384CD7"
UUID_01 = "C2832671-DA6D-11EF-A83D-00155D012007"


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def tfd_of(xml: bytes) -> etree._Element:
    return etree.fromstring(xml).find("cfdi:Complemento/tfd:TimbreFiscalDigital", NS)


# ---- the printed content ----------------------------------------------------------------


def test_stamped_test_invoice_prints_its_fiscal_data(sample_02):
    pdf = render_invoice_pdf(sample_02)

    assert pdf.startswith(b"%PDF-")
    text = one_line(pdf_text(pdf))
    for expected in [
        UUID_02,
        "EKU9003173C9",  # emisor
        "MCI7306249Y1",  # receptor
        "ESCUELA KEMPER URGATE",
        "MUNICIPIO DE CUAUTITLAN IZCALLI",
        "601 - General de Ley Personas Morales",
        "603 - Personas Morales con Fines no Lucrativos",
        "G03 - Gastos en general",
        "01 - Efectivo",
        "PUE - Pago en una sola exhibición",
        "3,824.15",  # subtotal / importe
        "956.04",  # descuento
        "458.90",  # IVA 16 %
        "3,327.01",  # total
        "TRES MIL TRESCIENTOS VEINTISIETE PESOS 01/100 M.N.",
        "30001000000500003416",  # certificado emisor
        "30001000000500003456",  # certificado SAT
        "CVD110412TF6",
        "Este documento es una representación impresa de un CFDI",
        "Página 1 de 1",
    ]:
        assert expected in text, expected


def test_test_csd_forces_the_sandbox_watermark(sample_02):
    # Sample 02 is sealed with a SAT test CSD (30001000000…): never fiscally valid.
    assert SANDBOX_LEGEND in pdf_text(render_invoice_pdf(sample_02, sandbox=False))


def test_real_invoice_prints_without_sandbox_legend_unless_asked(sample_01):
    real = one_line(pdf_text(render_invoice_pdf(sample_01)))
    assert UUID_01 in real
    assert "ISD950921HE5" in real and "COSC8001137NA" in real
    assert "MIL PESOS 00/100 M.N." in real
    assert "O-52375239" in real  # Serie-Folio
    assert "SANDBOX" not in real

    sandboxed = pdf_text(render_invoice_pdf(sample_01, sandbox=True))
    assert SANDBOX_LEGEND in sandboxed
    assert "SIN VALIDEZ FISCAL" in sandboxed


def test_real_invoice_totals_by_rate(sample_01):
    view = build_view(sample_01)
    assert [(t.label, t.amount) for t in view.tax_totals] == [("IVA 16 %", "137.93")]
    assert view.subtotal == "862.07" and view.total == "1,000.00"
    assert [c.taxes_cell for c in view.conceptos] == ["02 · IVA 16 % 1.379310", "02 · IVA 16 % 136.551724"]


def test_merchant_display_name_heads_the_page_and_keeps_the_legal_name(sample_01):
    text = pdf_text(render_invoice_pdf(sample_01, merchant_display_name="Recargas Pase"))
    assert "Recargas Pase" in text
    assert "PASE, SERVICIOS ELECTRONICOS" in text


def test_seals_and_tfd_cadena_are_printed_whole(sample_02):
    tfd = tfd_of(sample_02)
    html = render_invoice_html(sample_02)
    for value in (tfd.get("SelloCFD"), tfd.get("SelloSAT"), tfd_original_string(tfd)):
        assert value in html
    # In the PDF the seals wrap over lines; joined again they are intact.
    squashed = re.sub(r"\s+", "", pdf_text(render_invoice_pdf(sample_02)))
    assert tfd.get("SelloSAT") in squashed
    assert tfd_original_string(tfd) in squashed


def test_values_from_the_xml_are_escaped(sample_01):
    hostile = sample_01.replace(b'Nombre="CARLOS CORTES SOTO"', b'Nombre="&lt;b&gt;CARLOS&lt;/b&gt; &amp; CO"')
    html = render_invoice_html(hostile)
    assert "&lt;b&gt;CARLOS&lt;/b&gt; &amp; CO" in html
    assert "<b>CARLOS" not in html


# ---- cadena original del TFD and the QR --------------------------------------------------


@pytest.fixture(scope="module")
def tfd_xslt():
    return etree.XSLT(etree.parse(str(TFD_XSLT)))


def xslt_cadena(transform, tfd: etree._Element) -> str:
    return str(transform(etree.ElementTree(etree.fromstring(etree.tostring(tfd)))))


@pytest.mark.parametrize("sample", ["02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml",
                                    "01_ingreso_produccion_timbrado_real.xml"])
def test_tfd_cadena_equals_sat_xslt_output(tfd_xslt, sample):
    tfd = tfd_of((SAMPLES / sample).read_bytes())
    ours = tfd_original_string(tfd)
    assert ours == xslt_cadena(tfd_xslt, tfd)
    expected = {s["file"]: s for s in json.loads((SAMPLES / "expected.json").read_text())["samples"]}
    assert ours == expected[sample]["tfd"]["cadena_original"]
    assert ours.startswith("||1.1|") and ours.endswith("||")


def test_tfd_cadena_follows_xslt_for_leyenda_and_whitespace(tfd_xslt, sample_02):
    tfd = tfd_of(sample_02)
    tfd.set("Leyenda", "  Leyenda   con\tespacios \n ")
    tfd.set("RfcProvCertif", " CVD110412TF6 ")
    assert tfd_original_string(tfd) == xslt_cadena(tfd_xslt, tfd)
    assert "|Leyenda con espacios|" in tfd_original_string(tfd)
    tfd.set("Leyenda", "")  # present but empty: the XSLT still emits its separator
    assert tfd_original_string(tfd) == xslt_cadena(tfd_xslt, tfd)


@pytest.mark.parametrize(
    "total, tt",
    [("3327.01", "3327.01"), ("1000.00", "1000.0"), ("0.50", "0.5"), ("1234.123456", "1234.123456"),
     ("7", "7.0"), ("0", "0.0")],
)
def test_qr_total_has_no_non_significant_zeros(total, tt):
    assert qr_total(total) == tt


def test_verification_url_for_sample_02(sample_02):
    view = build_view(sample_02)
    assert view.qr_url == (
        "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx"
        f"?id={UUID_02}&re=EKU9003173C9&rr=MCI7306249Y1&tt=3327.01&fe=KklI5Q%3D%3D"
    )
    assert view.qr_svg.startswith("<svg") and 'class="qr-code"' in view.qr_svg


def test_rfc_with_ampersand_is_percent_encoded_in_the_qr():
    url = verification_url("U", "Ñ&A010101AAA", "XAXX010101000", "1.00", "abcdefgh")
    assert "re=%C3%91%26A010101AAA&rr=XAXX010101000&tt=1.0&fe=abcdefgh" in url


# ---- layout -------------------------------------------------------------------------------


def test_300_lines_span_pages_with_the_header_repeated(sample_300_lines):
    document = layout_invoice(sample_300_lines)
    pages = len(document.pages)
    assert pages > 3

    pdf = render_invoice_pdf(sample_300_lines)
    pages_with_rows = 0
    for page in range(1, pages + 1):
        text = pdf_text(pdf, page)
        if "52161557 H87 PIEZA" in text:  # a page of the concepts table
            pages_with_rows += 1
            assert "Clave SAT / unidad" in text and "Descripción" in text, f"no table header on page {page}"
        assert f"Página {page} de {pages}" in text
        assert UUID_02 in text  # running footer
    assert pages_with_rows >= pages - 1  # only the seals may spill onto a page of their own
    last = one_line(pdf_text(pdf, pages))
    assert "Sello digital del SAT" in last
    assert pdf_text(pdf).count("52161557 H87 PIEZA") == 300


def test_one_line_invoice_is_one_page(sample_02):
    assert len(layout_invoice(sample_02).pages) == 1


# ---- determinism ---------------------------------------------------------------------------


def test_same_input_same_bytes(sample_02, sample_01):
    first = render_invoice_pdf(sample_02)
    render_invoice_pdf(sample_01)  # something else in between: caches must not leak state
    assert render_invoice_pdf(sample_02) == first
    info = pdf_info(first)
    # FechaTimbrado 2025-02-19T08:37:30 is Zona Centro time (UTC-6).
    assert info["CreationDate"] == info["ModDate"] == "2025-02-19T08:37:30-06"
    assert info["Title"] == f"Factura · {UUID_02}"


def test_different_flags_different_bytes(sample_01):
    assert render_invoice_pdf(sample_01) != render_invoice_pdf(sample_01, sandbox=True)


# ---- refusals -----------------------------------------------------------------------------


def test_truncated_xml_is_refused(sample_02):
    with pytest.raises(PdfRenderError) as err:
        render_invoice_pdf(sample_02[: len(sample_02) // 2])
    assert err.value.code == "invalid_xml"


def test_external_entities_are_not_resolved(tmp_path, sample_01):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE c [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
    hostile = sample_01.replace(b"<?xml version=\"1.0\"?>", b"<?xml version=\"1.0\"?>" + doctype)
    hostile = hostile.replace(b'Nombre="CARLOS CORTES SOTO"', b'Nombre="&x;"')
    try:
        html = render_invoice_html(hostile)
    except PdfRenderError as err:
        assert err.code == "invalid_xml"
    else:
        assert "TOP-SECRET" not in html


def test_unstamped_cfdi_is_refused(sample_02):
    root = etree.fromstring(sample_02)
    root.remove(root.find("cfdi:Complemento", NS))
    with pytest.raises(PdfRenderError) as err:
        render_invoice_pdf(etree.tostring(root))
    assert err.value.code == "cfdi_not_stamped"


def test_other_documents_are_refused():
    with pytest.raises(PdfRenderError) as err:
        render_invoice_pdf(b'<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/3" Version="3.3"/>')
    assert err.value.code == "not_cfdi40"


def test_only_the_shipped_font_family_is_embedded(sample_01):
    # Each extra family costs another subsetting pass per render (performance-facts.md).
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) not installed")
    out = subprocess.run(["pdffonts", "-"], input=render_invoice_pdf(sample_01), capture_output=True, check=True)
    fonts = [line.split()[0] for line in out.stdout.decode().splitlines()[2:]]
    assert len(fonts) == 2 and all("Autofactura-Sans" in name for name in fonts), fonts


def test_a_cancelled_invoice_prints_the_cancelado_mark(sample_01):
    # issue 11: a cancelled invoice's stored PDF is re-printed with the mark
    assert "CANCELADO" not in pdf_text(render_invoice_pdf(sample_01))
    cancelled = one_line(pdf_text(render_invoice_pdf(sample_01, cancelled=True)))
    assert "CFDI CANCELADO ANTE EL SAT" in cancelled
    assert UUID_01 in cancelled
