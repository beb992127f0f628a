"""Writers in a subprocess that kill themselves (SIGKILL) half-way through a write, to test recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hdmf_zarr

_SRC = Path(hdmf_zarr.__file__).resolve().parents[1]
_TESTS = Path(__file__).resolve().parents[1]

#: argv: path, mode, dataset name, rows before the kill (-1: never killed), extra ZarrIO keywords as JSON.
_WRITER = r"""
import json, os, signal, sys
import numpy as np
from hdmf.build import GroupBuilder
from hdmf.data_utils import DataChunkIterator
from hdmf_zarr import ZarrIO
from hdmf_zarr.testing.builders import dataset

path, mode, name, kill_at, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
storage_options = json.loads(extra)

def rows():
    for i in range(8):
        if i == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        yield np.full(3, float(i))

with ZarrIO(path, mode=mode, storage_options=storage_options or None) as io:
    root = io.read_builder() if mode in ("a", "r+") else GroupBuilder("root")
    dataset(root, name, DataChunkIterator(rows(), buffer_size=1))
    io.write_builder(root, cache_spec=False)
print("done")
"""


def run_writer(
    path: str | os.PathLike[str],
    *,
    mode: str,
    name: str,
    kill_at: int = -1,
    storage_options: str = "{}",
) -> subprocess.CompletedProcess[str]:
    """Write dataset *name* (8 rows of 3) in a new process; with *kill_at* >= 0 it is killed at that row."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(_SRC), str(_TESTS)])
    args = [sys.executable, "-c", _WRITER, os.fspath(path), mode, name, str(kill_at), storage_options]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def was_killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == -9
