"""Paths to the SAT test data (tests/fixtures/sat) and CSD helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.kernel.types import CsdMaterial

FIXTURES_SAT = Path(__file__).resolve().parents[2] / "fixtures" / "sat"
CSD_DIR = FIXTURES_SAT / "csd"
SAMPLES_DIR = FIXTURES_SAT / "samples"
INVALID_SAMPLES_DIR = SAMPLES_DIR / "invalid"
TEST_PASSWORD = b"12345678a"


def csd_files(rfc: str, kind: str = "CSD") -> tuple[bytes, bytes]:
    """(.cer bytes, .key bytes) of the first `kind` ("CSD" or "FIEL") pair for `rfc`."""
    folder = CSD_DIR / rfc
    cer = sorted(folder.glob(f"{kind}_*.cer"))[0]
    return cer.read_bytes(), cer.with_suffix(".key").read_bytes()


def csd_material(rfc: str = "EKU9003173C9") -> CsdMaterial:
    cer, key = csd_files(rfc)
    return CsdMaterial(certificate_der=cer, private_key_der=key, password=TEST_PASSWORD)


@pytest.fixture(scope="session")
def eku_csd() -> CsdMaterial:
    return csd_material("EKU9003173C9")
