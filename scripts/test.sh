#!/usr/bin/env bash
# The project's test command: set-up, lint, type and layer checks, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
lint_dirs=""
for d in src tests benchmarks scripts; do [ -d "$d" ] && lint_dirs="$lint_dirs $d"; done
echo "== ruff";          ruff check $lint_dirs
echo "== ruff format";   ruff format --check $lint_dirs
echo "== mypy";          mypy
echo "== import layers"; lint-imports
echo "== pytest"
set +e
python -m pytest -n 2 --dist loadgroup "$@"
rc=$?
set -e
# pytest exits 5 when it collected no test: that is a failure of the suite, not a pass.
exit $rc
