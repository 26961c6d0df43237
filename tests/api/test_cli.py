"""The `autofactura` command as an operator runs it: a real subprocess on a real database."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import CSD_DIR, LOGIN, ME, RECORD, ROOT, SET_ENABLED, sale_input

EKU = CSD_DIR / "EKU9003173C9"


def run(args, env_extra, check=False):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_env(database_url, tmp_path):
    return {"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var"), "ENV": "development"}


def create_args(email="cli@example.com", cer=EKU / "CSD_30001000000500003416.cer", key=EKU / "CSD_30001000000500003416.key",
                key_password="12345678a", regime="601", zip_code="22000"):
    return ["merchant", "create", "--email", email, "--password", "una-contraseña-larga", "--cer", str(cer), "--key", str(key),
            "--key-password", key_password, "--tax-regime", regime, "--zip-code", zip_code]


def test_merchant_create_and_refusals(cli_env, settings):
    ok = run(create_args(), cli_env)
    assert ok.returncode == 0, ok.stderr
    assert "Número de comercio: 1000" in ok.stdout
    number = int(ok.stdout.split("Número de comercio: ")[1].split()[0])

    cases = {
        "EMAIL_TAKEN": create_args(),
        "WRONG_PASSWORD": create_args("a@example.com", key_password="nope"),
        "KEY_MISMATCH": create_args("b@example.com", key=CSD_DIR / "CACX7605101P8" / "CSD_30001000000500003316.key"),
        "EXPIRED": create_args("c@example.com", cer=CSD_DIR / "AAA010101AAA" / "CSD_30001000000300023708.cer",
                               key=CSD_DIR / "AAA010101AAA" / "CSD_30001000000300023708.key"),
        "NOT_A_CSD": create_args("d@example.com", cer=CSD_DIR / "H&E951128469" / "FIEL_30001000000400002460.cer",
                                 key=CSD_DIR / "H&E951128469" / "FIEL_30001000000400002460.key"),
        "TAX_REGIME_PERSON_TYPE": create_args("e@example.com", regime="612"),
        "ZIP_CODE_INVALID": create_args("f@example.com", zip_code="00001"),
    }
    for code, args in cases.items():
        res = run(args, cli_env)
        assert res.returncode != 0, code
        assert code in res.stderr, (code, res.stderr)

    second = run(create_args("g@example.com", cer=CSD_DIR / "CACX7605101P8" / "CSD_30001000000500003316.cer",
                             key=CSD_DIR / "CACX7605101P8" / "CSD_30001000000500003316.key", regime="612"), cli_env)
    assert second.returncode == 0, second.stderr
    # Company numbers are unique and increasing; refused attempts consumed none.
    assert int(second.stdout.split("Número de comercio: ")[1].split()[0]) == number + 1


def test_demo_is_idempotent(cli_env):
    first = run(["demo"], cli_env)
    assert first.returncode == 0, first.stderr
    second = run(["demo"], cli_env)
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    assert "DEMO-0001" in first.stdout and "1160.00" in first.stdout


async def test_cli_merchant_logs_in_and_works(cli_env, gql, settings):
    # The CLI and the API share the database; the CLI generated the development secrets in
    # its VAR_DIR, which do not matter for login (a password check, then a new token).
    res = run(create_args("cli-login@example.com"), cli_env)
    assert res.returncode == 0, res.stderr
    data = await gql(LOGIN, {"email": "cli-login@example.com", "password": "una-contraseña-larga"})
    token = data["data"]["login"]["token"]
    client = gql.as_(token)
    assert (await client(SET_ENABLED, {"enabled": False}))["data"]["setSelfInvoicing"]["enabled"] is False
    assert (await client(RECORD, {"input": sale_input()}))["data"]["recordSale"]["__typename"] == "SaleRecorded"
    assert (await client(ME))["data"]["me"]["rfc"] == "EKU9003173C9"


def test_multiworker_listener_keeps_tcp_nodelay():
    # uvicorn issue #3149: with --workers N the listener had proto 0 and asyncio skipped
    # TCP_NODELAY on accepted sockets (every keep-alive response then waited ~40 ms).
    import socket

    from uvicorn.config import Config

    from api.cli import _keep_tcp_nodelay

    _keep_tcp_nodelay()
    sock = Config(app="api.asgi:app", host="127.0.0.1", port=0).bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        assert accepted.proto == socket.IPPROTO_TCP  # what asyncio checks before TCP_NODELAY
        accepted.close()
        client.close()
    finally:
        sock.close()
