"""Writers in a subprocess that kill themselves (SIGKILL) half-way through a write, to test recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hdmf_zarr

_SRC = Path(hdmf_zarr.__file__).resolve().parents[1]
_TESTS = Path(__file__).resolve().parents[1]

#: argv: path, mode, dataset name(s, comma-separated: one session each), the row at which the process
#: kills itself (-1: never), storage_options as JSON.
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

for one in name.split(","):  # several names: one write session each, one after the other
    with ZarrIO(path, mode=mode, storage_options=storage_options or None, lock_timeout=240) as io:
        root = io.read_builder() if mode in ("a", "r+") else GroupBuilder("root")
        dataset(root, one, DataChunkIterator(rows(), buffer_size=1))
        io.write_builder(root, cache_spec=False)
print("done")
"""


#: argv: path, role (leader/follower), sync folder, trials, storage_options as JSON. In trial i the
#: leader, half-way through its write (after it listed the store), flags ``listed-i`` and waits (at most
#: LEADER_WAIT_S) for the follower's ``done-i``; the follower waits for ``listed-i``, then appends and
#: flags ``done-i``. Without writer exclusion the follower's append lands inside the leader's write and
#: the leader's consolidation drops it; with exclusion the follower waits until the leader has closed.
_APPENDER = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from hdmf.data_utils import DataChunkIterator
from hdmf_zarr import ZarrIO
from hdmf_zarr.testing.builders import dataset

path, role, sync, trials = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
options = json.loads(sys.argv[5]) or None
LEADER_WAIT_S = 2.0

def wait_for(flag, limit):
    end = time.monotonic() + limit
    while not flag.exists() and time.monotonic() < end:
        time.sleep(0.01)

def leader_rows(i):
    yield np.zeros(3)  # read when the iterator is made, before the write lists the store
    (sync / f"listed-{i}").touch()
    wait_for(sync / f"done-{i}", LEADER_WAIT_S)
    yield np.ones(3)

for i in range(trials):
    if role == "follower":
        wait_for(sync / f"listed-{i}", 600)
    with ZarrIO(path, mode="a", storage_options=options, lock_timeout=600) as io:
        root = io.read_builder()
        data = DataChunkIterator(leader_rows(i), buffer_size=1) if role == "leader" else np.arange(3.0)
        dataset(root, f"{role}{i}", data)
        io.write_builder(root, cache_spec=False)
    if role == "follower":
        (sync / f"done-{i}").touch()
print("done")
"""


def start_appenders(
    path: str | os.PathLike[str], sync: Path, *, trials: int, storage_options: str = "{}"
) -> list[subprocess.Popen[str]]:
    """Start a leader and a follower appender whose writes would interleave (see ``_APPENDER``)."""
    return [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, os.fspath(path), role, str(sync), str(trials), storage_options],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("leader", "follower")
    ]


def finish_appenders(procs: list[subprocess.Popen[str]], *, timeout: float = 900) -> str:
    """Wait for every appender; return a report of each one's exit code, stdout and stderr.

    A hung appender is killed after *timeout* seconds (its report says so), so a failure always shows
    what every process printed, not only the first one's.
    """
    reports = []
    for role, proc in zip(("leader", "follower"), procs, strict=True):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += f"\n[killed by the test after {timeout:g} s]"
        reports.append(f"--- {role}: exit code {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}")
    return "\n".join(reports)


def all_succeeded(procs: list[subprocess.Popen[str]]) -> bool:
    return all(proc.returncode == 0 for proc in procs)


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


def was_killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == -9


#: A conversion in a child process that stalls once its first block of array data is stored: it
#: touches the marker and blocks until killed. argv: source, destination, marker, convert's keyword
#: arguments as JSON.
_STALLED_CONVERSION = """
import json, sys, time
from pathlib import Path
import hdmf_zarr
from hdmf_zarr import progress

class Stall:
    def advance(self, nbytes=0, datasets=0):
        if nbytes:
            Path(sys.argv[3]).write_text("writing")
            time.sleep(3600)
    def close(self):
        pass

with progress.activate(Stall()):
    hdmf_zarr.convert(sys.argv[1], sys.argv[2], **json.loads(sys.argv[4]))
"""


def stalled_conversion(
    source: Path, destination: str | Path, marker: Path, **kwargs: Any
) -> subprocess.Popen[str]:
    """Start ``hdmf_zarr.convert(source, destination, **kwargs)`` in a child process that touches
    *marker* once it has stored its first block of data, then waits to be killed."""
    env = {**os.environ, "PYTHONPATH": str(_SRC)}
    args = [str(source), str(destination), str(marker), json.dumps(kwargs)]
    return subprocess.Popen(
        [sys.executable, "-c", _STALLED_CONVERSION, *args], env=env, stderr=subprocess.PIPE, text=True
    )


def conversion_nwbfile(identifier: str, *, series: int = 1) -> Any:
    """An NWB file to convert: *series* (1 or 2) int16 TimeSeries of 50,000 x 4 (then x 2), big enough
    that a conversion stores several blocks of data before it ends (so it can be stopped half-way)."""
    from datetime import UTC, datetime

    import numpy as np
    from pynwb import NWBFile, TimeSeries

    nwb = NWBFile(identifier, f"{identifier}-1", datetime(2024, 1, 1, tzinfo=UTC))
    data = np.arange(200_000, dtype=np.int16).reshape(50_000, 4)
    nwb.add_acquisition(TimeSeries(name="ts", data=data, unit="V", rate=1.0))
    if series > 1:
        nwb.add_acquisition(TimeSeries(name="ts2", data=data[:, :2] * 2, unit="V", rate=1.0))
    return nwb


def conversion_source(path: Path, identifier: str, *, series: int = 1) -> Path:
    """:func:`conversion_nwbfile` written as the HDF5 file *path*."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(path, "w") as io:
        io.write(conversion_nwbfile(identifier, series=series))
    return path
