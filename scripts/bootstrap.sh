#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv with Python >= 3.12.
# Idempotent: reinstalls only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=("${HDMF_ZARR_PYTHON:-}" python3.13 python3.12)
  for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    if [ -x "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    command -v python3; return 0
  fi
  return 1
}

if ! PY=$(find_python); then
  echo "error: hdmf_zarr needs Python >= 3.12 (zarr >= 3.4 requires it), and none was found." >&2
  echo "       Install one (e.g. 'pyenv install 3.12') or set HDMF_ZARR_PYTHON=/path/to/python3.12." >&2
  exit 1
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install --quiet -e ".[all,test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import hdmf_zarr, zarr, pynwb, pytest" # fail loudly if the install did not work
  rm -f .venv/.installed-*
  touch "$stamp"
fi
