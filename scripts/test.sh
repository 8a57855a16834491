#!/usr/bin/env bash
# The whole test suite on SQLite and on a private PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Debian packages (apt) and the Python ones (pip) are installed side by side.
scripts/setup-system.sh &
system=$!
scripts/setup-venv.sh dev
wait "$system"
exec .venv/bin/python -m pytest "$@"
