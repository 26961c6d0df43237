"""In production the server accepts only the manifest's operations (by hash or exact text);
in development it accepts any document."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.persisted import sha256
from api.settings import Settings
from persistence.migrate import upgrade

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"
PORTAL = (CONTRACT / "operations" / "Portal.graphql").read_text(encoding="utf-8")
TAX_REGIMES = (CONTRACT / "operations" / "TaxRegimes.graphql").read_text(encoding="utf-8")
HAND_WRITTEN = "{ taxRegimes { code } }"


def make_settings(env: str, tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    upgrade(url)
    return Settings(
        env=env, database_url=url, var_dir=tmp_path / "var", public_url="http://testserver",
        jwt_secret="contract-jwt-secret-" + "j" * 40, encryption_secret="contract-encryption-" + "e" * 40,
        pdf_workers=1, allow_sandbox_in_production=True,  # issue 11: production refuses the sandbox otherwise
    )


@pytest.fixture(params=["production", "development"])
def settings(request, tmp_path) -> Settings:
    return make_settings(request.param, tmp_path)  # migrates with asyncio.run: outside the test's loop


@pytest.fixture
async def client(settings):
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        http.env = settings.env
        yield http
    await app.state.services.dispose()


async def post(http, **body) -> dict:
    response = await http.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def codes(result: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


async def test_manifest_operation_by_exact_text(client):
    result = await post(client, query=PORTAL, variables={"companyNumber": "999999"})
    assert result == {"data": {"portal": None}}


async def test_manifest_operation_by_hash_only(client):
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256(TAX_REGIMES)}}
    result = await post(client, operationName="TaxRegimes", variables={"personType": "MORAL"}, extensions=ext)
    assert "errors" not in result
    assert "601" in {e["code"] for e in result["data"]["taxRegimes"]}


async def test_unknown_hash_asks_for_the_text(client):
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256(HAND_WRITTEN)}}
    result = await post(client, extensions=ext)
    assert codes(result) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert result["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo clients look for


async def test_hash_must_match_the_text(client):
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256(PORTAL)}}
    result = await post(client, query=HAND_WRITTEN, extensions=ext)
    assert codes(result) == ["PERSISTED_QUERY_HASH_MISMATCH"]


async def test_document_outside_the_manifest(client):
    result = await post(client, query=HAND_WRITTEN)
    if client.env == "production":
        assert result["data"] is None and codes(result) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    else:
        assert "errors" not in result and result["data"]["taxRegimes"]


async def test_a_changed_byte_is_another_document(client):
    # Production matches the exact text: even whitespace makes it a different operation.
    result = await post(client, query=PORTAL.rstrip("\n"), variables={"companyNumber": "999999"})
    if client.env == "production":
        assert codes(result) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    else:
        assert result == {"data": {"portal": None}}


def test_spa_ships_the_manifest_texts():
    manifest = json.loads((CONTRACT / "persisted-operations.json").read_text(encoding="utf-8"))
    spa = (Path(__file__).resolve().parents[2] / "api" / "static" / "operations.js").read_text(encoding="utf-8")
    body = json.loads(spa[spa.index("{"): spa.rindex("}") + 1])
    assert {op["sha256"]: op["document"] for op in body.values()} == manifest
