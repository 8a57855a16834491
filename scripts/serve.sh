#!/usr/bin/env bash
# Install (first time), build what the first answer needs from the bundled demo data, and
# serve on 127.0.0.1:8000 (override with HOST/PORT); the other versions train in the background.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
exec .venv/bin/kdtcn serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
