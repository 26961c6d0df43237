"""Exactly-once issuing across two server processes sharing one PostgreSQL."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest

from api.app import build_services
from api.settings import Settings
from services.kernel.security import MERCHANT
from tests.helpers import CUSTOMER, ISSUE, RECORD, ROOT, TICKET, make_merchant, sale_input, truncate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def wait_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"server on {port} did not start")


@pytest.mark.postgres
def test_two_processes_issue_once(pg_url, tmp_path):
    truncate(pg_url)
    env = {"DATABASE_URL": pg_url, "VAR_DIR": str(tmp_path / "var"), "ENV": "development",
           "JWT_SECRET": "m" * 48, "ENCRYPTION_SECRET": "n" * 48, "PDF_WORKERS": "1"}
    settings = Settings(env="development", database_url=pg_url, var_dir=tmp_path / "var",
                        jwt_secret="m" * 48, encryption_secret="n" * 48)

    async def seed():
        services = build_services(settings, pdf_inline=True)
        merchant = await make_merchant(services, "multi@example.com")
        token, _ = services.tokens.issue(MERCHANT, str(merchant.id), timedelta(hours=1))
        await services.dispose()
        return merchant, token

    merchant, merchant_token = asyncio.run(seed())
    ports = [free_port(), free_port()]
    procs = [start_server(env, p) for p in ports]
    try:
        for port, proc in zip(ports, procs):
            wait_up(port, proc)

        async def run():
            async with httpx.AsyncClient(timeout=60) as client:
                async def gql(port, query, variables, token=None):
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    r = await client.post(f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables}, headers=headers)
                    body = r.json()
                    assert body.get("data") is not None, body
                    return body["data"]

                await gql(ports[0], RECORD, {"input": sale_input("MP-1")}, merchant_token)
                ticket = (await gql(ports[1], TICKET, {"companyNumber": merchant.company_number, "reference": "MP-1", "total": "1160.00"}))["ticket"]
                token = ticket["ticketToken"]
                calls = [gql(ports[i % 2], ISSUE, {"input": {"customer": CUSTOMER, "idempotencyKey": "k"}}, token)
                         for i in range(12)]
                return [r["issueInvoice"] for r in await asyncio.gather(*calls)]

        results = asyncio.run(run())
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    kinds = [r["__typename"] for r in results]
    assert set(kinds) <= {"InvoiceIssued", "TicketAlreadyInvoiced"}, results
    uuids = {r["invoice"]["uuid"] for r in results if r["__typename"] == "InvoiceIssued"}
    folios = {r["invoice"]["folio"] for r in results if r["__typename"] == "InvoiceIssued"}
    assert len(uuids) == 1 and folios == {"1"}
    # Every caller retried with the same idempotency key, so every one got the invoice itself.
    assert kinds == ["InvoiceIssued"] * 12
