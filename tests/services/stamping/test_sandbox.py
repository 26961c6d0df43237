"""SandboxPac: what it stamps, what it refuses, idempotency, failures, registry."""
from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
import sys
import time
import uuid as uuid_module
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from services.stamping import (
    Pac,
    SandboxPac,
    StampingError,
    StampingTimeout,
    StampResult,
    build_pac,
    tfd_info,
    verify_tfd,
)
from services.stamping.sandbox import SANDBOX_LEYENDA, SANDBOX_RFC_PROV_CERTIF

from .conftest import (
    CFDI_NS,
    CSD,
    MEXICO_CITY,
    SAMPLE_02,
    SAMPLE_04_PAGOS,
    bundle_schema,
    cfdi_xslt,
    make_cfdi,
    now_mexico_city,
    tfd_cadena,
    tfd_of,
)

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------ what is stamped


async def test_stamped_cfdi_validates_against_the_cfdi40_bundle(state_dir, cfdi):
    result = await SandboxPac(state_dir).stamp(cfdi)

    schema = bundle_schema()
    assert schema.validate(etree.fromstring(result.xml)), schema.error_log


async def test_tfd_fields(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = await pac.stamp(cfdi)
    after = datetime.now(timezone.utc)
    tfd = tfd_of(result.xml)

    assert tfd.get("Version") == "1.1"
    assert tfd.get("UUID") == result.uuid == result.uuid.upper()
    assert uuid_module.UUID(result.uuid).version == 4
    assert tfd.get("RfcProvCertif") == SANDBOX_RFC_PROV_CERTIF == "SPR190613I52"
    assert tfd.get("Leyenda") == SANDBOX_LEYENDA
    assert tfd.get("SelloCFD") == etree.fromstring(cfdi).get("Sello")
    assert tfd.get("NoCertificadoSAT") == result.sat_certificate_number == pac.certificate_number
    assert len(result.sat_certificate_number) == 20 and result.sat_certificate_number.isdigit()
    assert result.is_sandbox is True
    # FechaTimbrado: Mexico City local time without offset; stamped_at: the same instant, aware UTC.
    assert result.stamped_at.tzinfo is not None and result.stamped_at.utcoffset() == timedelta(0)
    assert before <= result.stamped_at <= after
    fecha_timbrado = datetime.strptime(tfd.get("FechaTimbrado"), "%Y-%m-%dT%H:%M:%S")
    assert fecha_timbrado.replace(tzinfo=MEXICO_CITY) == result.stamped_at


async def test_sello_sat_verifies_with_the_sandbox_certificate(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)

    assert verify_tfd(result.xml, pac.certificate_der())
    # Independently of services.stamping.verify: SAT's TFD XSLT + cryptography.
    tfd = tfd_of(result.xml)
    certificate = x509.load_der_x509_certificate(pac.certificate_der())
    certificate.public_key().verify(
        base64.b64decode(tfd.get("SelloSAT")),
        tfd_cadena(tfd).encode("utf-8"),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert tfd_info(result.xml)["cadena"] == tfd_cadena(tfd)


async def test_tampered_tfd_does_not_verify(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)
    other_uuid = str(uuid_module.uuid4()).upper()

    tampered = result.xml.replace(result.uuid.encode(), other_uuid.encode())

    assert not verify_tfd(tampered, pac.certificate_der())
    sat_test_cert = (CSD / "SAT_TFD" / "30001000000500003456.cer").read_bytes()
    assert not verify_tfd(result.xml, sat_test_cert)


async def test_stamping_leaves_the_comprobante_and_its_sello_intact(state_dir, cfdi):
    result = await SandboxPac(state_dir).stamp(cfdi)

    original, stamped = etree.fromstring(cfdi), etree.fromstring(result.xml)
    assert str(cfdi_xslt()(stamped.getroottree())) == str(cfdi_xslt()(original.getroottree()))
    assert stamped.get("Sello") == original.get("Sello")
    assert [c.tag for c in stamped][-1] == f"{{{CFDI_NS}}}Complemento"


async def test_tfd_joins_an_existing_complemento(state_dir):
    """A Pagos 2.0 CFDI already has a Complemento: the TFD goes after pago20:Pagos."""
    pac = SandboxPac(state_dir)
    result = await pac.stamp(make_cfdi(sample=SAMPLE_04_PAGOS))

    root = etree.fromstring(result.xml)
    (complemento,) = root.findall(f"{{{CFDI_NS}}}Complemento")
    assert [etree.QName(c).localname for c in complemento] == ["Pagos", "TimbreFiscalDigital"]
    assert bundle_schema().validate(root), bundle_schema().error_log
    assert verify_tfd(result.xml, pac.certificate_der())


async def test_sandbox_is_a_pac_and_build_pac_makes_it(state_dir):
    pac = build_pac("sandbox", state_dir, timeout=5)
    assert isinstance(pac, SandboxPac) and isinstance(pac, Pac)
    assert pac.timeout == 5
    with pytest.raises(ValueError, match="Unknown PAC kind"):
        build_pac("acme", state_dir, timeout=5)  # finkok and sw are real kinds now (issue 11)
    with pytest.raises(ValueError, match="PAC_USERNAME"):
        build_pac("finkok", state_dir, timeout=5)  # a real PAC without credentials


# -------------------------------------------------------------------- idempotency


async def test_same_bytes_same_stamp(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    first = await pac.stamp(cfdi)
    second = await pac.stamp(cfdi)
    assert second == first


async def test_different_documents_get_different_uuids(state_dir):
    pac = SandboxPac(state_dir)
    a = await pac.stamp(make_cfdi(folio="A"))
    b = await pac.stamp(make_cfdi(folio="B"))
    assert a.uuid != b.uuid


async def test_idempotent_across_instances_on_the_same_state_dir(state_dir, cfdi):
    first = await SandboxPac(state_dir).stamp(cfdi)
    second = await SandboxPac(state_dir).stamp(cfdi)
    assert second.uuid == first.uuid and second.xml == first.xml


async def test_concurrent_calls_end_with_one_uuid(state_dir, cfdi):
    pac_a, pac_b = SandboxPac(state_dir), SandboxPac(state_dir)
    results = await asyncio.gather(*(p.stamp(cfdi) for p in [pac_a, pac_b] * 5))
    assert len({r.uuid for r in results}) == 1
    assert len(list((state_dir / "registry").glob("*.json"))) == 1


_CHILD = """
import asyncio, sys
from pathlib import Path
from services.stamping import SandboxPac
xml = Path(sys.argv[2]).read_bytes()
result = asyncio.run(SandboxPac(Path(sys.argv[1])).stamp(xml))
print(result.uuid, result.sat_certificate_number)
"""


def test_concurrent_processes_end_with_one_uuid_and_one_certificate(tmp_path):
    """Four processes start at once on an empty state_dir with the same document:
    one certificate is created, one UUID comes back to all of them."""
    state_dir = tmp_path / "shared-state"
    document = tmp_path / "cfdi.xml"
    document.write_bytes(make_cfdi(folio="P1"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(state_dir), str(document)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out.strip())
    assert len(set(outputs)) == 1, outputs
    assert len(list((state_dir / "registry").glob("*.json"))) == 1


# ----------------------------------------------------------------- failure modes


async def test_timeout_mode_raises_a_retryable_timeout_within_the_timeout(state_dir, cfdi):
    pac = SandboxPac(state_dir, timeout=0.3, fail_mode="timeout")
    started = time.monotonic()
    with pytest.raises(StampingTimeout) as info:
        await pac.stamp(cfdi)
    assert time.monotonic() - started < 1.0
    assert info.value.retryable is True and info.value.code == "PAC_TIMEOUT"
    assert isinstance(info.value, StampingError)


async def test_error_mode_is_not_retryable(state_dir, cfdi):
    with pytest.raises(StampingError) as info:
        await SandboxPac(state_dir, fail_mode="error").stamp(cfdi)
    assert info.value.retryable is False and info.value.code == "PAC_ERROR"


async def test_unavailable_mode_is_retryable(state_dir, cfdi):
    with pytest.raises(StampingError) as info:
        await SandboxPac(state_dir, fail_mode="unavailable").stamp(cfdi)
    assert info.value.retryable is True and info.value.code == "PAC_UNAVAILABLE"
    assert not isinstance(info.value, StampingTimeout)


async def test_set_failure_n_times_then_the_retry_succeeds(state_dir, cfdi):
    pac = SandboxPac(state_dir, timeout=0.3)
    await pac.warm()  # so that the real stamp below fits in the short timeout on a cold process
    pac.set_failure("unavailable", times=1)
    pac_timeouts = SandboxPac(state_dir, timeout=0.3)
    pac_timeouts.set_failure("timeout", times=2)

    with pytest.raises(StampingError):
        await pac.stamp(cfdi)
    for _ in range(2):
        with pytest.raises(StampingTimeout):
            await pac_timeouts.stamp(cfdi)
    # Nothing was remembered for the failed attempts: the retry stamps, once.
    result = await pac.stamp(cfdi)
    assert (await pac_timeouts.stamp(cfdi)).uuid == result.uuid


async def test_failures_also_apply_to_status_and_cancel(state_dir):
    pac = SandboxPac(state_dir, timeout=0.3, fail_mode="unavailable")
    with pytest.raises(StampingError):
        await pac.status(str(uuid_module.uuid4()))
    pac.set_failure("timeout")
    with pytest.raises(StampingTimeout):
        await pac.cancel(str(uuid_module.uuid4()), "EKU9003173C9", "02")
    pac.set_failure(None)
    assert (await pac.status(str(uuid_module.uuid4()))).status == "No Encontrado"


def test_unknown_fail_mode_is_rejected(state_dir):
    with pytest.raises(ValueError):
        SandboxPac(state_dir, fail_mode="sometimes")


# ------------------------------------------------------------- what is refused


async def _refused(state_dir, xml) -> StampingError:
    with pytest.raises(StampingError) as info:
        await SandboxPac(state_dir).stamp(xml)
    assert info.value.retryable is False
    assert not isinstance(info.value, StampingTimeout)
    return info.value


async def test_fecha_older_than_72_hours_is_refused(state_dir):
    error = await _refused(state_dir, make_cfdi(fecha=now_mexico_city() - timedelta(hours=73)))
    assert error.code == "CFDI_DATE_OUT_OF_RANGE"
    assert "72 horas" in error.message


async def test_fecha_in_the_future_is_refused(state_dir):
    error = await _refused(state_dir, make_cfdi(fecha=now_mexico_city() + timedelta(hours=1)))
    assert error.code == "CFDI_DATE_OUT_OF_RANGE"


async def test_fecha_71_hours_old_is_accepted(state_dir):
    result = await SandboxPac(state_dir).stamp(make_cfdi(fecha=now_mexico_city() - timedelta(hours=71)))
    assert isinstance(result, StampResult)


def _truncated() -> bytes:
    xml = make_cfdi()
    return xml[: len(xml) // 2]


def _without_sello() -> bytes:
    root = etree.fromstring(make_cfdi())
    del root.attrib["Sello"]
    return etree.tostring(root)


def _cfdi33() -> bytes:
    return make_cfdi().replace(b"http://www.sat.gob.mx/cfd/4", b"http://www.sat.gob.mx/cfd/3").replace(
        b'Version="4.0"', b'Version="3.3"'
    )


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" Sello="&lol2;"/>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" Sello="&xxe;"/>"""


@pytest.mark.parametrize(
    "make_document",
    [
        pytest.param(lambda: b"", id="empty"),
        pytest.param(lambda: b"this is not xml", id="garbage"),
        pytest.param(lambda: b"\xff\xfe\x00<\x00a", id="binary"),
        pytest.param(_truncated, id="truncated"),
        pytest.param(lambda: b"<factura/>", id="other-root"),
        pytest.param(_cfdi33, id="cfdi-3.3"),
        pytest.param(_without_sello, id="no-sello"),
        pytest.param(lambda: ENTITY_BOMB, id="entity-expansion"),
        pytest.param(lambda: EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(lambda: make_cfdi().replace(b'Moneda="MXN"', b'Moneda="XXX-NOT"'), id="schema-invalid"),
    ],
)
async def test_invalid_documents_are_refused_with_cfdi_invalid(state_dir, make_document):
    error = await _refused(state_dir, make_document())
    assert error.code == "CFDI_INVALID"


async def test_document_changed_after_signing_is_refused(state_dir):
    xml = make_cfdi().replace(b'Total="3327.01"', b'Total="3327.02"')
    error = await _refused(state_dir, xml)
    assert error.code == "CFDI_SEAL_INVALID"


async def test_already_stamped_document_is_refused(state_dir):
    error = await _refused(state_dir, SAMPLE_02.read_bytes())
    assert error.code == "CFDI_ALREADY_STAMPED"


async def test_refusal_is_not_remembered(state_dir):
    """A refused document leaves no stamp and no registry entry behind."""
    await _refused(state_dir, b"garbage")
    assert not list((state_dir / "stamps").glob("*.json"))
    assert not list((state_dir / "registry").glob("*.json"))


# ------------------------------------------------------------------- certificate


async def test_sandbox_certificate_is_created_once_and_reused(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)
    cert_dir = state_dir / "certificate"
    key_file = next(cert_dir.glob("*.key.pem"))

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = SandboxPac(state_dir)
    assert again.certificate_der() == pac.certificate_der()
    other = await again.stamp(make_cfdi(folio="other"))
    assert other.sat_certificate_number == result.sat_certificate_number
    assert verify_tfd(other.xml, pac.certificate_der())


def test_sandbox_certificate_says_it_has_no_fiscal_validity(state_dir):
    pac = SandboxPac(state_dir)
    certificate = x509.load_der_x509_certificate(pac.certificate_der())

    assert "SANDBOX — SIN VALIDEZ FISCAL" in certificate.subject.rfc4514_string()
    assert certificate.subject == certificate.issuer  # self-signed
    assert isinstance(certificate.public_key(), rsa.RSAPublicKey)
    assert certificate.public_key().key_size == 2048
    number = pac.certificate_number
    assert len(number) == 20 and number.isdigit()
    assert certificate.serial_number == int.from_bytes(number.encode("ascii"), "big")


def test_different_state_dirs_have_different_certificates(tmp_path):
    assert SandboxPac(tmp_path / "a").certificate_der() != SandboxPac(tmp_path / "b").certificate_der()


# ------------------------------------------------------------ status and cancel


async def test_status_of_a_stamp_is_vigente(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)
    status = await pac.status(result.uuid)
    assert status.status == "Vigente" and status.is_sandbox
    assert (await pac.status(result.uuid.lower(), rfc_emisor="EKU9003173C9")).status == "Vigente"
    assert (await pac.status(result.uuid, rfc_emisor="XAXX010101000")).status == "No Encontrado"
    assert (await pac.status(str(uuid_module.uuid4()))).status == "No Encontrado"
    assert (await pac.status("not-a-uuid")).status == "No Encontrado"


async def test_cancel_with_motivo_02_then_status_is_cancelado(state_dir, cfdi):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)

    cancelled = await pac.cancel(result.uuid, "EKU9003173C9", "02", None)

    assert cancelled.status == "Cancelado" and cancelled.reason == "02"
    assert cancelled.replacement_uuid is None and cancelled.cancelled_at.tzinfo is not None
    status = await SandboxPac(state_dir).status(result.uuid)  # another instance, same state
    assert status.status == "Cancelado" and status.cancellation_reason == "02"
    # Cancelling again answers the same (SAT: "previamente cancelado").
    assert await pac.cancel(result.uuid, "EKU9003173C9", "02", None) == cancelled


async def test_cancel_with_motivo_01_requires_the_replacement_uuid(state_dir):
    pac = SandboxPac(state_dir)
    original = await pac.stamp(make_cfdi(folio="1"))
    replacement = await pac.stamp(make_cfdi(folio="2"))

    with pytest.raises(StampingError) as info:
        await pac.cancel(original.uuid, "EKU9003173C9", "01", None)
    assert info.value.code == "CANCEL_REPLACEMENT_REQUIRED"
    assert (await pac.status(original.uuid)).status == "Vigente"

    cancelled = await pac.cancel(original.uuid, "EKU9003173C9", "01", replacement.uuid)
    assert cancelled.replacement_uuid == replacement.uuid
    assert (await pac.status(original.uuid)).replacement_uuid == replacement.uuid


@pytest.mark.parametrize(
    ("rfc", "reason", "replacement", "code"),
    [
        ("EKU9003173C9", "05", None, "CANCEL_REASON_INVALID"),
        ("EKU9003173C9", "", None, "CANCEL_REASON_INVALID"),
        ("EKU9003173C9", "03", "6F35D3B5-3651-4370-BC2C-14CDBE384CD7", "CANCEL_REPLACEMENT_NOT_ALLOWED"),
        ("EKU9003173C9", "01", "not-a-uuid", "CANCEL_REPLACEMENT_REQUIRED"),
        ("XAXX010101000", "02", None, "UUID_NOT_FOUND"),
    ],
)
async def test_cancel_refusals(state_dir, cfdi, rfc, reason, replacement, code):
    pac = SandboxPac(state_dir)
    result = await pac.stamp(cfdi)
    with pytest.raises(StampingError) as info:
        await pac.cancel(result.uuid, rfc, reason, replacement)
    assert info.value.code == code and info.value.retryable is False
    assert (await pac.status(result.uuid)).status == "Vigente"


async def test_cancel_unknown_uuid(state_dir):
    with pytest.raises(StampingError) as info:
        await SandboxPac(state_dir).cancel(str(uuid_module.uuid4()), "EKU9003173C9", "02", None)
    assert info.value.code == "UUID_NOT_FOUND"
