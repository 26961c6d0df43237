"""Schemathesis generates queries and mutations from the schema, anonymous and with a
merchant token: the server never answers 5xx, nor a masked internal error (a bug)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import schemathesis
from hypothesis import HealthCheck, given, settings as hyp_settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from api.app import build_services, create_app
from api.settings import Settings
from services.kernel.security import MERCHANT
from tests.helpers import make_merchant

MASKED = "Error interno"
# A generated endpoint URL would have the server POST webhooks to whatever host the
# fuzzer wrote: tests send traffic only to this machine. tests/api/test_webhooks.py covers
# createWebhookEndpoint's validation (and check_url's) instead.
NOT_FUZZED = {"Mutation.createWebhookEndpoint"}

# Our scalars: valid and invalid literals alike, so coercion errors are exercised too.
schemathesis.graphql.scalar("Decimal", st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False).map(lambda d: nodes.String(str(d))),
    st.integers(-10**6, 10**6).map(nodes.Int),
    st.text(max_size=12).map(nodes.String),
))
schemathesis.graphql.scalar("DateTime", st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: nodes.String(d.isoformat())),
    st.text(max_size=25).map(nodes.String),
    # Overflow when converted to UTC ("Error interno" before the DateTime range).
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]).map(nodes.String),
))
# Strings and ids as a hostile client writes them, besides ordinary text: NUL and other
# control characters (PostgreSQL refused NUL with "Error interno"), lone surrogates,
# over-long values, digits int() reads or overflows on ("²", 26 digits).
HOSTILE = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x0b", "²", "١", "\u202e", "|", "1"])
TRICKY_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.one_of(HOSTILE, st.characters(codec="utf-8")), min_size=1, max_size=30),
    st.sampled_from(["x" * 10_001, "1" * 26, str(2**63), "0", "-1", "²"]),
)
schemathesis.graphql.scalar("String", TRICKY_TEXT.map(nodes.String))
schemathesis.graphql.scalar("ID", st.one_of(st.integers(-10, 2**64).map(str), TRICKY_TEXT).map(nodes.String))


def _check_all(app, headers):
    schema = schemathesis.graphql.from_asgi("/graphql", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in NOT_FUZZED:
            continue

        @given(case=operation.as_strategy())
        @hyp_settings(max_examples=12, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, response.text
            body = response.json()
            for error in body.get("errors") or []:
                assert MASKED not in error["message"], (case.body, body)

        check()
        checked += 1
    assert checked >= 12  # every root field of the contract was exercised


def test_no_server_errors(database_url, tmp_path):
    settings = Settings(env="test", database_url=database_url, var_dir=tmp_path / "var", public_url="http://testserver",
                        jwt_secret="s" * 48, encryption_secret="e" * 48)

    async def seed():
        services = build_services(settings, pdf_inline=True)
        merchant = await make_merchant(services, "fuzz@example.com")
        await services.dispose()
        return merchant

    merchant = asyncio.run(seed())
    services = build_services(settings, pdf_inline=True)
    app = create_app(settings, services)
    token, _ = services.tokens.issue(MERCHANT, str(merchant.id), timedelta(hours=1))
    _check_all(app, {})
    _check_all(app, {"Authorization": f"Bearer {token}"})
