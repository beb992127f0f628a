#!/usr/bin/env bash
# The one command: bash benchmarks/run.sh [--quick] [--reps N] [--backends ours,peer014,peer013,hdf5]
# Ours and HDF5 run in /work/main/.venv (override: HDMF_ZARR_BENCH_PYTHON); the peers in their cached venvs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${HDMF_ZARR_BENCH_PYTHON:-$here/../.venv/bin/python}"
exec "$python" "$here/run.py" "$@"
