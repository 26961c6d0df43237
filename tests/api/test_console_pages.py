"""The console's page and GraphiQL's, as HTTP answers: where they are served, their CSP, and
GraphiQL's assets coming from this package (vendored from npm with their licences), never a CDN."""
from __future__ import annotations

import json
import re

import httpx
import pytest

from api.app import STATIC, build_services, create_app
from api.settings import Settings

VENDOR = STATIC / "vendor" / "graphiql"


@pytest.fixture
def sqlite_only(sqlite_url):
    return sqlite_url


async def _client(url, tmp_path, env):
    settings = Settings(env=env, database_url=url, var_dir=tmp_path / "var", public_url="http://testserver",
                        jwt_secret="j" * 48, encryption_secret="k" * 48, allow_sandbox_in_production=True)
    services = build_services(settings, pdf_inline=True)
    return services, httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, services)),
                                       base_url="http://testserver")


async def test_console_page_and_the_addresses_that_lead_there(sqlite_only, tmp_path):
    services, client = await _client(sqlite_only, tmp_path, "production")
    async with client:
        page = await client.get("/panel/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
        assert 'type="email"' in page.text and 'type="password"' in page.text
        for path in ("/panel", "/admin", "/login"):
            moved = await client.get(path)
            assert moved.status_code == 307 and moved.headers["location"] == "/panel/"
        script = await client.get("/static/panel.js")
        assert script.status_code == 200 and "operations.js" in script.text
        assert (await client.get("/panel/otra-cosa")).status_code == 404
    await services.dispose()


async def test_graphiql_is_served_from_the_package(sqlite_only, tmp_path):
    services, client = await _client(sqlite_only, tmp_path, "development")
    async with client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/static/") or s.startswith("data:") for s in sources), sources
        for source in sources:
            if source.startswith("/static/"):
                assert (await client.get(source)).status_code == 200, source
    await services.dispose()


def test_vendored_graphiql_names_its_versions_and_licences():
    pinned = json.loads((VENDOR / "versions.json").read_text(encoding="utf-8"))["packages"]
    assert {name: p["version"] for name, p in pinned.items()} == {"graphiql": "3.8.3", "react": "18.2.0", "react-dom": "18.2.0"}
    for package in pinned.values():
        for vendored in package["files"].values():
            assert (VENDOR / vendored).is_file(), vendored
    for licence in ("LICENSE-graphiql.txt", "LICENSE-react.txt", "LICENSE-react-dom.txt"):
        assert (VENDOR / licence).read_text(encoding="utf-8").startswith("MIT License")


def test_console_sends_only_published_operations():
    """Every gql("Name") in panel.js is a document of frontend-contract/operations, so the
    page works where only the persisted-operations manifest is accepted (ENV=production)."""
    published = {p.stem for p in (STATIC.parent.parent / "frontend-contract" / "operations").glob("*.graphql")}
    used = set(re.findall(r'gql\(\s*"(\w+)"', (STATIC / "panel.js").read_text(encoding="utf-8")))
    used |= set(re.findall(r'"(\w+Keys)", "\w+Keys"', (STATIC / "panel.js").read_text(encoding="utf-8")))  # catalogueSearch
    assert {"ConsoleOverview", "CancelInvoice", "ProductKeys", "UnitKeys"} <= used
    assert used <= published, used - published
