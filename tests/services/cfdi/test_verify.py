"""services.cfdi.verify / xsd against SAT-signed samples (tests/fixtures/sat/samples, expected.json)."""
from __future__ import annotations

import json

import pytest

from services.cfdi.verify import cadena_original, tfd_cadena, verify_seal, verify_tfd_seal
from services.cfdi.sat import XmlParseError, parse_strict
from services.cfdi.xsd import validate_xml

from .conftest import CSD_DIR, INVALID_SAMPLES_DIR, SAMPLES_DIR

EXPECTED = json.loads((SAMPLES_DIR / "expected.json").read_text(encoding="utf-8"))["samples"]
VALID = [s for s in EXPECTED if not s["expect_invalid"]]
INVALID = sorted(INVALID_SAMPLES_DIR.glob("*.xml"))


def _path(sample):
    return SAMPLES_DIR / sample["file"]


def test_every_sample_file_is_listed():
    assert {p.name for p in SAMPLES_DIR.glob("*.xml")} == {s["file"] for s in VALID}
    assert len(VALID) == 11 and INVALID


@pytest.mark.parametrize("sample", VALID, ids=lambda s: s["file"][:2])
def test_sample_cadena_seal_and_xsd(sample):
    xml = _path(sample).read_bytes()
    assert cadena_original(xml) == sample["cadena_original"]
    assert verify_seal(xml) is True
    assert validate_xml(xml) == []
    if sample.get("tfd"):
        assert tfd_cadena(xml) == sample["tfd"]["cadena_original"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_samples_fail_seal(path):
    xml = path.read_bytes()
    assert validate_xml(xml) == []  # schema-valid ...
    assert verify_seal(xml) is False  # ... but changed after signing


def test_tfd_seal_of_sample_02_with_sat_test_cert():
    xml = (SAMPLES_DIR / "02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml").read_bytes()
    cert = (CSD_DIR / "SAT_TFD" / "30001000000500003456.cer").read_bytes()
    assert verify_tfd_seal(xml, cert) is True


def test_tampered_total_fails_seal():
    xml = (SAMPLES_DIR / VALID[1]["file"]).read_bytes()
    tampered = xml.replace(b'Total="', b'Total="1', 1)
    assert verify_seal(tampered) is False


def test_strict_parser_refuses_truncated_and_entities():
    xml = (SAMPLES_DIR / VALID[1]["file"]).read_bytes()
    with pytest.raises(XmlParseError):
        parse_strict(xml[: len(xml) // 2])
    with pytest.raises(XmlParseError):
        parse_strict(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    assert validate_xml(xml[:100]) and verify_seal(xml[:100]) is False
    assert verify_seal(b"<a/>") is False
