"""verify_tfd / tfd_info against real stamps (SAT test environment and production)."""
from __future__ import annotations

import json

import pytest

from services.cfdi.sat import certificate_number, load_certificate
from services.stamping import tfd_info, verify_tfd

from .conftest import CSD, SAMPLE_02, SAMPLES

SAT_TFD = CSD / "SAT_TFD"
SAMPLE_01 = SAMPLES / "01_ingreso_produccion_timbrado_real.xml"
INVALID = next((SAMPLES / "invalid").glob("*.xml"))


def _expected(name: str) -> dict:
    return next(s for s in json.loads((SAMPLES / "expected.json").read_text())["samples"] if s["file"] == name)


def test_tfd_info_of_sample_02():
    info = tfd_info(SAMPLE_02.read_bytes())
    expected = _expected(SAMPLE_02.name)

    assert info["UUID"] == "6F35D3B5-3651-5370-BC2C-14CDBE384CD7"
    assert info["FechaTimbrado"] == "2025-02-19T08:37:30"
    assert info["NoCertificadoSAT"] == "30001000000500003456"
    assert info["RfcProvCertif"] == "CVD110412TF6"
    assert info["Leyenda"] is None
    assert info["SelloCFD"] == info["Sello"]
    assert info["SelloSAT"].startswith("J2cEYYzNx7DN")
    assert info["cadena"] == expected["tfd"]["cadena_original"]


@pytest.mark.parametrize("sample", [SAMPLE_01, SAMPLE_02], ids=["01-production", "02-sat-test"])
def test_sello_sat_verifies_with_the_certificate_named_by_no_certificado_sat(sample):
    xml = sample.read_bytes()
    number = tfd_info(xml)["NoCertificadoSAT"]
    certificates = {p.stem: p.read_bytes() for p in SAT_TFD.glob("*.cer")}
    assert number in certificates

    for name, der in certificates.items():
        assert certificate_number(load_certificate(der)) == name
        assert verify_tfd(xml, der) is (name == number)


def test_sello_sat_fails_when_the_tfd_is_altered():
    xml = SAMPLE_02.read_bytes().replace(b'FechaTimbrado="2025-02-19T08:37:30"', b'FechaTimbrado="2025-02-19T08:37:31"')
    assert not verify_tfd(xml, (SAT_TFD / "30001000000500003456.cer").read_bytes())


def test_invalid_sample_does_not_verify():
    xml = INVALID.read_bytes()
    assert all(not verify_tfd(xml, p.read_bytes()) for p in SAT_TFD.glob("*.cer"))


@pytest.mark.parametrize("xml", [b"", b"garbage", SAMPLE_02.read_bytes()[:500], (SAMPLES / "03_ingreso_usd_descuentos_EKU9003173C9.xml").read_bytes()])
def test_no_tfd_or_garbage(xml):
    certificate = (SAT_TFD / "30001000000500003456.cer").read_bytes()
    assert verify_tfd(xml, certificate) is False
    with pytest.raises(ValueError):
        tfd_info(xml)


def test_pem_certificates_are_accepted_too():
    from cryptography.hazmat.primitives.serialization import Encoding

    der = (SAT_TFD / "30001000000500003456.cer").read_bytes()
    pem = load_certificate(der).public_bytes(Encoding.PEM)
    assert verify_tfd(SAMPLE_02.read_bytes(), pem)
