"""registerMerchant over GraphQL, on SQLite and PostgreSQL: it refuses what
`autofactura merchant create` refuses (register_merchant), with the same codes and Spanish
messages; it is off when ALLOW_SIGNUP is; it is throttled per client address."""
from __future__ import annotations

import base64

from api.settings import Settings
from services.kernel.results import Invalid
from services.merchants.service import MerchantRegistration, register_merchant
from tests.helpers import CSD_DIR, ME, make_merchant

REGISTER = """mutation($input: RegisterMerchantInput!) { registerMerchant(input: $input) {
  __typename
  ... on MerchantRegistered { token merchant { rfc legalName companyNumber certificateNumber } }
  ... on InvalidMerchantData { errors { field code message } }
  ... on SignupThrottled { message retryAfterSeconds } } }"""

EKU = CSD_DIR / "EKU9003173C9" / "CSD_30001000000500003416"
CACX = CSD_DIR / "CACX7605101P8" / "CSD_30001000000500003316"
HE_CSD = CSD_DIR / "H&E951128469" / "CSD_30001000000400002463"
HE_FIEL = CSD_DIR / "H&E951128469" / "FIEL_30001000000400002460"


def files(cer_stem, key_stem=None):
    return cer_stem.with_suffix(".cer").read_bytes(), (key_stem or cer_stem).with_suffix(".key").read_bytes()


def registration(email, cer_key=None, *, key_password="12345678a", regime="601", zip_code="22000", password="una-contraseña-larga"):
    cer, key = cer_key or files(EKU)
    return MerchantRegistration(email=email, password=password, certificate_der=cer, key_der=key,
                                key_password=key_password, tax_regime=regime, zip_code=zip_code)


def as_input(reg: MerchantRegistration) -> dict:
    return {"email": reg.email, "password": reg.password, "certificate": base64.b64encode(reg.certificate_der).decode(),
            "privateKey": base64.b64encode(reg.key_der).decode(), "keyPassword": reg.key_password,
            "taxRegime": reg.tax_regime, "zipCode": reg.zip_code}


REFUSALS = {
    "WRONG_PASSWORD": registration("a@example.com", key_password="nope"),
    "NOT_A_CSD": registration("b@example.com", files(HE_FIEL)),
    "KEY_MISMATCH": registration("c@example.com", files(EKU, CACX)),
    "EXPIRED": registration("d@example.com", files(HE_CSD)),
    "TAX_REGIME_PERSON_TYPE": registration("e@example.com", regime="612"),  # EKU is a persona moral
    "ZIP_CODE_INVALID": registration("f@example.com", zip_code="00001"),
    "PASSWORD_TOO_SHORT": registration("g@example.com", password="corta"),
    "EMAIL_INVALID": registration("no-es-correo"),
}


async def test_register_merchant_refuses_what_merchant_create_refuses(gql, services):
    for code, reg in REFUSALS.items():
        answer = (await gql(REGISTER, {"input": as_input(reg)}))["data"]["registerMerchant"]
        cli = await register_merchant(services.uow_factory, services.box, reg)  # what `merchant create` runs
        assert isinstance(cli, Invalid), code
        assert answer["__typename"] == "InvalidMerchantData", (code, answer)
        assert [(e["field"], e["code"], e["message"]) for e in answer["errors"]] == [
            (p.field, str(p.code), p.message) for p in cli.problems], code
        assert code in {e["code"] for e in answer["errors"]}


async def test_register_merchant_then_duplicate_email(gql):
    first = (await gql(REGISTER, {"input": as_input(registration("nueva@example.com"))}))["data"]["registerMerchant"]
    assert first["__typename"] == "MerchantRegistered", first
    assert first["merchant"]["rfc"] == "EKU9003173C9" and first["merchant"]["certificateNumber"] == "30001000000500003416"
    me = (await gql(ME, token=first["token"]))["data"]["me"]
    assert me["companyNumber"] == first["merchant"]["companyNumber"]

    again = (await gql(REGISTER, {"input": as_input(registration("NUEVA@example.com", files(CACX), regime="612"))}))
    errors = again["data"]["registerMerchant"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("email", "EMAIL_TAKEN")]
    assert errors[0]["message"] == "Ya existe un comercio registrado con ese correo."


async def test_duplicate_email_against_a_cli_merchant(gql, services):
    await make_merchant(services, "tienda@example.com")
    answer = (await gql(REGISTER, {"input": as_input(registration("tienda@example.com"))}))["data"]["registerMerchant"]
    assert [e["code"] for e in answer["errors"]] == ["EMAIL_TAKEN"]


async def test_files_must_be_base64(gql):
    data = as_input(registration("h@example.com"))
    data["certificate"], data["privateKey"] = "no es base64 ¿?", ""
    errors = (await gql(REGISTER, {"input": data}))["data"]["registerMerchant"]["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {("certificate", "NOT_BASE64"), ("privateKey", "NOT_BASE64")}


async def test_signups_are_throttled_per_client_address(gql):
    junk = registration("x@example.com", (b"not a certificate", b"not a key"))
    answers = []
    for _ in range(100):
        answer = (await gql(REGISTER, {"input": as_input(junk)}))["data"]["registerMerchant"]
        answers.append(answer["__typename"])
        if answer["__typename"] == "SignupThrottled":
            assert answer["retryAfterSeconds"] > 0 and "Intenta de nuevo" in answer["message"]
            break
    assert answers[0] == "InvalidMerchantData" and answers[-1] == "SignupThrottled"
    from services.kernel.throttle import Limits

    assert answers.count("InvalidMerchantData") == Limits().per_signup_client  # exactly the limit got through
    # A valid registration from the same address is refused too while the window lasts.
    valid = (await gql(REGISTER, {"input": as_input(registration("valida@example.com"))}))["data"]["registerMerchant"]
    assert valid["__typename"] == "SignupThrottled"


async def test_signup_can_be_turned_off(gql, services):
    services.allow_signup = False  # what ALLOW_SIGNUP=false (the production default) builds
    answer = await gql(REGISTER, {"input": as_input(registration("off@example.com"))})
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "no está habilitado" in answer["errors"][0]["message"]


def test_signup_defaults_off_in_production_on_in_development(tmp_path):
    # Production refuses the sandbox PAC unless told (issue 11): this test is about signup only.
    secrets = {"jwt_secret": "j" * 40, "encryption_secret": "e" * 40, "var_dir": tmp_path,
               "allow_sandbox_in_production": True}
    assert Settings(env="production", **secrets).signup_allowed is False
    assert Settings(env="development", **secrets).signup_allowed is True
    assert Settings(env="production", allow_signup=True, **secrets).signup_allowed is True
