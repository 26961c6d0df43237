"""Persisted operations: the GraphQL documents the front ends ship, known by their sha256.

The manifest (``frontend-contract/persisted-operations.json``) maps the sha256 of each
``frontend-contract/operations/*.graphql`` file's exact text to that text. A client sends
an operation either as text (``query``) or Apollo-style as a hash only
(``extensions.persistedQuery.sha256Hash``), and may send both.

- Production accepts only documents in the manifest, by hash or by exact text, so an
  attacker cannot send hand-written queries even to the anonymous fields.
- Development accepts any text (GraphiQL, experiments) and still resolves known hashes.

A hash the server does not know answers ``PersistedQueryNotFound`` (code
``PERSISTED_QUERY_NOT_FOUND``), which tells an Apollo-style client to resend with the text.

Regenerate the manifest, its copy the server loads (``api/static/persisted-operations.json``,
which ships with the package) and the SPA's ``api/static/operations.js`` with
``.venv/bin/python -m api.persisted``; ``--check`` fails when any of them is stale.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

log = logging.getLogger(__name__)

API_DIR = Path(__file__).resolve().parent
ROOT = API_DIR.parent
OPERATIONS_DIR = ROOT / "frontend-contract" / "operations"
MANIFEST = ROOT / "frontend-contract" / "persisted-operations.json"
SERVED_MANIFEST = API_DIR / "static" / "persisted-operations.json"
SPA_OPERATIONS = API_DIR / "static" / "operations.js"

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_manifest(path: Path | None = None) -> dict[str, str]:
    """The server's manifest: the copy inside the package, else the contract's."""
    for candidate in ([path] if path else [SERVED_MANIFEST, MANIFEST]):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return {}


class Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def result(self) -> ExecutionResult:
        return ExecutionResult(data=None, errors=[GraphQLError(self.message, extensions={"code": self.code})])


def resolve(data: GraphQLRequestData, manifest: dict[str, str], *, production: bool) -> GraphQLRequestData:
    """The request with its document filled in from the manifest, or Rejected."""
    query = data.query
    persisted = (data.extensions or {}).get("persistedQuery")
    wanted = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if wanted is not None:
        if not isinstance(wanted, str):
            raise Rejected(NOT_FOUND, "PersistedQueryNotFound")
        if query is None:
            query = manifest.get(wanted.lower())
            if query is None:
                # Apollo clients recognise this message and resend with the text.
                raise Rejected(NOT_FOUND, "PersistedQueryNotFound")
        elif sha256(query) != wanted.lower():
            raise Rejected(HASH_MISMATCH, "provided sha does not match query")
    if production and query is not None and sha256(query) not in manifest:
        raise Rejected(NOT_ALLOWED, "Este servidor solo acepta las operaciones publicadas en "
                                    "frontend-contract/persisted-operations.json.")
    return data if query is data.query else replace(data, query=query)


class PersistedOperations:
    """Mixin for the Strawberry view: resolves and, in production, enforces the manifest.

    The view must expose ``services.production`` (the Services container does).
    """

    @cached_property
    def persisted_manifest(self) -> dict[str, str]:
        manifest = load_manifest()
        if self.services.production and not manifest:
            log.error("No persisted-operations manifest found: production will refuse every operation")
        return manifest

    async def execute_operation(self, request, request_adapter, request_data, context, root_value, sub_response):
        production = self.services.production
        try:
            if isinstance(request_data, list):
                request_data = [resolve(d, self.persisted_manifest, production=production) for d in request_data]
            else:
                request_data = resolve(request_data, self.persisted_manifest, production=production)
        except Rejected as rejected:
            if isinstance(request_data, list):
                return [rejected.result() for _ in request_data]
            return rejected.result()
        return await super().execute_operation(
            request=request, request_adapter=request_adapter, request_data=request_data,
            context=context, root_value=root_value, sub_response=sub_response,
        )


# --- generation -------------------------------------------------------------------------

def operation_files() -> list[Path]:
    return sorted(OPERATIONS_DIR.glob("*.graphql"))


def build_manifest() -> dict[str, str]:
    return {sha256(text): text for text in (p.read_text(encoding="utf-8") for p in operation_files())}


def render_manifest(manifest: dict[str, str]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def render_spa_operations() -> str:
    entries = {
        p.stem: {"sha256": sha256(text), "document": text}
        for p, text in ((p, p.read_text(encoding="utf-8")) for p in operation_files())
    }
    return (
        "// Generated by `.venv/bin/python -m api.persisted` from frontend-contract/operations/.\n"
        "// Do not edit: the texts must stay byte-identical to the persisted-operations manifest.\n"
        f"export const operations = {json.dumps(entries, indent=2, ensure_ascii=False)};\n"
    )


def generated_files() -> dict[Path, str]:
    manifest = render_manifest(build_manifest())
    return {MANIFEST: manifest, SERVED_MANIFEST: manifest, SPA_OPERATIONS: render_spa_operations()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.persisted", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a generated file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("Stale persisted operations (run .venv/bin/python -m api.persisted): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
