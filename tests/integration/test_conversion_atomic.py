"""A failed or killed conversion leaves nothing at the destination; the CLI says what failed, in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import hdmf_zarr
from hdmf_zarr import NWBZarrIO, progress
from hdmf_zarr.cli import main
from support.interrupt import conversion_nwbfile, conversion_source, stalled_conversion
from support.servers import S3Server


@pytest.fixture
def hdf5_source(tmp_path: Path) -> Path:
    return conversion_source(tmp_path / "src.nwb", "atomic")


@pytest.fixture
def zarr_source(tmp_path: Path) -> Path:
    path = tmp_path / "src.nwb.zarr"
    with NWBZarrIO(path, "w") as io:
        io.write(conversion_nwbfile("atomic"))
    return path


def _leftovers(directory: Path, name: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if name in p.name)


class _Fail:
    """A reporter that fails the conversion once array data starts to arrive."""

    def advance(self, nbytes: int = 0, datasets: int = 0) -> None:
        if nbytes:
            raise RuntimeError("injected failure")

    def close(self) -> None:
        return None


@pytest.mark.parametrize("name", ["out.nwb.zarr", "out.zarr.zip", "out.nwb"])
def test_a_failed_conversion_leaves_nothing(
    tmp_path: Path, hdf5_source: Path, zarr_source: Path, name: str
) -> None:
    source = zarr_source if name.endswith(".nwb") else hdf5_source
    dst = tmp_path / "out" / name
    with pytest.raises(RuntimeError, match="injected"), progress.activate(_Fail()):
        hdmf_zarr.convert(source, dst, to_hdf5=name.endswith(".nwb"))
    assert not dst.exists()
    assert _leftovers(dst.parent, "out") == []


def test_a_failed_forced_conversion_keeps_the_old_file(tmp_path: Path, hdf5_source: Path) -> None:
    dst = tmp_path / "out.nwb.zarr"
    hdmf_zarr.convert(hdf5_source, dst)
    before = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    with pytest.raises(RuntimeError, match="injected"), progress.activate(_Fail()):
        hdmf_zarr.convert(hdf5_source, dst, force_overwrite=True)
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == before
    with NWBZarrIO(dst, "r") as io:
        assert io.read().acquisition["ts"].data.shape == (50_000, 4)


def _spawn(source: Path, dst: Path, marker: Path) -> Iterator[subprocess.Popen[str]]:
    child = stalled_conversion(source, dst, marker, to_hdf5=dst.name.endswith(".nwb"))
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


@pytest.mark.parametrize("name", ["out.nwb.zarr", "out.zarr.zip", "out.nwb"])
def test_a_killed_conversion_leaves_nothing_at_the_destination(
    tmp_path: Path, hdf5_source: Path, zarr_source: Path, name: str
) -> None:
    source = zarr_source if name.endswith(".nwb") else hdf5_source
    dst, marker = tmp_path / name, tmp_path / "marker"
    for child in _spawn(source, dst, marker):
        deadline = time.monotonic() + 300  # a guard against a hang, not a timed assertion
        while not marker.exists():
            assert child.poll() is None, "the conversion ended before it stored any data"
            assert time.monotonic() < deadline, "the conversion never started storing data"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert not dst.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{name}")]  # the killed run's staging
    hdmf_zarr.convert(source, dst)  # the retry is not blocked by anything the killed run left
    assert dst.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # and removed it


def test_a_failed_conversion_to_s3_deletes_what_it_wrote(s3: S3Server, hdf5_source: Path) -> None:
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="atomic-notes.txt", Body=b"kept")  # beside the prefix
    url = f"s3://{s3.bucket}/atomic"
    with pytest.raises(RuntimeError, match="injected"), progress.activate(_Fail()):
        hdmf_zarr.convert(hdf5_source, url, storage_options=s3.storage_options())
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3.bucket, Prefix="atomic").get("Contents", [])]
    assert keys == ["atomic-notes.txt"]
    hdmf_zarr.convert(hdf5_source, url, storage_options=s3.storage_options())  # the retry completes
    with NWBZarrIO(url, "r", storage_options=s3.storage_options()) as io:
        np.testing.assert_array_equal(
            io.read().acquisition["ts"].data[-2:], conversion_nwbfile("atomic").acquisition["ts"].data[-2:]
        )


def test_cli_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, zarr_source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = tmp_path / "out.nwb"
    assert main(["convert", str(zarr_source), str(dst), "--to-hdf5", "--compression", "zstd"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"hdmf-zarr convert: {zarr_source} -> {dst}: ")
    assert "/acquisition/ts/data" in err  # the node
    assert "--compression gzip" in err  # what to do
    assert not dst.exists()
    with pytest.raises(hdmf_zarr.errors.UnsupportedValueError, match="portable HDF5"):
        main(["--debug", "convert", str(zarr_source), str(dst), "--to-hdf5", "--compression", "zstd"])
    with pytest.raises(hdmf_zarr.errors.UnsupportedValueError, match="portable HDF5"):
        main(["convert", str(zarr_source), str(dst), "--to-hdf5", "--compression", "zstd", "--debug"])
