#!/usr/bin/env bash
# Install (first time), build what the first answer needs from the bundled demo data, and
# serve on 127.0.0.1:8000 (override with HOST/PORT); the other versions train in the background.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python caches bytecode in .venv even where PYTHONDONTWRITEBYTECODE is set (as it is on
# these machines): pip installs without compiling (setup-venv.sh), so without it every process
# (a test's server, a trainer) compiled torch and the rest again: 9.4 s an import against
# 2.9 s, and the test suite took 458 s against 348 s.
unset PYTHONDONTWRITEBYTECODE
scripts/setup-venv.sh
exec .venv/bin/kdtcn serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
