#!/usr/bin/env bash
# Static checks CI runs after the tests: ruff (lint and format) and mypy on the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy app models kg evaluation
