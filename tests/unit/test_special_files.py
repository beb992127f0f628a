"""A FIFO, device or socket where a store holds files is refused with a clear error. Opening a FIFO to
read waits for a writer forever, so before this a crafted folder hung the reader (zarr's LocalStore
too). Each read runs in a child process, so that a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.child import run_child

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")

_READ = """
import os, sys
import numpy as np, zarr
from hdmf_zarr.confine import ConfinedLocalStore
from hdmf_zarr.errors import FormatError
from hdmf_zarr.read.direct import DirectReader

folder, how = sys.argv[1], sys.argv[2]
arr = zarr.create_array(ConfinedLocalStore(folder), shape=(40, 10), chunks=(10, 10), dtype="i4")
arr[:] = np.arange(400).reshape(40, 10)
chunk = os.path.join(folder, "c", "1", "0")
os.remove(chunk)
os.mkfifo(chunk)
try:
    if how == "direct":
        DirectReader.of(arr).read((slice(0, 40), slice(0, 10)))
    else:  # zarr's own read, through the store (async get, or the sync path)
        zarr.open_array(ConfinedLocalStore(folder), mode="r")[:]
    print("no error")
except FormatError as exc:
    print("FormatError", exc)
"""


@pytest.mark.parametrize("how", ["direct", "zarr"])
def test_a_fifo_where_a_chunk_would_be_is_refused_not_waited_on(tmp_path: Path, how: str) -> None:
    out = run_child(
        _READ, str(tmp_path / "a.zarr"), how, env={"HDMF_ZARR_CODEC_PIPELINE": "zarr"}, timeout=60
    )
    assert out.startswith("FormatError"), out
    assert "is a FIFO, device or socket, not a file" in out
    assert str(tmp_path / "a.zarr" / "c" / "1" / "0") in out
