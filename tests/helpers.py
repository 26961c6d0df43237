"""Shared by the tests (not a test module): paths to the fixtures, the test database URL,
merchant set-up, and the GraphQL documents and small flows several test modules use."""
from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import sqlalchemy
import sqlalchemy.ext.asyncio

from persistence.tables import metadata
from services.merchants.service import MerchantRegistration, register_merchant

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_SAT = ROOT / "tests" / "fixtures" / "sat"
CSD_DIR = FIXTURES_SAT / "csd"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PASSWORD = "merchant-password-1"
OPERATIONS = ROOT / "frontend-contract" / "operations"


def operation(name: str) -> str:
    """The GraphQL document frontend-contract/operations/<name>.graphql, as the SPA sends it."""
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


def truncate(url: str) -> None:
    async def run():
        engine = sqlalchemy.ext.asyncio.create_async_engine(url)
        async with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
        await engine.dispose()

    asyncio.run(run())


def csd_files(rfc: str) -> tuple[bytes, bytes]:
    folder = CSD_DIR / rfc
    cer = next(folder.glob("CSD_*.cer"))
    return cer.read_bytes(), cer.with_suffix(".key").read_bytes()


async def make_merchant(services, email: str, rfc: str = "EKU9003173C9", regime: str = "601", zip_code: str = "22000"):
    cer, key = csd_files(rfc)
    return await register_merchant(services.uow_factory, services.box, MerchantRegistration(
        email=email, password=PASSWORD, certificate_der=cer, key_der=key, key_password="12345678a",
        tax_regime=regime, zip_code=zip_code,
    ))


LOGIN = operation("Login")  # $email, $password


async def login(gql, email: str) -> str:
    data = await gql(LOGIN, {"email": email, "password": PASSWORD})
    return data["data"]["login"]["token"]


# Merchant operations.
ME = operation("Me")
SET_ENABLED = operation("SetSelfInvoicing")  # $enabled
# Not the contract's UpdateSelfInvoicingSettings: a test compares the whole answer, without `enabled`.
UPDATE_SETTINGS = """mutation($i: SelfInvoicingSettingsInput!) { updateSelfInvoicingSettings(input: $i) {
  __typename ... on SelfInvoicingSettings { monthEndLimit deadlineDays } ... on InvalidSettings { errors { field code message } } } }"""
UPDATE_GENERIC = operation("UpdateGenericConcept")  # $input
RECORD = operation("RecordSale")  # $input


def sale_input(reference="T-1", **over):
    base = {
        "reference": reference,
        "paymentForm": "01",
        "lines": [{"productKey": "01010101", "unitKey": "H87", "description": "Producto", "quantity": "2", "unitPrice": "580.00"}],
    }
    base.update(over)
    return base


# The customer's flow.
TICKET = operation("TicketLookup")  # $companyNumber, $reference, $total
ISSUE = operation("IssueInvoice")  # $input
INVOICE = operation("InvoiceStatus")  # $id

CUSTOMER = {"rfc": "CACX7605101P8", "legalName": "xochilt casas chavez", "zipCode": "36257", "taxRegime": "612", "cfdiUse": "G03"}


async def record(client, reference="T-1", **over):
    res = (await client(RECORD, {"input": sale_input(reference, **over)}))["data"]["recordSale"]
    assert res["__typename"] == "SaleRecorded", res
    return res["sale"]


async def lookup(gql, merchant_row, reference="T-1", total="1160.00"):
    return (await gql(TICKET, {"companyNumber": merchant_row.company_number, "reference": reference, "total": total}))["data"]["ticket"]


async def issue(gql, token, customer=CUSTOMER, key=None):
    return (await gql(ISSUE, {"input": {"customer": customer, "idempotencyKey": key}}, token=token))["data"]["issueInvoice"]


def solve(challenge_json: str) -> str:
    """What the portal's solver does with a TicketChallenge or LoginChallenge: find the
    counter, send challenge and solution back (base64 JSON, the ALTCHA payload)."""
    import json

    import altcha

    challenge = altcha.Challenge.from_dict(json.loads(challenge_json))
    solution = altcha.solve_challenge(challenge, timeout=60)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()
def renewed_csd(rfc: str, number: str, valid_from, valid_to, password: bytes = b"12345678a") -> tuple[bytes, bytes]:
    """A CSD as SAT would issue it on renewal: the subject of the taxpayer's current test
    certificate (tests/fixtures/sat/csd/<rfc>), a new RSA key, NoCertificado `number` (20
    digits, the serial's bytes are their ASCII) and the given validity. Signed by itself:
    neither the engine nor the sandbox PAC checks SAT's chain (services/cfdi/csd.py)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    current = x509.load_der_x509_certificate(csd_files(rfc)[0])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(current.subject)
        .issuer_name(current.issuer)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(number.encode("ascii"), "big"))
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(password))
    return cert.public_bytes(serialization.Encoding.DER), key_der


EMULATOR_USER, EMULATOR_PASSWORD = "demo@example.com", "demo-password"  # the emulator's demo account


@contextlib.contextmanager
def emulated_pac(directory: Path, kind: str = "finkok"):
    """A local emulator of a PAC's protocol (Finkok SOAP or SW REST) over real HTTP on port 0."""
    from services.stamping.emulator import EmulatorServer, EmulatorState

    state = EmulatorState(directory)
    state.warm()
    with EmulatorServer(kind, state) as server:
        yield server


def pac_settings(database_url: str, tmp_path: Path, emulator, kind: str = "finkok", timeout: float = 3.0, **over):
    """Settings of a server stamping through `emulator` (PAC_URL), with its demo credentials."""
    from api.settings import Settings

    base = dict(env="test", database_url=database_url, var_dir=tmp_path / "var", public_url="http://testserver",
                jwt_secret="test-secret-" + "x" * 40, encryption_secret="test-encryption-" + "y" * 40,
                pdf_workers=1, pac=kind, pac_url=emulator.url, pac_username=EMULATOR_USER,
                pac_password=EMULATOR_PASSWORD, pac_timeout_seconds=timeout)
    return Settings(**{**base, **over})
