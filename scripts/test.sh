#!/usr/bin/env bash
# The whole test suite on SQLite and on a private PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python caches bytecode in .venv even where PYTHONDONTWRITEBYTECODE is set (as it is on
# these machines): pip installs without compiling (setup-venv.sh), so without it every process
# (a test's server, a trainer) compiled torch and the rest again: 9.4 s an import against
# 2.9 s, and the test suite took 458 s against 348 s.
unset PYTHONDONTWRITEBYTECODE
# The Debian packages (apt) and the Python ones (pip) are installed side by side.
scripts/setup-system.sh &
system=$!
scripts/setup-venv.sh dev
wait "$system"
exec .venv/bin/python -m pytest "$@"
