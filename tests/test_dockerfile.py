"""The production image (issue 12), read from the Dockerfile: this machine has no container
engine, so the test checks what a build would do rather than pretending to build.

- the runtime stage installs the project without extras, its dependencies constrained to
  requirements.lock, and the dependencies the project declares reach no test package;
- ENTRYPOINT autofactura, CMD serve (migrating under the lock), `worker` by command;
- HEALTHCHECK on /health with Python's urllib (no curl in a slim image);
- a VOLUME for VAR_DIR, where the SQLite default lives;
- a non-root user.
"""
from __future__ import annotations

import json
import re
import shlex
from importlib import metadata

from packaging.requirements import Requirement

from api.cli import main as cli_main
from tests.helpers import ROOT

TEST_PACKAGES = {"pytest", "pytest-asyncio", "hypothesis", "schemathesis", "aiosmtpd", "playwright", "zxing-cpp"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for name, args in instructions():
        if name == "FROM":
            found.append([])
        found[-1].append((name, args))
    return found


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure() -> set[str]:
    """The distributions `pip install .` brings: pyproject's dependencies, without extras,
    and theirs (read from the installed metadata, markers evaluated for this platform)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(r), frozenset()) for r in metadata.requires("autofactura") or []]  # no extras
    while todo:
        req, parent_extras = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in parent_extras or {""}):
            continue
        key = (norm(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        todo.extend((Requirement(r), frozenset(req.extras)) for r in metadata.requires(req.name) or [])
    return {name for name, _ in seen}


def test_image_installs_no_test_package():
    build, runtime = stages()[0], stages()[-1]
    runs = " ".join(args for name, args in build if name == "RUN")
    assert re.search(r"pip install [^&]*-c requirements\.lock \.(\s|$)", runs), runs
    everything = " ".join(args for stage in stages() for name, args in stage if name == "RUN")
    assert "-r requirements.lock" not in everything and "[test]" not in everything
    assert not any(name == "COPY" and "tests" in args.split() for stage in stages() for name, args in stage)
    closure = runtime_closure()
    assert not closure & TEST_PACKAGES, closure & TEST_PACKAGES
    # Every package the image installs is pinned by the lock (the constraint file).
    pinned = {norm(line.split("==")[0]) for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line}
    assert closure <= pinned, closure - pinned
    # The runtime stage takes the built environment, not the sources nor pip's work.
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    assert ".venv" in (ROOT / ".dockerignore").read_text().split() and "tests" in (ROOT / ".dockerignore").read_text().split()


def test_entrypoint_serve_by_default_worker_by_command():
    runtime = dict(stages()[-1])
    assert json.loads(runtime["ENTRYPOINT"]) == ["autofactura"]
    cmd = json.loads(runtime["CMD"])
    assert cmd[0] == "serve" and "--migrate" in cmd and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    # Both commands exist in the CLI the ENTRYPOINT runs (argparse exits 0 on --help).
    for command in (cmd, ["worker", "--once"]):
        try:
            cli_main([command[0], "--help"])
        except SystemExit as done:
            assert done.code == 0


def test_healthcheck_volume_and_user():
    runtime = stages()[-1]
    as_dict = dict(runtime)
    health = as_dict["HEALTHCHECK"]
    assert "--interval=" in health and "--timeout=" in health
    probe = json.loads(health.split("CMD", 1)[1])
    assert probe[:2] == ["python", "-c"] and "urllib.request" in probe[2] and "/health" in probe[2]
    compile(probe[2], "<healthcheck>", "exec")  # valid Python
    env = dict(pair.split("=", 1) for pair in shlex.split(as_dict["ENV"]))
    assert env["ENV"] == "production" and env["LOG_FORMAT"] == "json"
    volumes = json.loads(as_dict["VOLUME"])
    assert env["VAR_DIR"] in volumes
    assert env["DATABASE_URL"] == f"sqlite+aiosqlite:///{env['VAR_DIR']}/autofactura.db"
    assert as_dict["USER"] not in ("root", "0")
    assert as_dict["EXPOSE"] == "8000" and "8000/health" in probe[2]
    # The user must own the volume's directory: created and chowned before USER.
    chown = [i for i, (name, args) in enumerate(runtime)
             if name == "RUN" and f"chown {as_dict['USER']} {env['VAR_DIR']}" in args]
    assert chown and chown[0] < [name for name, _ in runtime].index("USER")
