#!/usr/bin/env bash
# The whole test suite on SQLite and on a private PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-system.sh
scripts/setup-venv.sh dev
exec .venv/bin/python -m pytest "$@"
