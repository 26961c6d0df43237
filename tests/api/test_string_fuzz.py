"""Hypothesis puts hostile text (NUL and other control characters, lone surrogates, long
strings, digits int() misreads) into one string argument at a time of the contract's
operations, as each role sends them, on SQLite and PostgreSQL. The server never answers
5xx nor "Error interno"; text the input guard refuses is answered BAD_USER_INPUT naming
the argument, and nothing else is."""
from __future__ import annotations

import asyncio
import copy
import json
from datetime import timedelta

import httpx
from hypothesis import HealthCheck, given, settings as hyp_settings
from hypothesis import strategies as st

from api.app import build_services, create_app
from api.settings import Settings
from schema.input_guard import FILE_FIELDS, MAX_STRING_LENGTH
from services.kernel.security import INVOICE, MERCHANT
from services.kernel.text import string_problem
from tests.helpers import CUSTOMER, make_merchant, operation, sale_input

MASKED = "Error interno"
HOSTILE = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x0b", "\x85", "²", "١", "\u202e", "|", "1", "a"])
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.one_of(HOSTILE, st.characters()), min_size=1, max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["x" * (MAX_STRING_LENGTH + 1), "x" * MAX_STRING_LENGTH, "1" * 26, str(2**63), "0", "-1", "²", ""]),
)

UPDATE_SERIES = "mutation($series: String!) { updateInvoiceSeries(series: $series) { __typename } }"
CASES = [
    # (role, document, variables, where the text goes: variable path, as the guard names it)
    ("anonymous", operation("Portal"), {"companyNumber": "x"}, "companyNumber"),
    ("anonymous", operation("TicketLookup"), {"companyNumber": "@company", "reference": "T-1", "total": "1160.00"},
     "reference"),
    ("anonymous", operation("TicketLookup"), {"companyNumber": "x", "reference": "T-1", "total": "1160.00"},
     "companyNumber"),
    ("anonymous", operation("TicketLookup"), {"companyNumber": "@company", "reference": "T-1", "total": "1160.00",
                                              "challenge": "x"}, "challenge"),
    ("anonymous", operation("TicketLookup"), {"companyNumber": "@company", "reference": "T-1", "total": "x"}, "total"),
    ("anonymous", operation("CfdiUses"), {"taxRegime": "x"}, "taxRegime"),
    ("anonymous", operation("Login"), {"email": "x", "password": "una-contraseña-larga"}, "email"),
    ("merchant", operation("RecordSale"), {"input": sale_input("F-1")}, "input.reference"),
    ("merchant", operation("RecordSale"), {"input": sale_input("F-2")}, "input.lines.0.description"),
    ("merchant", operation("RecordSale"), {"input": sale_input("F-3")}, "input.lines.0.productKey"),
    ("merchant", operation("RecordSale"), {"input": sale_input("F-4", customerEmail="a@example.com")},
     "input.customerEmail"),
    ("merchant", operation("RecordSale"), {"input": sale_input("F-5", soldAt="x")}, "input.soldAt"),
    ("merchant", operation("CancelSale"), {"id": "x"}, "id"),
    ("merchant", operation("SalesPage"), {"first": 2, "after": "x"}, "after"),
    ("merchant", operation("InvoicesPage"), {"first": 2, "after": "x"}, "after"),
    ("merchant", operation("GlobalInvoicesPage"), {"first": 2, "after": "x"}, "after"),
    ("merchant", operation("InvoiceStatus"), {"id": "x"}, "id"),
    ("merchant", UPDATE_SERIES, {"series": "x"}, "series"),
    ("merchant", operation("CreateApiKey"), {"input": {"name": "x", "scopes": ["SALES_READ"]}}, "input.name"),
    ("merchant", operation("RevokeApiKey"), {"id": "x"}, "id"),
    ("merchant", operation("DeleteWebhookEndpoint"), {"id": "x"}, "id"),
    ("merchant", operation("RetryWebhookDelivery"), {"id": "x"}, "id"),
    ("merchant", operation("CancelInvoice"), {"input": {"id": "x", "reason": "02"}}, "input.id"),
    ("merchant", operation("CancelInvoice"), {"input": {"id": "x", "reason": "01", "replacementUuid": "x"}},
     "input.replacementUuid"),
    ("merchant", operation("IssueGlobalInvoice"), {"input": {"periodicity": "x", "months": "01", "year": 2026}},
     "input.periodicity"),
    ("merchant", operation("UpdateBranding"), {"input": {"displayName": "x"}}, "input.displayName"),
    ("merchant", operation("UpdateBranding"), {"input": {"accentColor": "x"}}, "input.accentColor"),
    ("merchant", operation("UpdateGenericConcept"), {"input": {"enabled": True, "description": "x"}},
     "input.description"),
    ("merchant", operation("ReadConstancia"), {"file": "x"}, "file"),
    ("ticket", operation("IssueInvoice"), {"input": {"customer": dict(CUSTOMER)}}, "input.customer.rfc"),
    ("ticket", operation("IssueInvoice"), {"input": {"customer": dict(CUSTOMER, email="a@example.com")}},
     "input.customer.email"),
    ("invoice", operation("ResendInvoice"), {"email": "x"}, "email"),
]


