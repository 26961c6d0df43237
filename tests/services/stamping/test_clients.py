"""The Finkok and SW clients against the protocol emulator over real HTTP (127.0.0.1,
a port the OS picks): stamp, 307 recovered (with and without the earlier XML), a lost
answer recovered without a second stamp, 708 retryable, bad credentials not, the
document refusals with the PAC's code kept, cancellation and SAT status."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.cfdi.satcfdi_adapter import signed_cancellation
from services.kernel.codes import PacErrorCode
from services.stamping import StampingError, audit, build_pac, verify_tfd
from services.stamping.emulator import EmulatorServer, EmulatorState
from services.stamping.finkok import FinkokPac
from services.stamping.sw import SwPac

from .conftest import CSD, KEY_PASSWORD, make_cfdi, now_mexico_city

USER, PASSWORD = "demo@example.com", "demo-password"


@pytest.fixture(params=["finkok", "sw"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def emulator(kind, tmp_path):
    with EmulatorServer(kind, EmulatorState(tmp_path / "emulator")) as server:
        yield server


def client(emulator, *, timeout: float = 5.0, password: str = PASSWORD):
    if emulator.kind == "finkok":
        return FinkokPac(USER, password, emulator.url, timeout)
    return SwPac(username=USER, password=password, base_url=emulator.url, timeout=timeout,
                 sat_status_url=f"{emulator.url}/ConsultaCFDIService.svc")


async def test_stamp_returns_the_pacs_tfd(emulator):
    pac = client(emulator)
    xml = make_cfdi(folio="C1")
    with audit.collect() as calls:
        result = await pac.stamp(xml, idempotency_key="invoice-1")
    await pac.aclose()
    (record,) = emulator.state.stamps_of()
    assert result.uuid == record.uuid
    assert result.xml == record.xml
    assert verify_tfd(result.xml, emulator.state.certificate_der)
    assert result.is_sandbox  # the emulator's TFD carries the sandbox Leyenda: no fiscal validity
    assert [c.outcome for c in calls if c.operation == "stamp"] == ["OK"]


@pytest.mark.parametrize("earlier_xml", [True, False], ids=["307-with-xml", "307-without-xml"])
async def test_same_bytes_again_answer_307_and_return_the_first_stamp(emulator, earlier_xml):
    emulator.state.earlier_xml_on_307 = earlier_xml
    xml = make_cfdi(folio="C2")
    first = await client(emulator).stamp(xml, idempotency_key="invoice-2")
    again = client(emulator)  # a new process: nothing cached
    if emulator.kind == "sw" and not earlier_xml:
        # SW answers 307 without the XML: never a new seal, a retryable "not ready"
        with pytest.raises(StampingError) as caught:
            await again.stamp(xml, idempotency_key="invoice-2")
        assert caught.value.code == PacErrorCode.STAMP_NOT_READY and caught.value.retryable
    else:
        second = await again.stamp(xml, idempotency_key="invoice-2")
        assert second.uuid == first.uuid
    assert emulator.state.stamp_count == 1


async def test_a_lost_answer_is_recovered_without_a_second_stamp(emulator):
    emulator.state.stall_next(3.0)
    xml = make_cfdi(folio="C3")
    pac = client(emulator, timeout=1.0)
    with pytest.raises(StampingError) as caught:
        await pac.stamp(xml, idempotency_key="invoice-3")
    assert caught.value.retryable and caught.value.code == "PAC_TIMEOUT"
    assert emulator.state.stamp_count == 1  # stamped although the answer was lost
    (record,) = emulator.state.stamps_of()
    if emulator.kind == "finkok":
        recovered = await client(emulator).stamped(xml)
    else:
        recovered = await client(emulator).stamped(xml, idempotency_key="invoice-3")
    assert recovered is not None and recovered.uuid == record.uuid
    assert (await client(emulator).stamp(xml, idempotency_key="invoice-3")).uuid == record.uuid
    assert emulator.state.stamp_count == 1


async def test_stamped_says_none_for_bytes_never_stamped(tmp_path):
    with EmulatorServer("finkok", EmulatorState(tmp_path / "e")) as emulator:
        assert await client(emulator).stamped(make_cfdi(folio="C4")) is None
        assert emulator.state.stamp_count == 0


async def test_708_is_retryable_and_stamps_nothing(emulator):
    emulator.state.fail_next_with_708()
    with pytest.raises(StampingError) as caught:
        await client(emulator).stamp(make_cfdi(folio="C5"))
    assert caught.value.retryable
    assert caught.value.code == PacErrorCode.SAT_UNAVAILABLE and caught.value.pac_code == "708"
    assert emulator.state.stamp_count == 0


async def test_bad_credentials_are_not_retryable(emulator):
    pac = client(emulator, password="wrong")
    with pytest.raises(StampingError) as caught:
        await pac.stamp(make_cfdi(folio="C6"))
    assert not caught.value.retryable and caught.value.code == PacErrorCode.PAC_CREDENTIALS
    with pytest.raises(StampingError) as checked:
        await pac.check()
    assert checked.value.code == PacErrorCode.PAC_CREDENTIALS
    assert "aceptó las credenciales" in await client(emulator).check()


async def test_a_fecha_outside_72_hours_is_refused_with_the_pacs_code(emulator):
    old = now_mexico_city() - timedelta(hours=73)
    with pytest.raises(StampingError) as caught:
        await client(emulator).stamp(make_cfdi(fecha=old, folio="C7"))
    assert not caught.value.retryable
    assert caught.value.code == PacErrorCode.CFDI_REFUSED and caught.value.pac_code == "401"


async def test_a_broken_seal_is_refused_with_302(emulator):
    xml = make_cfdi(folio="C8").replace(b'Folio="C8"', b'Folio="C9"')
    with pytest.raises(StampingError) as caught:
        await client(emulator).stamp(xml)
    assert caught.value.pac_code == "302" and not caught.value.retryable


async def test_connection_refused_is_retryable(tmp_path):
    server = EmulatorServer("finkok", EmulatorState(tmp_path / "e"))
    url = server.url
    server.stop()  # the port is closed: nobody listens
    with pytest.raises(StampingError) as caught:
        await FinkokPac(USER, PASSWORD, url, 2.0).stamp(make_cfdi(folio="C10"))
    assert caught.value.retryable and caught.value.code == PacErrorCode.PAC_UNAVAILABLE


def _signed(uuid: str) -> bytes:
    folder = CSD / "EKU9003173C9"
    return signed_cancellation(next(folder.glob("*.cer")).read_bytes(), next(folder.glob("*.key")).read_bytes(),
                               KEY_PASSWORD, uuid, "02", None, datetime.now())


async def test_cancellation_needing_acceptance_stays_en_proceso_until_accepted(emulator):
    # sample 02: Total over $1,000 to a receptor that is not PUBLICO EN GENERAL
    stamp = await client(emulator).stamp(make_cfdi(folio="C11"))
    record = emulator.state.status(stamp.uuid)
    assert record.needs_acceptance
    pac = client(emulator)
    result = await pac.cancel(stamp.uuid, "EKU9003173C9", "02", signed_request=_signed(stamp.uuid))
    assert result.code == "201" and result.acuse and stamp.uuid.encode() in result.acuse
    status = await pac.status(stamp.uuid, "EKU9003173C9", rfc_receptor=record.rfc_receptor, total=record.total)
    assert (status.status, status.cancellation_status) == ("Vigente", "En proceso")
    emulator.state.accept(stamp.uuid)
    status = await pac.status(stamp.uuid, "EKU9003173C9", rfc_receptor=record.rfc_receptor, total=record.total)
    assert status.status == "Cancelado"
    again = await pac.cancel(stamp.uuid, "EKU9003173C9", "02", signed_request=_signed(stamp.uuid))
    assert again.code == "202"


async def test_cancelling_an_unknown_uuid_is_205_retryable(emulator):
    uuid = "B107F0AC-6BC3-52CF-A3D7-5E9479414209"
    with pytest.raises(StampingError) as caught:
        await client(emulator).cancel(uuid, "EKU9003173C9", "02", signed_request=_signed(uuid))
    assert caught.value.pac_code == "205" and caught.value.retryable


def test_build_pac_reads_the_settings_names(tmp_path):
    pac = build_pac("finkok", tmp_path, 3.0, username="u", password="p", environment="production")
    assert isinstance(pac, FinkokPac) and pac.base_url == "https://facturacion.finkok.com" and pac.timeout == 3.0
    pac = build_pac("finkok", tmp_path, username="u", password="p")
    assert pac.base_url == "https://demo-facturacion.finkok.com"
    pac = build_pac("sw", tmp_path, token="t", url="http://127.0.0.1:9/")
    assert isinstance(pac, SwPac) and pac.base_url == "http://127.0.0.1:9"
    assert pac.sat_status_url == "http://127.0.0.1:9/ConsultaCFDIService.svc"
    with pytest.raises(ValueError):
        build_pac("finkok", tmp_path)
    with pytest.raises(ValueError):
        build_pac("sw", tmp_path, token="t", environment="staging")


async def test_a_schema_invalid_document_is_refused_with_705(emulator):
    # Comprobante@Exportacion is required by cfdv40.xsd; the PAC validates the schema before
    # the Sello, so the answer is 705 (XML estructura inválida), not 302.
    xml = make_cfdi(folio="C12")
    broken = xml.replace(b' Exportacion="01"', b"")
    assert broken != xml
    with pytest.raises(StampingError) as caught:
        await client(emulator).stamp(broken)
    assert caught.value.pac_code == "705" and caught.value.code == PacErrorCode.CFDI_REFUSED


async def test_the_emulator_checks_the_envelope_and_the_base64(tmp_path):
    import httpx

    from services.stamping import finkok_soap as soap

    with EmulatorServer("finkok", EmulatorState(tmp_path / "e")) as emulator:
        async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as http:
            fault = await http.post("/servicios/soap/stamp.wsdl", content=b"<not-soap/>")
            assert fault.status_code == 500 and b"Fault" in fault.content
            body = soap.stamp_request("stamp", b"x", USER, PASSWORD).replace(b"<op:xml>eA==</op:xml>",
                                                                             b"<op:xml>%%%</op:xml>")
            answer = soap.parse_stamp((await http.post("/servicios/soap/stamp.wsdl", content=body)).content)
            assert [i.code for i in answer.incidences] == ["301"]
        assert emulator.state.stamp_count == 0
