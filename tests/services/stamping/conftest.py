"""Fixtures for the stamping tests.

`make_cfdi` builds a freshly sealed CFDI 4.0 from sample 02: its TFD removed, Fecha set
(default: now, Mexico City local time, no offset), the cadena recomputed with SAT's
cadenaoriginal_4_0.xslt and re-signed with the EKU9003173C9 test CSD. It is built here
with lxml + cryptography only (independently of services/), so the tests do not check
the code with itself.
"""
from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

FIXTURES_SAT = Path(__file__).resolve().parents[2] / "fixtures" / "sat"
SAMPLES = FIXTURES_SAT / "samples"
CSD = FIXTURES_SAT / "csd"
SAMPLE_02 = SAMPLES / "02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml"
SCHEMAS = Path(__file__).resolve().parents[3] / "services" / "sat_data" / "schemas"
CFD = SCHEMAS / "www.sat.gob.mx" / "sitio_internet" / "cfd"
CFDI_NS = "http://www.sat.gob.mx/cfd/4"
TFD_NS = "http://www.sat.gob.mx/TimbreFiscalDigital"
MEXICO_CITY = ZoneInfo("America/Mexico_City")
KEY_PASSWORD = b"12345678a"


@cache
def cfdi_xslt() -> etree.XSLT:
    return etree.XSLT(etree.parse(str(CFD / "4" / "cadenaoriginal_4_0" / "cadenaoriginal_4_0.xslt")))


@cache
def tfd_xslt() -> etree.XSLT:
    return etree.XSLT(etree.parse(str(CFD / "TimbreFiscalDigital" / "cadenaoriginal_TFD_1_1.xslt")))


@cache
def bundle_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "cfdi40_bundle.xsd")))


@cache
def eku_key():
    key_path = next((CSD / "EKU9003173C9").glob("*.key"))
    return serialization.load_der_private_key(key_path.read_bytes(), password=KEY_PASSWORD)


def now_mexico_city() -> datetime:
    return datetime.now(MEXICO_CITY).replace(tzinfo=None, microsecond=0)


SAMPLE_04_PAGOS = SAMPLES / "04_pago20_EKU9003173C9.xml"


def make_cfdi(
    fecha: datetime | str | None = None,
    folio: str | None = None,
    total: str | None = None,
    sample: Path = SAMPLE_02,
) -> bytes:
    """A sealed, unstamped CFDI 4.0 (sample 02, or another EKU9003173C9 sample, re-dated
    and re-signed; only its TFD is removed, other complements stay).

    `folio` adds a Folio attribute so two documents differ; `total` changes Total
    *before* signing (to build a document whose seal is right but content odd)."""
    root = etree.parse(str(sample)).getroot()
    for complemento in root.findall(f"{{{CFDI_NS}}}Complemento"):
        for tfd in complemento.findall(f"{{{TFD_NS}}}TimbreFiscalDigital"):
            complemento.remove(tfd)
        if len(complemento) == 0:
            root.remove(complemento)
    if fecha is None:
        fecha = now_mexico_city()
    if isinstance(fecha, datetime):
        fecha = fecha.strftime("%Y-%m-%dT%H:%M:%S")
    root.set("Fecha", fecha)
    if folio is not None:
        root.set("Folio", folio)
    if total is not None:
        root.set("Total", total)
    cadena = str(cfdi_xslt()(root.getroottree()))
    signature = eku_key().sign(cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    root.set("Sello", base64.b64encode(signature).decode("ascii"))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def tfd_of(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    (tfd,) = root.findall(f"{{{CFDI_NS}}}Complemento/{{{TFD_NS}}}TimbreFiscalDigital")
    return tfd


def tfd_cadena(tfd: etree._Element) -> str:
    return str(tfd_xslt()(etree.ElementTree(etree.fromstring(etree.tostring(tfd)))))


@pytest.fixture
def cfdi() -> bytes:
    return make_cfdi(folio="A1")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "pac-state"
