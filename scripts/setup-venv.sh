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
  # uv (pinned, from PyPI) installs from where pip's settings say (scripts/uv_install.py):
  # 34 s -> 22 s on 2 cores, 17 s when its cache (~/.cache/uv) has the wheels, as for a
  # second clone (this script's whole run). Where it cannot, pip does. Neither compiles bytecode at install: Python
  # compiles a module when it is first imported instead of all of them (torch ships
  # thousands; pip took 53 s -> 34 s so).
  if ! { .venv/bin/python -m pip install --quiet "uv==0.13.10" \
      && .venv/bin/python scripts/uv_install.py -e ".${1:+[$1]}"; }; then
    echo "setup-venv: installing with pip" >&2
    .venv/bin/python -m pip install --quiet --no-compile -e ".${1:+[$1]}"
  fi
  touch "$stamp"
fi
