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


LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on LoginSucceeded { token expiresAt } ... on InvalidCredentials { message } } }"""


async def login(gql, email: str) -> str:
    data = await gql(LOGIN, {"e": email, "p": PASSWORD})
    return data["data"]["login"]["token"]


# Merchant operations.
ME = "{ me { companyNumber rfc legalName taxRegime zipCode selfInvoicing { enabled monthEndLimit deadlineDays genericConcept { enabled productKey unitKey description } } } }"
SET_ENABLED = "mutation($e: Boolean!) { setSelfInvoicing(enabled: $e) { enabled } }"
UPDATE_SETTINGS = """mutation($i: SelfInvoicingSettingsInput!) { updateSelfInvoicingSettings(input: $i) {
  __typename ... on SelfInvoicingSettings { monthEndLimit deadlineDays } ... on InvalidSettings { errors { field code message } } } }"""
UPDATE_GENERIC = """mutation($i: GenericConceptInput!) { updateGenericConcept(input: $i) {
  __typename ... on GenericConcept { enabled productKey unitKey description } ... on InvalidSettings { errors { field code message } } } }"""
RECORD = """mutation($i: RecordSaleInput!) { recordSale(input: $i) {
  __typename
  ... on SaleRecorded { created sale { id reference total status soldAt invoicingData { companyNumber reference total portalUrl } } }
  ... on InvalidSale { errors { field code message } } } }"""


def sale_input(reference="T-1", **over):
    base = {
        "reference": reference,
        "paymentForm": "01",
        "lines": [{"productKey": "01010101", "unitKey": "H87", "description": "Producto", "quantity": "2", "unitPrice": "580.00"}],
    }
    base.update(over)
    return base


# The customer's flow.
TICKET = """query($c: String!, $r: String!, $t: Decimal!) { ticket(companyNumber: $c, reference: $r, total: $t) {
  __typename
  ... on InvoiceableTicket { reference total soldAt deadline ticketToken concepts { description quantity amount } }
  ... on TicketAlreadyInvoiced { invoicedAt maskedRfc message }
  ... on TicketNotInvoiceable { reason cutoff: deadline message }
  ... on TicketNotFound { message retryAfterSeconds } } }"""
ISSUE = """mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) {
  __typename
  ... on InvoiceIssued { accessToken invoice { id uuid series folio status total customerRfc customerName xmlUrl pdfUrl issuedAt } }
  ... on InvalidCustomerData { errors { field code message } }
  ... on TicketAlreadyInvoiced { maskedRfc message }
  ... on TicketNotInvoiceable { reason message }
  ... on StampingFailed { message retryable } } }"""
INVOICE = "query($id: ID!) { invoice(id: $id) { id uuid status folio xmlUrl pdfUrl } }"

CUSTOMER = {"rfc": "CACX7605101P8", "legalName": "xochilt casas chavez", "zipCode": "36257", "taxRegime": "612", "cfdiUse": "G03"}


async def record(client, reference="T-1", **over):
    res = (await client(RECORD, {"i": sale_input(reference, **over)}))["data"]["recordSale"]
    assert res["__typename"] == "SaleRecorded", res
    return res["sale"]


async def lookup(gql, merchant_row, reference="T-1", total="1160.00"):
    return (await gql(TICKET, {"c": merchant_row.company_number, "r": reference, "t": total}))["data"]["ticket"]


async def issue(gql, token, customer=CUSTOMER, key=None):
    return (await gql(ISSUE, {"i": {"customer": customer, "idempotencyKey": key}}, token=token))["data"]["issueInvoice"]
