"""Every code a service puts in a FieldProblem is in the closed ErrorCode set that GraphQL
exposes (services/kernel/codes.py); an unknown one would fail when mapped to FieldError."""
from __future__ import annotations

import ast
from pathlib import Path

from services.kernel.codes import DOMAIN_CODES, all_codes

SERVICES = Path(__file__).resolve().parents[2] / "services"
BUILDERS = {"FieldProblem", "_problem", "add", "CsdError"}


def _literal_codes() -> set[str]:
    found: set[str] = set()
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in BUILDERS:
                continue
            position = 0 if name == "CsdError" else 1
            if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                value = node.args[position].value
                if isinstance(value, str) and value.isupper():
                    found.add(value)
    return found


def test_every_literal_code_is_in_the_closed_set():
    codes = _literal_codes()
    assert len(codes) > 10  # the scan found the cfdi rules' codes
    assert codes <= set(all_codes()), sorted(codes - set(all_codes()))


def test_graphql_exposes_every_domain_code():
    from schema.fields import ErrorCode

    exposed = {member.value for member in ErrorCode}
    assert exposed == {m.value for enum in DOMAIN_CODES for m in enum}
