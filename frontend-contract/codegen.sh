#!/usr/bin/env bash
# Generates types/operations.ts from schema.graphql and operations/*.graphql with
# graphql-codegen (pinned in package-lock.json, installed with `npm ci` into node_modules/).
#   ./codegen.sh           regenerate types/operations.ts
#   ./codegen.sh --check   fail when the committed types/operations.ts is not current
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "codegen.sh: npm (Node.js 20+) is required" >&2; exit 2; }

# npm ci only when the lock changed since the last install: keeps repeated runs fast.
lock_sum="$(sha256sum package-lock.json | cut -c1-64)"
if [ ! -f node_modules/.lock-sha256 ] || [ "$(cat node_modules/.lock-sha256)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.lock-sha256
fi

if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  CODEGEN_OUTPUT="$tmp/operations.ts" node_modules/.bin/graphql-codegen --config codegen.ts --silent
  if ! diff -u types/operations.ts "$tmp/operations.ts"; then
    echo "frontend-contract/types/operations.ts is stale: run frontend-contract/codegen.sh" >&2
    exit 1
  fi
  echo "types/operations.ts is current"
else
  node_modules/.bin/graphql-codegen --config codegen.ts --silent
  echo "wrote types/operations.ts"
fi