def _put(variables: dict, path: str, text: str) -> dict:
    out = copy.deepcopy(variables)
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[leaf] = text
    return out


def _guard_name(path: str) -> str:
    """input.lines.0.description -> input.lines[0].description (schema/input_guard.py)."""
    name = ""
    for part in path.split("."):
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name


def test_string_arguments_never_fail_internally(database_url, tmp_path):
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", public_url="http://testserver",
                        jwt_secret="s" * 48, encryption_secret="e" * 48, challenge_cost=1, challenge_max_number=64)
    loop = asyncio.new_event_loop()
    services = build_services(settings, pdf_inline=True)
    app = create_app(settings, services)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    async def post(document: str, variables: dict, token: str | None) -> httpx.Response:
        # Encoded here: the JSON escape of a lone surrogate is what a client sends (httpx's
        # own encoder writes UTF-8, which has no lone surrogates).
        body = json.dumps({"query": document, "variables": variables}).encode()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return await client.post("/graphql", content=body, headers=headers)

    async def seed() -> dict[str, str | None]:
        merchant = await make_merchant(services, "fuzz@example.com")
        merchant_token, _ = services.tokens.issue(MERCHANT, str(merchant.id), timedelta(hours=1))
        recorded = await post(operation("RecordSale"), {"input": sale_input("T-1")}, merchant_token)
        assert recorded.json()["data"]["recordSale"]["__typename"] == "SaleRecorded", recorded.text
        found = await post(operation("TicketLookup"), {"companyNumber": merchant.company_number, "reference": "T-1",
                                                       "total": "1160.00"}, None)
        ticket_token = found.json()["data"]["ticket"]["ticketToken"]
        invoice_token, _ = services.tokens.issue(INVOICE, "0" * 32, timedelta(hours=1))  # no such invoice
        return {"anonymous": None, "merchant": merchant_token, "ticket": ticket_token, "invoice": invoice_token,
                "@company": merchant.company_number}

    tokens = loop.run_until_complete(seed())
    checked = 0
    try:
        for role, document, variables, path in CASES:
            variables = {k: (tokens[v] if v == "@company" else v) for k, v in variables.items()}

            @given(text=TEXT)
            @hyp_settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(text):
                response = loop.run_until_complete(post(document, _put(variables, path, text), tokens[role]))
                assert response.status_code < 500, response.text
                assert response.status_code == 200, response.text  # every request here is well formed
                body = response.json()
                errors = body.get("errors") or []
                for error in errors:
                    assert MASKED not in error["message"], (path, text, body)
                leaf = path.rsplit(".", 1)[-1]
                refused = string_problem(text, 1 << 30 if leaf in FILE_FIELDS else MAX_STRING_LENGTH)
                guarded = [e for e in errors if (e.get("extensions") or {}).get("code") == "BAD_USER_INPUT"]
                if refused is not None:
                    assert body.get("data") is None and guarded, (path, text, body)
                    assert guarded[0]["extensions"]["field"] == _guard_name(path)
                    assert guarded[0]["extensions"]["problem"] == refused[0].value
                else:
                    assert not guarded, (path, text, body)

            check()
            checked += 1
    finally:
        async def close():
            await client.aclose()
            await services.dispose()

        loop.run_until_complete(close())
        loop.close()
    assert checked == len(CASES)
