#!/usr/bin/env bash
# Runs the whole test suite (SQLite and PostgreSQL at 127.0.0.1:5432, database test).
set -euo pipefail
cd "$(dirname "$0")"
export AUTOFACTURA_BROWSER=1
source scripts/bootstrap.sh
# The exported schema must be the code's schema (frontend-contract is a contract).
.venv/bin/autofactura export-schema --check
# The persisted-operation manifest and the SPA's copy of the operations are current.
.venv/bin/python -m api.persisted --check
if [ -f ../shared/tools/check_contract.py ]; then
  .venv/bin/python ../shared/tools/check_contract.py frontend-contract/schema.graphql
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
