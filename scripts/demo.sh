#!/usr/bin/env bash
# The main job: set up, then write a realistic NWB file through hdmf_zarr, read it back and summarise it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m hdmf_zarr.demo "${@:-demo_output/demo.nwb.zarr}"
