"""X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (empty by default): before,
uvicorn trusted it from 127.0.0.1, so the clients of a local proxy all shared one
address's throttle bucket, and a client on the same host chose its own address.

The client address is observed through the registerMerchant throttle (10 attempts per
address per window, README "Limits"), on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import base64

import httpx
import uvicorn

from api.app import create_app
from api.cli import UVICORN_OPTIONS
from services.kernel.throttle import Limits

SIGNUP = """mutation($input: RegisterMerchantInput!) { registerMerchant(input: $input) { __typename } }"""
JUNK = {"email": "x@example.com", "password": "una-contraseña-larga", "keyPassword": "12345678a",
        "certificate": base64.b64encode(b"not a certificate").decode(),
        "privateKey": base64.b64encode(b"not a key").decode(), "taxRegime": "601", "zipCode": "22000"}


async def _signup(client: httpx.AsyncClient, forwarded_for: str) -> str:
    response = await client.post("/graphql", json={"query": SIGNUP, "variables": {"input": JUNK}},
                                 headers={"X-Forwarded-For": forwarded_for})
    assert response.status_code == 200, response.text
    return response.json()["data"]["registerMerchant"]["__typename"]


async def _spend_one_address_limit(client: httpx.AsyncClient) -> list[str]:
    """The limit's worth of attempts, each claiming another address, then one more."""
    limit = Limits().per_signup_client
    return [await _signup(client, f"203.0.113.{i}") for i in range(1, limit + 2)]


async def test_forwarded_for_is_ignored_by_default(http):
    answers = await _spend_one_address_limit(http)
    # Every attempt counted against the connecting address (127.0.0.1), not the header's.
    assert answers[:-1] == ["InvalidMerchantData"] * (len(answers) - 1) and answers[-1] == "SignupThrottled"


async def test_forwarded_for_is_honoured_from_a_listed_proxy(settings, services):
    app = create_app(settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"}), services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answers = await _spend_one_address_limit(client)
        assert set(answers) == {"InvalidMerchantData"}  # each address has its own bucket
        limit = Limits().per_signup_client
        same = [await _signup(client, "198.51.100.7") for _ in range(limit + 1)]
        assert same[-1] == "SignupThrottled"
    # A peer not in the list is not believed: every attempt counts against its own address.
    other = create_app(settings.model_copy(update={"forwarded_allow_ips": "10.0.0.1, 192.168.0.0/16"}), services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://testserver") as client:
        assert (await _spend_one_address_limit(client))[-1] == "SignupThrottled"


async def test_autofactura_serve_does_not_trust_localhost(app):
    # The options `autofactura serve` gives uvicorn, on a real socket from 127.0.0.1.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                           **UVICORN_OPTIONS))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = await _spend_one_address_limit(client)
    finally:
        server.should_exit = True
        await task
    assert answers[-1] == "SignupThrottled", answers
