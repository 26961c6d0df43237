"""A live autofactura (demo data, SQLite, sandbox PAC) and Debian's headless Chromium.

The server is a real `autofactura serve --demo` subprocess on a free port, with its own
VAR_DIR and SQLite file and PUBLIC_URL pointing at itself, so the download links the API
builds are the ones the browser follows. Screenshots go to test-artifacts/browser/.
"""
from __future__ import annotations

import os
import shutil
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# Debian's Chromium, found on PATH (or named by CHROMIUM_PATH), not a path written here.
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    yield from _serve(tmp_path_factory, "server")


@pytest.fixture(scope="session")
def challenge_server(tmp_path_factory):
    """A second live server whose every ticket lookup needs a solved proof of work (a
    company burst of 0), with a light challenge so headless Chromium solves it quickly."""
    yield from _serve(tmp_path_factory, "challenge-server",
                      {"LOOKUP_COMPANY_BURST": "0", "CHALLENGE_COST": "100", "CHALLENGE_MAX_NUMBER": "400"})


@pytest.fixture(scope="session")
def production_server(tmp_path_factory):
    """`serve --demo` with ENV=production: only persisted operations are accepted and there
    is no GraphiQL, as a real deployment (the sandbox PAC allowed, for the demo)."""
    yield from _serve(tmp_path_factory, "production-server", {
        "ENV": "production", "JWT_SECRET": "browser-test-jwt-" + "j" * 40,
        "ENCRYPTION_SECRET": "browser-test-encryption-" + "e" * 40, "ALLOW_SANDBOX_IN_PRODUCTION": "true",
    })


def _serve(tmp_path_factory, name: str, extra_env: dict[str, str] | None = None):
    work = tmp_path_factory.mktemp("live")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ENV": "development",
        "VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'live.db'}",
        "PUBLIC_URL": base,
        "PDF_WORKERS": "1",
    }
    for variable in ("JWT_SECRET", "ENCRYPTION_SECRET", "REDIS_URL", "SMTP_HOST"):
        env.pop(variable, None)
    env.update(extra_env or {})
    log_path = ARTIFACTS / f"{name}.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    cli = Path(sys.executable).with_name("autofactura")
    proc = subprocess.Popen([str(cli), "serve", "--demo", "--port", str(port)], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"autofactura serve exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"autofactura serve did not answer /health: {log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        printed = log_path.read_text()
        company = re.search(r"número de comercio (\d+)", printed)
        yield {"base": base, "company": company.group(1) if company else "100001"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# Module scope, not session: Playwright's sync API runs an event loop on the main thread
# while it is started, and pytest-asyncio tests collected after this module would find a
# loop already running. Stopping it when the module ends leaves the thread clean.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI (apt-get install chromium, or set CHROMIUM_PATH)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    """Numbered screenshots of one test: test-artifacts/browser/<test>/<nn>-<step>.png."""

    def __init__(self, page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _open_page(browser, request, viewport):
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="es-MX",
                                  timezone_id="America/Tijuana")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return context, page, Shots(page, ARTIFACTS / name), errors


@pytest.fixture
def page(browser, request):
    context, page, shots, errors = _open_page(browser, request, DESKTOP)
    page.shots, page.js_errors = shots, errors
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, request):
    context, page, shots, errors = _open_page(browser, request, PHONE)
    page.shots, page.js_errors = shots, errors
    yield page
    context.close()
