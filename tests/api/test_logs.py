"""Logs (issue 10, 12): a request id on every line of a request, no tokens, no customer data.

In process (the ASGI app, logs captured by the production handler's filter and formatter
into a buffer) and through a real `autofactura serve` whose stderr is read (uvicorn's
access line is written by the server, not the app)."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api.logs import ContextFilter, JsonFormatter, TextFormatter, redact
from tests.helpers import CUSTOMER, ISSUE, ROOT

NAME = "JUANA PEREZ SECRETARIA"  # a customer's legal name: never in a log


class Captured(io.StringIO):
    handler: logging.Handler


@pytest.fixture
def captured():
    """The records of every logger, through the handler set-up api/logs.py gives the process."""
    buffer = Captured()
    handler = buffer.handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_redact_tokens_and_credentials():
    assert redact('GET /downloads/ab.xml?token=eyJhbGc.x.y&x=1 HTTP/1.1') == 'GET /downloads/ab.xml?token=[redacted]&x=1 HTTP/1.1'
    assert redact("/downloads/ab.pdf?kind=pdf&token%3Dabc123") == "/downloads/ab.pdf?kind=pdf&token=[redacted]"
    assert redact("/portal?ticketToken=abc&ref=1") == "/portal?ticketToken=[redacted]&ref=1"
    assert redact("headers: {'Authorization': 'Bearer abc.def'}") == "headers: {'Authorization': '[redacted]'}"
    assert redact("authorization=Basic dXNlcjpwYXNz") == "authorization=[redacted]"
    assert "eyJ" not in redact("sent eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl to the client")
    assert redact("Tienda Bearer S.A.") == "Tienda Bearer S.A."  # a word, not a credential


def _fail_with_customer_data(name: str) -> None:
    local_secret = name  # a local variable holding customer data: never rendered
    raise ValueError(f"no se pudo timbrar la factura de {local_secret}")


def test_exception_rendering_keeps_frames_not_messages_nor_locals(captured):
    log = logging.getLogger("autofactura.test")
    try:
        try:
            _fail_with_customer_data(NAME)
        except ValueError as exc:
            raise RuntimeError(f"stamping {NAME}") from exc
    except RuntimeError:
        log.exception("issuing failed")
    (entry,) = [e for e in lines(captured) if e["logger"] == "autofactura.test"]
    assert entry["message"] == "issuing failed" and entry["level"] == "ERROR"
    assert entry["exc_type"] == "RuntimeError"
    # Both exceptions of the chain, where they were raised: enough to find the line.
    assert "_fail_with_customer_data" in entry["exc"] and "ValueError" in entry["exc"]
    assert "raise ValueError" in entry["exc"]  # the source line, which is code, not data
    assert NAME not in captured.getvalue() and "local_secret = " not in captured.getvalue()


def test_text_format_withholds_the_same(captured):
    captured.handler.setFormatter(TextFormatter())
    try:
        _fail_with_customer_data(NAME)
    except ValueError:
        logging.getLogger("autofactura.test").exception("token=abc failed")
    out = captured.getvalue()
    assert re.match(r"\S+ ERROR autofactura\.test \[-\] token=\[redacted\] failed\nTraceback", out), out
    assert NAME not in out and "ValueError (message withheld" in out


async def test_database_error_with_customer_data_is_logged_without_it(services, captured):
    """A real driver error raised by a statement carrying a customer's name (the NOT NULL
    columns are missing): the engines hide statement parameters, the logs keep no message."""
    with pytest.raises(IntegrityError) as caught:
        async with services.engine.begin() as conn:
            await conn.execute(text("INSERT INTO merchant (legal_name) VALUES (:name)"), {"name": NAME})
    assert NAME not in str(caught.value)  # hide_parameters (persistence/db.py)
    try:
        raise caught.value
    except IntegrityError:
        logging.getLogger("autofactura.test").exception("could not save")
    (entry,) = [e for e in lines(captured) if e["logger"] == "autofactura.test"]
    assert entry["exc_type"] == "sqlalchemy.exc.IntegrityError"
    assert NAME not in captured.getvalue()


async def test_graphql_error_lines_carry_the_request_id_and_no_customer_data(http, captured):
    customer = {**CUSTOMER, "legalName": [NAME]}  # a list where a string goes: a variable error
    response = await http.post("/graphql", json={"query": ISSUE, "variables": {
        "input": {"customer": customer, "idempotencyKey": "k"}}}, headers={"X-Request-Id": "req-logs-1"})
    assert response.headers["x-request-id"] == "req-logs-1"
    assert NAME in response.text  # the client is told what it sent wrong; the log is not
    request_lines = [e for e in lines(captured) if e["logger"] != "httpx"]
    assert request_lines and all(e["request_id"] == "req-logs-1" for e in request_lines), request_lines
    assert any(e["logger"] == "strawberry.execution" and e["message"].startswith("GraphQL error") for e in request_lines)
    assert NAME not in captured.getvalue()


async def test_request_id_generated_when_absent_or_not_a_plain_token(http):
    generated = (await http.get("/health")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    assert (await http.get("/health")).headers["x-request-id"] != generated
    forged = (await http.get("/health", headers={"X-Request-Id": "x\" level=ERROR" + "a" * 80})).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", forged)


@pytest.mark.slow
def test_serve_writes_json_lines_with_request_ids_and_no_tokens(tmp_path):
    """`autofactura serve` in production format: every stderr line a JSON object, the access
    line of a download carries its request id and not its token."""
    env = {**os.environ, "ENV": "development", "LOG_FORMAT": "json", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
           "VAR_DIR": str(tmp_path / "var"), "JWT_SECRET": "j" * 48, "ENCRYPTION_SECRET": "k" * 48,
           "PDF_WORKERS": "1", "PYTHONUNBUFFERED": "1",
           # One process: it logs "running on" once it listens. With --workers N (the CPU
           # count by default) the parent logs it before any worker accepts; the log format
           # of N workers is test_metrics' `serve --workers 2` case.
           "WEB_CONCURRENCY": "1"}
    stderr = (tmp_path / "stderr.log").open("w+")
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln"
    try:
        deadline = time.monotonic() + 90
        port = None
        while port is None:
            assert server.poll() is None, (tmp_path / "stderr.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "stderr.log").read_text()
            found = re.search(r"running on http://127\.0\.0\.1:(\d+)", (tmp_path / "stderr.log").read_text())
            port = int(found.group(1)) if found else None
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            download = client.get(f"/downloads/nope.xml?token={secret}", headers={"X-Request-Id": "req-dl-1"})
            assert download.status_code in (403, 404) and download.headers["x-request-id"] == "req-dl-1"
            customer = {**CUSTOMER, "legalName": [NAME]}
            client.post("/graphql", json={"query": ISSUE, "variables": {"input": {"customer": customer, "idempotencyKey": "k"}}},
                        headers={"X-Request-Id": "req-gql-1"})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        stderr.close()
    raw = (tmp_path / "stderr.log").read_text()
    entries = [json.loads(line) for line in raw.splitlines() if line.strip()]  # every line is JSON
    assert {"time", "level", "logger", "message", "request_id"} <= set(entries[0])
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    (download_line,) = [e for e in access if "/downloads/" in e["message"]]
    assert download_line["request_id"] == "req-dl-1"
    assert "token=[redacted]" in download_line["message"]
    gql_lines = [e for e in entries if e["request_id"] == "req-gql-1"]
    assert {e["logger"] for e in gql_lines} == {"strawberry.execution", "uvicorn.access"}
    assert secret not in raw and NAME not in raw


def test_log_format_defaults_to_json_in_production(tmp_path):
    from api.settings import Settings

    base = {"jwt_secret": "j" * 40, "encryption_secret": "e" * 40, "var_dir": tmp_path, "allow_sandbox_in_production": True}
    assert Settings(env="production", **base).effective_log_format == "json"
    assert Settings(env="development", **base).effective_log_format == "text"
    assert Settings(env="production", log_format="text", **base).effective_log_format == "text"
