"""GraphQL guards: depth, tokens, masking, introspection and GraphiQL by environment."""
from __future__ import annotations

import httpx
import pytest

from api.app import build_services, create_app
from api.settings import Settings


@pytest.fixture
def sqlite_only(sqlite_url):
    return sqlite_url


async def _client(settings):
    services = build_services(settings, pdf_inline=True)
    app = create_app(settings, services)
    return services, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _settings(url, tmp_path, env):
    return Settings(env=env, database_url=url, var_dir=tmp_path / "var", public_url="http://testserver",
                    jwt_secret="j" * 48, encryption_secret="k" * 48,
                    allow_sandbox_in_production=True)  # issue 11: production refuses the sandbox otherwise


async def test_depth_and_token_limits(gql):
    # The contract's deepest path is 5 levels; a schema built with a lower limit proves the guard.
    from schema.app_schema import build_schema

    shallow = build_schema(max_depth=3)
    res = await shallow.execute("{ sales { edges { node { invoice { id } } } } }")
    assert "exceeds maximum operation depth" in res.errors[0].message
    huge = "{ " + " ".join(["__typename"] * 2100) + " }"
    res = await gql(huge)
    assert "token" in res["errors"][0]["message"].lower()


async def test_bad_scalars_are_validation_errors(gql):
    res = await gql('query { ticket(companyNumber: "1", reference: "x", total: "abc") { __typename } }')
    assert "abc" in res["errors"][0]["message"] and "Error interno" not in res["errors"][0]["message"]
    res = await gql('mutation($i: RecordSaleInput!) { recordSale(input: $i) { __typename } }',
                    {"i": {"reference": "x", "paymentForm": "01", "lines": [], "soldAt": "2026-11-29T10:00:00"}})
    assert "UTC offset" in res["errors"][0]["message"]


async def test_production_has_no_introspection_nor_graphiql(sqlite_only, tmp_path):
    services, client = await _client(_settings(sqlite_only, tmp_path, "production"))
    async with client:
        res = (await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})).json()
        assert res["errors"]  # refused: not a published operation (and introspection is off, below)
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
    await services.dispose()


async def test_development_serves_graphiql(sqlite_only, tmp_path):
    services, client = await _client(_settings(sqlite_only, tmp_path, "development"))
    async with client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    await services.dispose()


async def test_production_schema_disables_introspection():
    from schema.app_schema import build_schema

    res = await build_schema(production=True).execute("{ __schema { types { name } } }")
    assert "introspection" in res.errors[0].message.lower()
    ok = await build_schema(production=False).execute("{ __schema { queryType { name } } }")
    assert ok.errors is None


def test_production_refuses_default_secrets(tmp_path):
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(env="production", var_dir=tmp_path)


async def test_health(http):
    assert (await http.get("/health")).json() == {"status": "ok"}


async def test_validation_is_cached_across_requests():
    # The limits' rules are built once, so a repeated document hits the validation cache
    # (keyed by the parsed document's identity: ParserCache returns the same object).
    from schema.app_schema import build_schema
    from schema.document_cache import _VALIDATED as cache

    schema = build_schema()
    query = '{ taxRegimes(personType: MORAL) { code } a: paymentForms { code } }'
    assert (await schema.execute(query)).errors is None
    hits, misses = cache.hits, cache.misses
    for _ in range(3):
        assert (await schema.execute(query)).errors is None
    assert (cache.hits - hits, cache.misses - misses) == (3, 0)
    # Another schema (its own rules) validates the same text for itself.
    assert (await build_schema(max_depth=3).execute(query)).errors is None
    assert cache.misses - misses == 1
    deep = await build_schema(max_depth=1).execute("{ sales { edges { node { id } } } }")
    assert "depth" in deep.errors[0].message


def test_identity_memo_tells_equal_documents_apart_and_stays_bounded():
    from graphql import parse

    from schema.document_cache import IdentityMemo

    memo: IdentityMemo[str] = IdentityMemo(maxsize=2)
    a, b = parse("{ __typename }"), parse("{ __typename }")  # equal, not the same object
    assert memo.get((a,), None, lambda: "a") == "a"
    assert memo.get((b,), None, lambda: "b") == "b"
    assert memo.get((a,), None, lambda: "again") == "a"
    assert memo.get((a,), "other rules", lambda: "a2") == "a2"  # the extra part of the key counts
    assert len(memo._entries) == 2  # b, the least recently used, was evicted
    assert memo.get((b,), None, lambda: "b2") == "b2"


async def test_oversized_body_is_refused(http):
    huge = b'{"query": "' + b" " * (1 << 20) + b'{ __typename }"}'
    res = await http.post("/graphql", content=huge, headers={"content-type": "application/json"})
    assert res.status_code == 413
    ok = await http.post("/graphql", json={"query": "{ __typename }"})
    assert ok.status_code == 200


async def test_cors_only_for_configured_origins(sqlite_only, tmp_path):
    settings = _settings(sqlite_only, tmp_path, "development")
    settings.cors_origins = ["https://facturas.mitienda.mx"]
    services, client = await _client(settings)
    async with client:
        pre = await client.options("/graphql", headers={
            "origin": "https://facturas.mitienda.mx", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://facturas.mitienda.mx"
        other = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    await services.dispose()
