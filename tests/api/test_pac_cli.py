"""`autofactura pac check` and `autofactura pac emulate` as an operator runs them (real
subprocesses), and the PAC settings (issue 11's names)."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from pydantic import ValidationError

from api.settings import Settings
from services.stamping.emulator import EmulatorServer, EmulatorState
from tests.helpers import ROOT


def run(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAC")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(params=["finkok", "sw"])
def emulator(request, tmp_path):
    with EmulatorServer(request.param, EmulatorState(tmp_path / "emulator")) as server:
        yield server


def test_pac_check_prints_the_answer_and_exits_0_with_working_credentials(emulator, tmp_path):
    env = {"ENV": "development", "VAR_DIR": str(tmp_path / "var"), "PAC": emulator.kind, "PAC_URL": emulator.url,
           "PAC_USERNAME": "demo@example.com", "PAC_PASSWORD": "demo-password", "PAC_TIMEOUT_SECONDS": "10"}
    ok = run(["pac", "check"], env)
    assert ok.returncode == 0, ok.stderr
    assert f"PAC={emulator.kind} ({emulator.url})" in ok.stdout
    assert "aceptó las credenciales" in ok.stdout

    refused = run(["pac", "check"], {**env, "PAC_PASSWORD": "wrong"})
    assert refused.returncode == 1
    assert "PAC_CREDENTIALS" in refused.stderr


def test_pac_check_with_the_pac_unreachable_is_1_and_retryable(tmp_path):
    server = EmulatorServer("finkok", EmulatorState(tmp_path / "e"))
    url = server.url
    server.stop()
    env = {"ENV": "development", "VAR_DIR": str(tmp_path / "var"), "PAC": "finkok", "PAC_URL": url,
           "PAC_USERNAME": "u", "PAC_PASSWORD": "p", "PAC_TIMEOUT_SECONDS": "5"}
    result = run(["pac", "check"], env)
    assert result.returncode == 1
    assert "PAC_UNAVAILABLE" in result.stderr and "reintentable" in result.stderr


def test_pac_emulate_serves_on_a_free_port(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAC")}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "pac", "emulate", "--kind", "finkok", "--port", "0",
         "--state-dir", str(tmp_path / "emulator")],
        cwd=ROOT, env={**env, "ENV": "development", "VAR_DIR": str(tmp_path / "var")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" en ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        env = {"ENV": "development", "VAR_DIR": str(tmp_path / "var"), "PAC": "finkok", "PAC_URL": url,
               "PAC_USERNAME": "demo@example.com", "PAC_PASSWORD": "demo-password"}
        for _ in range(50):  # the server binds before printing; wait until it answers
            try:
                httpx.post(f"{url}/servicios/soap/utilities.wsdl", content=b"x", timeout=2)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.1)
        assert run(["pac", "check"], env).returncode == 0
    finally:
        process.terminate()
        process.wait(timeout=20)


SECRETS = {"jwt_secret": "j" * 48, "encryption_secret": "k" * 48}


def test_production_refuses_the_sandbox_unless_allowed(tmp_path):
    with pytest.raises(ValidationError, match="ALLOW_SANDBOX_IN_PRODUCTION"):
        Settings(env="production", var_dir=tmp_path, **SECRETS)
    assert Settings(env="production", var_dir=tmp_path, allow_sandbox_in_production=True, **SECRETS).pac == "sandbox"
    real = Settings(env="production", var_dir=tmp_path, pac="finkok", pac_username="u", pac_password="p",
                    pac_environment="production", **SECRETS)
    assert (real.pac, real.pac_environment) == ("finkok", "production")


def test_a_real_pac_needs_its_credentials(tmp_path):
    with pytest.raises(ValidationError, match="PAC_USERNAME"):
        Settings(var_dir=tmp_path, pac="finkok")
    with pytest.raises(ValidationError, match="PAC_TOKEN"):
        Settings(var_dir=tmp_path, pac="sw")
    assert Settings(var_dir=tmp_path, pac="sw", pac_token="t").pac_token == "t"
    with pytest.raises(ValidationError):
        Settings(var_dir=tmp_path, pac="acme")
    with pytest.raises(ValidationError):
        Settings(var_dir=tmp_path, pac="sw", pac_token="t", pac_environment="staging")
