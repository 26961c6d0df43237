#!/usr/bin/env bash
# Runs the benchmark (bench/) and prints the table. Quick by default (a few minutes, small
# counts, scale at 10 k and 100 k sales); --full is what BENCHMARKS.md reports (scale at
# 1 M sales, memory after 10 k invoices: the first run seeds 1 M sales per engine).
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth; override with BENCH_POSTGRES, e.g.
# postgresql+asyncpg://postgres@127.0.0.1:5432); uses databases autofactura_bench*, never `test`.
# Extra arguments pass through: ./bench.sh --engines sqlite --only lookup,issue
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
# py-spy is for bench/profile.py only (not a runtime dependency of the project).
[ -x .venv/bin/py-spy ] || .venv/bin/pip install -q py-spy || echo "py-spy not installed: bench/profile.py will not run" >&2
exec .venv/bin/python -m bench.run "$@"
