"""frontend-contract/types/operations.ts is what graphql-codegen makes of the operations.

Runs frontend-contract/codegen.sh --check (npm ci from the committed lock, then codegen into a
temporary file and a diff). Skipped without npm locally; required under CI=true.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"


def test_typescript_types_are_current():
    if shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm (Node.js 20+) is required under CI to check the TypeScript types")
        pytest.skip("npm not installed")
    result = subprocess.run([str(CONTRACT / "codegen.sh"), "--check"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
