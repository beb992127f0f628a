"""Writers in a subprocess that kill themselves (SIGKILL) half-way through a write, to test recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hdmf_zarr

_SRC = Path(hdmf_zarr.__file__).resolve().parents[1]
_TESTS = Path(__file__).resolve().parents[1]

#: argv: path, mode, dataset name(s, comma-separated: one session each), the row at which the process
#: kills itself (-1: never), storage_options as JSON.
_WRITER = r"""
import json, os, signal, sys, time
import numpy as np
from hdmf.build import GroupBuilder
from hdmf.data_utils import DataChunkIterator
from hdmf_zarr import ZarrIO
from hdmf_zarr.testing.builders import dataset

path, mode, name, kill_at, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
storage_options = json.loads(extra)
pause = float(os.environ.get("WRITER_ROW_PAUSE_S", "0"))  # widens the window in which writers overlap

def rows():
    for i in range(8):
        if i == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(pause)
        yield np.full(3, float(i))

for one in name.split(","):  # several names: one write session each, one after the other
    with ZarrIO(path, mode=mode, storage_options=storage_options or None, lock_timeout=240) as io:
        root = io.read_builder() if mode in ("a", "r+") else GroupBuilder("root")
        dataset(root, one, DataChunkIterator(rows(), buffer_size=1))
        io.write_builder(root, cache_spec=False)
print("done")
"""


def _command(path: str | os.PathLike[str], mode: str, name: str, kill_at: int, options: str) -> list[str]:
    return [sys.executable, "-c", _WRITER, os.fspath(path), mode, name, str(kill_at), options]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(_SRC), str(_TESTS)])
    return env


def run_writer(
    path: str | os.PathLike[str],
    *,
    mode: str,
    name: str,
    kill_at: int = -1,
    storage_options: str = "{}",
) -> subprocess.CompletedProcess[str]:
    """Write dataset *name* (8 rows of 3) in a new process; with *kill_at* >= 0 it is killed at that row."""
    args = _command(path, mode, name, kill_at, storage_options)
    return subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=300, check=False)


def start_writer(
    path: str | os.PathLike[str], *, mode: str, name: str, storage_options: str = "{}", row_pause_s: float = 0
) -> subprocess.Popen[str]:
    """Start the same writer without waiting for it (to run several at once); rows may come slowly."""
    args = _command(path, mode, name, -1, storage_options)
    env = {**_env(), "WRITER_ROW_PAUSE_S": str(row_pause_s)}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def was_killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == -9
