"""services.cfdi.csd with SAT's real test certificates (tests/fixtures/sat/csd)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.cfdi.csd import CsdError, CsdInfo, load_csd

from .conftest import TEST_PASSWORD, csd_files

# Inside the validity of the current test CSDs (2023-05 .. 2027-05).
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def test_happy_path_eku_moral():
    cer, key = csd_files("EKU9003173C9")
    info = load_csd(cer, key, TEST_PASSWORD, now=NOW)
    assert isinstance(info, CsdInfo)
    assert info.rfc == "EKU9003173C9"
    assert info.certificate_number == "30001000000500003416"
    assert info.person_type == "MORAL"
    assert info.legal_name == "ESCUELA KEMPER URGATE SA DE CV"
    assert info.valid_from < NOW < info.valid_to
    with pytest.raises(Exception):
        info.rfc = "X"  # frozen


def test_happy_path_cacx_physical():
    cer, key = csd_files("CACX7605101P8")
    info = load_csd(cer, key, TEST_PASSWORD, now=NOW)
    assert (info.rfc, info.person_type, info.certificate_number) == (
        "CACX7605101P8", "PHYSICAL", "30001000000500003316")
    assert info.legal_name == "XOCHILT CASAS CHAVEZ"


def test_default_now_is_used():
    cer, key = csd_files("EKU9003173C9")
    # Valid until 2027-05-18; the suite runs before that.
    assert load_csd(cer, key, TEST_PASSWORD).rfc == "EKU9003173C9"


@pytest.mark.parametrize("rfc", ["H&E951128469", "XIQB891116QE4", "AAA010101AAA"])
def test_expired(rfc):
    cer, key = csd_files(rfc)
    with pytest.raises(CsdError) as err:
        load_csd(cer, key, TEST_PASSWORD, now=NOW)
    assert err.value.code == "EXPIRED"
    assert "vigente" in err.value.message


@pytest.mark.parametrize("rfc", ["H&E951128469", "XIQB891116QE4"])
def test_expired_ones_load_inside_their_validity(rfc):
    cer, key = csd_files(rfc)
    info = load_csd(cer, key, TEST_PASSWORD, now=datetime(2021, 1, 1, tzinfo=timezone.utc))
    assert info.rfc == rfc


def test_not_yet_valid_is_expired_code():
    cer, key = csd_files("EKU9003173C9")
    with pytest.raises(CsdError) as err:
        load_csd(cer, key, TEST_PASSWORD, now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert err.value.code == "EXPIRED"


@pytest.mark.parametrize("rfc", ["H&E951128469", "XIQB891116QE4"])
def test_fiel_is_not_a_csd(rfc):
    cer, key = csd_files(rfc, "FIEL")
    # Even inside its validity and with the right password, a FIEL is refused.
    with pytest.raises(CsdError) as err:
        load_csd(cer, key, TEST_PASSWORD, now=datetime(2021, 1, 1, tzinfo=timezone.utc))
    assert err.value.code == "NOT_A_CSD"
    assert "e.firma" in err.value.message


def test_key_mismatch():
    cer, _ = csd_files("EKU9003173C9")
    _, other_key = csd_files("CACX7605101P8")
    with pytest.raises(CsdError) as err:
        load_csd(cer, other_key, TEST_PASSWORD, now=NOW)
    assert err.value.code == "KEY_MISMATCH"


def test_wrong_password():
    cer, key = csd_files("EKU9003173C9")
    with pytest.raises(CsdError) as err:
        load_csd(cer, key, b"not-the-password", now=NOW)
    assert err.value.code == "WRONG_PASSWORD"


def test_garbage_key_is_wrong_password():
    cer, _ = csd_files("EKU9003173C9")
    with pytest.raises(CsdError) as err:
        load_csd(cer, b"\x30\x03garbage", TEST_PASSWORD, now=NOW)
    assert err.value.code == "WRONG_PASSWORD"


@pytest.mark.parametrize("data", [b"", b"not a certificate", b"\x30\x82\x01\x00" + b"\x00" * 10])
def test_invalid_certificate(data):
    _, key = csd_files("EKU9003173C9")
    with pytest.raises(CsdError) as err:
        load_csd(data, key, TEST_PASSWORD, now=NOW)
    assert err.value.code == "INVALID_CERTIFICATE"


def test_pem_is_not_accepted_as_der():
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cer, key = csd_files("EKU9003173C9")
    pem = x509.load_der_x509_certificate(cer).public_bytes(Encoding.PEM)
    with pytest.raises(CsdError) as err:
        load_csd(pem, key, TEST_PASSWORD, now=NOW)
    assert err.value.code == "INVALID_CERTIFICATE"


def test_error_is_exception_with_code_and_message():
    err = CsdError("EXPIRED", "mensaje")
    assert isinstance(err, Exception) and err.code == "EXPIRED" and err.message == "mensaje"


def test_demo_csd_in_sat_data_is_eku():
    from pathlib import Path

    demo = Path(__file__).resolve().parents[3] / "services" / "sat_data" / "demo_csd"
    cer = (demo / "CSD_30001000000500003416.cer").read_bytes()
    key = (demo / "CSD_30001000000500003416.key").read_bytes()
    assert load_csd(cer, key, TEST_PASSWORD, now=NOW).certificate_number == "30001000000500003416"
