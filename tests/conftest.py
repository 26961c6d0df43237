"""Shared fixtures: one database per engine (SQLite and PostgreSQL), one client per role.

PostgreSQL is the real server at 127.0.0.1:5432 (database `test`). Under CI=true an
unreachable PostgreSQL fails the run instead of skipping.
"""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy

from api.app import build_services, create_app
from api.settings import Settings
from persistence.migrate import upgrade
from tests.helpers import PG_URL, login, make_merchant, truncate


def _pg_reachable() -> str | None:
    import asyncpg

    async def probe():
        conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:  # noqa: BLE001 - the reason is reported
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is required under CI and cannot be reached: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")

    async def reset():
        engine = sqlalchemy.ext.asyncio.create_async_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
        await engine.dispose()

    asyncio.run(reset())
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    truncate(url)
    return url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="http://testserver",
        jwt_secret="test-secret-" + "x" * 40,
        encryption_secret="test-encryption-" + "y" * 40,
        pdf_workers=1,
        challenge_cost=1, challenge_max_number=64,  # the same ALTCHA protocol, solved quickly by the tests
    )


@pytest.fixture
async def services(settings):
    services = build_services(settings, pdf_inline=True)
    yield services
    await services.dispose()


@pytest.fixture
async def app(settings, services):
    return create_app(settings, services)


@dataclass
class Gql:
    """A GraphQL client for one role: anonymous, merchant, ticket or invoice token."""

    http: httpx.AsyncClient
    token: str | None = None

    async def __call__(self, query: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        headers = {}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def as_(self, token: str) -> "Gql":
        return Gql(self.http, token)


@pytest.fixture
async def http(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http) -> Gql:
    return Gql(http)


@pytest.fixture
async def merchant(services, gql):
    row = await make_merchant(services, "tienda@example.com")
    return row, gql.as_(await login(gql, "tienda@example.com"))


@pytest.fixture
async def other_merchant(services, gql):
    row = await make_merchant(services, "otra@example.com", rfc="CACX7605101P8", regime="612", zip_code="06600")
    return row, gql.as_(await login(gql, "otra@example.com"))
