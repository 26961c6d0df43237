#!/usr/bin/env bash
# Starts autofactura on the embedded default: SQLite, sandbox stamping, demo data.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec .venv/bin/autofactura serve --demo --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
