"""The project installs from pyproject.toml alone: a wheel built from the repository, installed
(not editable) with its dependencies resolved by pip from the index, outside the repository
and without requirements.lock, migrates a database and serves the portal and GraphQL."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, operation

pytestmark = pytest.mark.slow

# Package data the service needs at run time, one path per kind (the wheel must carry them).
PACKAGE_DATA = [
    "api/static/index.html",
    "api/static/app.js",
    "api/static/persisted-operations.json",
    "api/static/panel.html",
    "api/static/vendor/graphiql/graphiql.min.js",
    "api/static/vendor/graphiql/LICENSE-graphiql.txt",
    "services/pdf/templates/invoice.html",
    "services/pdf/fonts/AutofacturaSans-Regular.ttf",
    "services/sat_data/catalogos/c_RegimenFiscal.json",
    "services/sat_data/schemas/cfdi40_bundle.xsd",
    "persistence/migrations/env.py",
    "persistence/migrations/script.py.mako",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, timeout, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    return result


def _env(bin_dir: Path, tmp: Path) -> dict[str, str]:
    """A clean environment: nothing that points back into the repository or its .venv."""
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", str(tmp)),
        "LANG": "C.UTF-8",
        "ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'x.db'}",
        "VAR_DIR": str(tmp / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE", "PIP_CACHE_DIR",
                 "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _get(url: str, data: bytes | None = None, timeout: float = 10) -> tuple[int, str, str]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.headers.get("content-type", ""), response.read().decode("utf-8")


def test_wheel_installs_migrates_and_serves(tmp_path):
    # Built from a copy of the sources, so that a stale build/ or egg-info in the work tree
    # can neither add files to the wheel nor be left behind by the test.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "var", "node_modules", "test-artifacts", ".data",
        ".pytest_cache", ".hypothesis", "*.db"))
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
         timeout=300, cwd=tmp_path)
    (wheel,) = wheels.glob("autofactura-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in PACKAGE_DATA if p not in names]
    assert not missing, f"package data missing from the wheel: {missing}"
    assert not any(n.startswith("tests/") for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    run_dir = tmp_path / "run"  # outside the repository: no .env, no source tree to import from
    run_dir.mkdir()
    env = _env(bin_dir, tmp_path)
    # Dependencies from pyproject.toml only (pip resolves them; requirements.lock is not used).
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
         timeout=900, cwd=run_dir, env=env)
    where = _run([str(bin_dir / "python"), "-c", "import api; print(api.__file__)"], timeout=60, cwd=run_dir, env=env)
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout

    migrated = _run([str(bin_dir / "autofactura"), "migrate"], timeout=180, cwd=run_dir, env=env)
    assert "Migraciones aplicadas" in migrated.stdout
    assert (tmp_path / "x.db").exists()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([str(bin_dir / "autofactura"), "serve", "--port", str(port)], cwd=run_dir, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"server exited {server.returncode}: {(tmp_path / 'serve.log').read_text()[-3000:]}"
            try:
                if _get(base + "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"server not up: {(tmp_path / 'serve.log').read_text()[-3000:]}"
            time.sleep(0.3)

        body = json.dumps({"query": operation("TaxRegimes"), "variables": {"personType": "MORAL"}}).encode()
        status, _, text = _get(base + "/graphql", body)
        assert status == 200
        codes = {entry["code"] for entry in json.loads(text)["data"]["taxRegimes"]}
        assert "601" in codes and "612" not in codes

        status, content_type, page = _get(base + "/")
        assert status == 200 and content_type.startswith("text/html")
        assert "<html" in page.lower()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        log.close()
