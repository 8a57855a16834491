#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its pinned dependencies.
# Usage: scripts/setup-venv.sh [extra]   e.g. scripts/setup-venv.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${1:-base}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch is pinned (torch==2.13.0, a CPU build): never let a resolver pick a CUDA build.
  # --no-compile: Python compiles a module when it is first imported instead of pip
  # compiling all of them (torch ships thousands); 53 s -> 34 s on 2 cores.
  .venv/bin/python -m pip install --quiet --no-compile -e ".${1:+[$1]}"
  touch "$stamp"
fi
