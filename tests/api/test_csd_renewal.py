"""CSD renewal on SQLite and PostgreSQL: Merchant.csd, replaceCsd (same RFC only; the next
invoice carries the new NoCertificado) and the expiry e-mails 30 and 7 days before."""
from __future__ import annotations

import base64
import email
from datetime import UTC, datetime, timedelta

from lxml import etree

from services.merchants.csd import replace_csd
from services.merchants.csd_expiry import enqueue_expiry_notices
from services.outbox.service import deliver_due
from tests.helpers import CSD_DIR, csd_files, issue, lookup, make_merchant, record, renewed_csd

CSD = """query { me { certificateNumber csd { serialNumber validFrom validUntil daysLeft } } }"""
REPLACE = """mutation($input: ReplaceCsdInput!) { replaceCsd(input: $input) {
  __typename
  ... on CsdReplaced { csd { serialNumber validFrom validUntil daysLeft } }
  ... on InvalidMerchantData { errors { field code message } } } }"""
NEW_NUMBER = "30001000000500099991"


def replace_input(cer: bytes, key: bytes, password: str = "12345678a") -> dict:
    return {"input": {"certificate": base64.b64encode(cer).decode(), "privateKey": base64.b64encode(key).decode(),
                      "keyPassword": password}}


async def test_merchant_shows_its_csd(merchant):
    _, client = merchant
    me = (await client(CSD))["data"]["me"]
    csd = me["csd"]
    assert csd["serialNumber"] == me["certificateNumber"] == "30001000000500003416"
    valid_from, valid_until = datetime.fromisoformat(csd["validFrom"]), datetime.fromisoformat(csd["validUntil"])
    assert valid_from < datetime.now(UTC) < valid_until
    assert csd["daysLeft"] == (valid_until - datetime.now(UTC)).days


async def test_replace_csd_refuses_another_rfc_and_bad_files(merchant):
    _, client = merchant
    other = await client(REPLACE, replace_input(*csd_files("CACX7605101P8")))
    errors = other["data"]["replaceCsd"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("certificate", "RFC_MISMATCH")]
    assert "CACX7605101P8" in errors[0]["message"] and "EKU9003173C9" in errors[0]["message"]

    fiel = CSD_DIR / "H&E951128469" / "FIEL_30001000000400002460"
    cases = {
        "NOT_A_CSD": replace_input(fiel.with_suffix(".cer").read_bytes(), fiel.with_suffix(".key").read_bytes()),
        "WRONG_PASSWORD": replace_input(*csd_files("EKU9003173C9"), password="nope"),
        "KEY_MISMATCH": replace_input(csd_files("EKU9003173C9")[0], csd_files("CACX7605101P8")[1]),
    }
    for code, variables in cases.items():
        answer = (await client(REPLACE, variables))["data"]["replaceCsd"]
        assert [e["code"] for e in answer["errors"]] == [code]
    # Nothing was replaced.
    assert (await client(CSD))["data"]["me"]["csd"]["serialNumber"] == "30001000000500003416"


async def test_replace_csd_needs_a_merchant_token(gql):
    answer = await gql(REPLACE, replace_input(*csd_files("EKU9003173C9")))
    assert answer["data"] is None and answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_next_invoice_carries_the_new_certificate(merchant, gql, http):
    row, client = merchant
    now = datetime.now(UTC)
    await record(client, "T-1")
    first = await issue(gql, (await lookup(gql, row, "T-1"))["ticketToken"])
    assert first["__typename"] == "InvoiceIssued", first

    cer, key = renewed_csd("EKU9003173C9", NEW_NUMBER, now - timedelta(days=1), now + timedelta(days=4 * 365))
    replaced = (await client(REPLACE, replace_input(cer, key)))["data"]["replaceCsd"]
    assert replaced["__typename"] == "CsdReplaced", replaced
    assert replaced["csd"]["serialNumber"] == NEW_NUMBER and replaced["csd"]["daysLeft"] in (4 * 365 - 1, 4 * 365)
    assert (await client(CSD))["data"]["me"]["csd"]["serialNumber"] == NEW_NUMBER

    await record(client, "T-2")
    second = await issue(gql, (await lookup(gql, row, "T-2"))["ticketToken"])
    assert second["__typename"] == "InvoiceIssued", second
    numbers = []
    for res in (first, second):
        xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
        root = etree.fromstring(xml)
        numbers.append(root.get("NoCertificado"))
        assert base64.b64decode(root.get("Certificado")) in (csd_files("EKU9003173C9")[0], cer)
    assert numbers == ["30001000000500003416", NEW_NUMBER]


def sent_mails(settings) -> list[email.message.EmailMessage]:
    folder = settings.var_dir / "outbox"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


async def test_expiry_notices_30_and_7_days_before_once_each(services, settings):
    now = datetime.now(UTC)
    valid_to = now + timedelta(days=40)
    merchant = await make_merchant(services, "vence@example.com")
    cer, key = renewed_csd("EKU9003173C9", NEW_NUMBER, now - timedelta(days=1), valid_to)
    await replace_csd(services.uow_factory, services.box, merchant.id, certificate_der=cer, key_der=key, key_password="12345678a")

    assert await enqueue_expiry_notices(services, now) == 0  # 40 days left
    at_30 = valid_to - timedelta(days=29, hours=12)
    assert await enqueue_expiry_notices(services, at_30) == 1
    assert await enqueue_expiry_notices(services, at_30 + timedelta(days=1)) == 0  # once per certificate
    at_7 = valid_to - timedelta(days=6, hours=12)
    assert await enqueue_expiry_notices(services, at_7) == 1
    assert await enqueue_expiry_notices(services, at_7) == 0
    assert await enqueue_expiry_notices(services, valid_to + timedelta(hours=1)) == 0  # expired: nothing more

    assert await deliver_due(services) == 2
    mails = sent_mails(settings)
    assert [m["To"] for m in mails] == ["vence@example.com"] * 2
    assert sorted(m["Subject"] for m in mails) == sorted([
        "Tu Certificado de Sello Digital vence en 29 días", "Tu Certificado de Sello Digital vence en 6 días"])
    body = mails[0].get_body(("plain",)).get_content()
    assert NEW_NUMBER in body and "EKU9003173C9" in body and f"{valid_to:%d/%m/%Y}" in body


async def test_a_late_first_sweep_sends_only_the_7_day_notice(services, settings):
    now = datetime.now(UTC)
    merchant = await make_merchant(services, "tarde@example.com")
    cer, key = renewed_csd("EKU9003173C9", NEW_NUMBER, now - timedelta(days=1), now + timedelta(days=5))
    await replace_csd(services.uow_factory, services.box, merchant.id, certificate_der=cer, key_der=key, key_password="12345678a")
    assert await enqueue_expiry_notices(services, now) == 1
    assert await enqueue_expiry_notices(services, now + timedelta(days=1)) == 0
    assert await deliver_due(services) == 1
    assert [m["Subject"] for m in sent_mails(settings)] == ["Tu Certificado de Sello Digital vence en 4 días"]


async def test_the_sweep_reads_every_page(services):
    now = datetime.now(UTC)
    for i in range(5):
        merchant = await make_merchant(services, f"m{i}@example.com")
        cer, key = renewed_csd("EKU9003173C9", f"3000100000050009000{i}", now - timedelta(days=1), now + timedelta(days=20 + i))
        await replace_csd(services.uow_factory, services.box, merchant.id, certificate_der=cer, key_der=key, key_password="12345678a")
    assert await enqueue_expiry_notices(services, now, page_size=2) == 5
    assert await enqueue_expiry_notices(services, now, page_size=2) == 0
