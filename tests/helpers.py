"""Shared by the tests (not a test module): paths to the fixtures, the test database URL,
merchant set-up, and the GraphQL documents and small flows several test modules use."""
from __future__ import annotations

import asyncio
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
