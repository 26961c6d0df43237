"""Shared paths, database URLs and small helpers for the benchmark scripts."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
VAR = DATA / "var"  # dev secrets shared by seeding and the servers, sandbox PAC, outbox
RESULTS = BENCH / "results"
PY = sys.executable
PG_BASE = os.environ.get("BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
PG_PREFIX = os.environ.get("BENCH_DB_PREFIX", "autofactura_bench")  # PostgreSQL database names start with it

# SAT's test customer (persona física) used for every invoice.
CUSTOMER = {"rfc": "CACX7605101P8", "legalName": "XOCHILT CASAS CHAVEZ", "zipCode": "36257",
            "taxRegime": "612", "cfdiUse": "G03"}

OPERATIONS = ROOT / "frontend-contract" / "operations"


def operation(name: str) -> str:
    """The GraphQL document frontend-contract/operations/<name>.graphql (what the SPA sends)."""
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


# The frontend contract's own documents, with its variable names.
TICKET_Q = operation("TicketLookup")  # $companyNumber, $reference, $total
ISSUE_Q = operation("IssueInvoice")  # $input
SALES_Q = operation("SalesPage")  # $first, $after
LOGIN_Q = operation("Login")  # $email, $password


def sqlite_url(name: str) -> str:
    return f"sqlite+aiosqlite:///{DATA / name}"


def pg_url(dbname: str) -> str:
    return f"{PG_BASE}/{dbname}"


def main_url(engine: str) -> str:
    """The database issuance, lookup and memory run against."""
    return sqlite_url("bench.db") if engine == "sqlite" else pg_url(PG_PREFIX)


def scale_url(engine: str, count: int) -> str:
    return sqlite_url(f"scale-{count}.db") if engine == "sqlite" else pg_url(f"{PG_PREFIX}_scale_{count}")


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "VAR_DIR": str(VAR), "ENV": "development",
        "PUBLIC_URL": "http://127.0.0.1", "TICKET_TOKEN_MINUTES": "600", "PYTHONUNBUFFERED": "1",
        # bench/load.py gives each connection its own client address (X-Forwarded-For).
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    })
    env.pop("REDIS_URL", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn running bench.server:app in a subprocess (one worker, like `autofactura serve`)."""

    def __init__(self, database_url: str, *, log: Path | None = None, env: dict | None = None, workers: int = 1) -> None:
        self.database_url = database_url
        self.workers = workers
        self.env = env or {}
        self.port = free_port()
        self.log = log or (DATA / "server.log")
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "bench.uvicorn_nodelay", "bench.server:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log", "--workers", str(self.workers)],
            cwd=ROOT, env={**server_env(self.database_url), **self.env}, stdout=out, stderr=out,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if b" 200 " in s.recv(200):
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def memory(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS of the server process, in kB; and of its children."""
        return proc_memory(self.proc.pid)


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except FileNotFoundError:
        pass
    return out


def proc_memory(pid: int) -> dict[str, int]:
    main = _status(pid)
    children = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            children += [int(k) for k in kids]
    except FileNotFoundError:
        pass
    kids = [_status(c) for c in children]
    return {"hwm_kb": main.get("VmHWM", 0), "rss_kb": main.get("VmRSS", 0),
            "children": len(kids), "children_hwm_kb": sum(k.get("VmHWM", 0) for k in kids)}


def save(name: str, data) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process and its children
    (uvicorn's workers, the PDF pool), from /proc; plus every PostgreSQL backend as
    "postgres" (the server processes on this machine). For CPU per request: the same
    call before and after a load, divided by the requests."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            name = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2:].split()
        except (OSError, ValueError):
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, name)
    out = {group: 0.0 for group in pids}
    out["postgres"] = 0.0
    for pid, (ppid, seconds, name) in stats.items():
        if name.startswith("postgres"):
            out["postgres"] += seconds
            continue
        for group, root in pids.items():
            p, seen = pid, 0
            while p and seen < 8:  # the process itself, or a descendant of it
                if p == root:
                    out[group] += seconds
                    break
                p, seen = stats.get(p, (0, 0.0, ""))[0], seen + 1
            else:
                continue
            break
    return out
