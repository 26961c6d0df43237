#!/usr/bin/env bash
# Starts autofactura on the embedded default: SQLite, sandbox stamping, demo data.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
# Portal and download links point at where this server listens unless told otherwise.
export PUBLIC_URL="${PUBLIC_URL:-http://${HOST:-127.0.0.1}:${PORT:-8000}}"
# serve prints the portal, the merchant console (/panel/) and GraphQL addresses.
exec .venv/bin/autofactura serve --demo --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
