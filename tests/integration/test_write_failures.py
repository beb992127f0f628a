"""A full disk surfaces as an OSError (errno ENOSPC) that names the dataset and the file, on every path.

Two real sources of ENOSPC: a small tmpfs (mounting needs root: skipped otherwise) and ``/dev/full``
behind a chunk's file name (no privileges needed). Small chunks go through the bulk writer, large arrays
through the codec pipeline (zarrs when installed, which reports OS errors as RuntimeError).
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.build import DatasetBuilder, GroupBuilder
from hdmf.data_utils import DataChunkIterator

from hdmf_zarr import ZarrDataIO
from hdmf_zarr.errors import StoreWriteError
from hdmf_zarr.io import ZarrIO

DATA = {
    "small array (bulk writer)": lambda: np.random.default_rng(3).random(20_000),
    "large array (codec pipeline)": lambda: np.random.default_rng(0).random(400_000),
    "chunked array": lambda: ZarrDataIO(np.random.default_rng(1).random(400_000), chunks=(1000,)),
    "iterator": lambda: DataChunkIterator(np.random.default_rng(2).random(400_000), buffer_size=10_000),
}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _write(path: Path, data: Any, mode: str = "w") -> None:
    root = GroupBuilder("root")
    root.set_dataset(DatasetBuilder("recording", data))
    with ZarrIO(path, mode=mode) as io:
        io.write_builder(root, cache_spec=False)


@pytest.mark.parametrize("kind", sorted(DATA))
def test_a_full_disk_is_an_os_error_naming_dataset_and_file(small_disk: Path, kind: str) -> None:
    path = small_disk / "full.zarr"
    with pytest.raises(OSError, match="No space left on device") as info:
        _write(path, DATA[kind]())
    error = info.value
    assert isinstance(error, StoreWriteError)
    assert error.errno == errno.ENOSPC
    # Mode "w" writes beside the target until close (staging.py): the OS names the file it was writing.
    staged = re.compile(re.escape(str(small_disk)) + r"/\.full\.zarr\.staging-[0-9a-f]+/recording")
    assert staged.match(str(error.filename)), error.filename
    assert "'/recording'" in str(error) or "node documents" in str(error)
    assert any(str(path) in note and "nothing was published" in note for note in error.__notes__)
    assert not (path / "zarr.json").exists()  # never presented as a complete file


def test_dev_full_behind_a_chunk_name_is_an_os_error(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    path = tmp_path / "devfull.zarr"
    (path / "recording").mkdir(parents=True)
    (path / "recording" / "c.0").symlink_to("/dev/full")  # the first chunk's file: always full
    with pytest.raises(OSError, match="No space left on device") as info:
        _write(path, np.arange(10), mode="a")  # in place: "w" would write beside the planted folder
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(path / "recording" / "c.0")
