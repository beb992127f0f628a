"""Converted datasets keep the source's chunking and a comparable codec, unless told otherwise;
progress is reported in datasets and bytes, shown only when asked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
import zarr.codecs
from hdmf.backends.hdf5 import H5DataIO
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

import hdmf_zarr
from hdmf_zarr import progress
from hdmf_zarr.cli import main
from hdmf_zarr.errors import IncompleteConversionError

ROWS = 20_000


def _hdf5(path: Path) -> Path:
    nwb = NWBFile("layout", "layout-1", datetime(2024, 1, 1, tzinfo=UTC))
    data = (np.arange(ROWS * 8) % 1000).astype(np.int16).reshape(ROWS, 8)
    gz = H5DataIO(data, chunks=(1000, 8), compression="gzip", compression_opts=6)
    nwb.add_acquisition(TimeSeries(name="gz", data=gz, unit="V", rate=1.0))
    nwb.add_acquisition(TimeSeries(name="plain", data=H5DataIO(data.copy()), unit="V", rate=1.0))
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return _hdf5(tmp_path / "src.nwb")


def _array(path: Path, name: str) -> zarr.Array:
    return zarr.open_array(path / "acquisition" / name / "data", mode="r")


def test_default_keeps_chunks_and_compresses_what_was_compressed(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "out.nwb.zarr"
    hdmf_zarr.convert(source, out)
    gz, plain = _array(out, "gz"), _array(out, "plain")
    assert gz.chunks == (1000, 8)
    assert isinstance(gz.compressors[0], zarr.codecs.BloscCodec)
    assert plain.compressors == ()  # contiguous, uncompressed HDF5 stays uncompressed
    with h5py.File(source, "r") as h5:
        np.testing.assert_array_equal(gz[:], h5["acquisition/gz/data"][:])
        np.testing.assert_array_equal(plain[:], h5["acquisition/plain/data"][:])


def test_keep_keeps_gzip_and_options_override(tmp_path: Path, source: Path) -> None:
    kept = tmp_path / "kept.nwb.zarr"
    hdmf_zarr.convert(source, kept, compression="keep")
    assert _array(kept, "gz").compressors == (zarr.codecs.GzipCodec(level=6),)
    forced = tmp_path / "forced.nwb.zarr"
    hdmf_zarr.convert(source, forced, compression="zstd:5", chunks="16KiB")
    gz = _array(forced, "gz")
    assert gz.compressors == (zarr.codecs.ZstdCodec(level=5),)
    assert gz.chunks == (1024, 8)  # 16 KiB of int16 rows of 8 channels


def test_zarr_to_hdf5_keeps_chunks_and_gzips_compressed_data(tmp_path: Path, source: Path) -> None:
    out, back = tmp_path / "out.nwb.zarr", tmp_path / "back.nwb"
    hdmf_zarr.convert(source, out)
    hdmf_zarr.convert(out, back, to_hdf5=True)
    with h5py.File(back, "r") as h5:
        assert h5["acquisition/gz/data"].chunks == (1000, 8)
        assert h5["acquisition/gz/data"].compression == "gzip"
        assert h5["acquisition/plain/data"].compression is None


def test_info_shows_chunks_and_codecs(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.nwb.zarr"
    assert main(["convert", str(source), str(out), "--compression", "gzip:3", "--no-progress"]) == 0
    assert main(["info", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "/acquisition/gz/data" in line]
    assert lines
    assert "chunks=(1000, 8)" in lines[0]
    assert "codecs=gzip(3)" in lines[0]


def test_progress_counts_every_dataset_and_byte(tmp_path: Path, source: Path) -> None:
    tally = progress.Tally()
    with progress.activate(tally):
        hdmf_zarr.convert(source, tmp_path / "out.nwb.zarr")
    assert tally.nbytes == 2 * ROWS * 8 * 2  # both int16 arrays, every byte once
    with NWBHDF5IO(source, "r") as io:
        builder = io.read_builder()
    from hdmf_zarr.transfer.layout import iter_datasets

    assert tally.datasets == sum(1 for _ in iter_datasets(builder))
    back = progress.Tally()
    with progress.activate(back):
        hdmf_zarr.convert(tmp_path / "out.nwb.zarr", tmp_path / "back.nwb", to_hdf5=True)
    assert back.nbytes == 2 * ROWS * 8 * 2


def test_bars_only_when_asked(tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hdmf_zarr.convert(source, tmp_path / "quiet.nwb.zarr")
    assert capsys.readouterr().err == ""  # the library is silent by default
    hdmf_zarr.convert(source, tmp_path / "bars.nwb.zarr", progress=True)
    err = capsys.readouterr().err
    assert "convert datasets" in err
    assert "convert bytes" in err
    assert not progress.wants_bars(None)  # stderr is not a terminal here: the CLI shows no bars


def test_external_links_are_refused_not_dropped(tmp_path: Path, source: Path) -> None:
    other = _hdf5(tmp_path / "other.nwb")
    with h5py.File(source, "a") as h5:
        h5["acquisition/linked"] = h5py.ExternalLink(str(other), "/acquisition/gz")
    out = tmp_path / "out.nwb.zarr"
    with pytest.raises(IncompleteConversionError, match=r"/acquisition/linked.*other\.nwb"):
        hdmf_zarr.convert(source, out)
    assert not out.exists()


def test_conversion_memory_is_bounded_by_the_copy_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 48 MiB array converts both ways with 1 MiB blocks in well under its own size (tracemalloc
    follows numpy's and the codecs' buffers), so a file larger than memory converts too."""
    import tracemalloc

    from hdmf_zarr.transfer import hdf5 as hdf5_transfer
    from hdmf_zarr.write import execute

    rows, channels = 3_000_000, 8
    source = tmp_path / "big.nwb"
    with h5py.File(source, "w"):
        pass
    nwb = NWBFile("big", "big-1", datetime(2024, 1, 1, tzinfo=UTC))
    iterator = _RowBlocks(rows, channels)
    nwb.add_acquisition(
        TimeSeries(name="big", data=H5DataIO(iterator, chunks=(8192, channels)), unit="V", rate=1.0)
    )
    with NWBHDF5IO(source, "w") as io:
        io.write(nwb)
    array_mib = rows * channels * 2 / 2**20
    monkeypatch.setattr(execute, "COPY_BLOCK_BYTES", 1 << 20)
    monkeypatch.setattr(hdf5_transfer, "BLOCK_BYTES", 1 << 20)
    for src, dst, to_hdf5 in (
        (source, tmp_path / "big.zarr", False),
        (tmp_path / "big.zarr", tmp_path / "back.nwb", True),
    ):
        tracemalloc.start()
        try:
            hdmf_zarr.convert(src, dst, to_hdf5=to_hdf5)
            peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
        assert peak_mib < array_mib / 3, (dst.name, peak_mib, array_mib)
    with h5py.File(tmp_path / "back.nwb", "r") as h5:
        np.testing.assert_array_equal(
            h5["acquisition/big/data"][-5:], _RowBlocks.rows_at(rows - 5, rows, channels)
        )


class _RowBlocks:
    """Rows made block by block (the test never holds the whole array either)."""

    def __new__(cls, rows: int, channels: int) -> object:
        from hdmf.data_utils import GenericDataChunkIterator

        class Blocks(GenericDataChunkIterator):  # type: ignore[misc]
            def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
                return cls.rows_at(selection[0].start or 0, selection[0].stop or rows, channels)[
                    :, selection[1]
                ]

            def _get_maxshape(self) -> tuple[int, int]:
                return (rows, channels)

            def _get_dtype(self) -> np.dtype[np.int16]:
                return np.dtype(np.int16)

        return Blocks(buffer_shape=(65536, channels), chunk_shape=(8192, channels))

    @staticmethod
    def rows_at(start: int, stop: int, channels: int) -> np.ndarray:
        return (np.arange(start * channels, stop * channels) % 30011).astype(np.int16).reshape(-1, channels)


def test_write_shows_bars_only_with_progress_true(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nwb = NWBFile("bars", "bars-1", datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(1000.0), unit="V", rate=1.0))
    from hdmf_zarr import NWBZarrIO

    with NWBZarrIO(tmp_path / "quiet.nwb.zarr", "w") as io:
        io.write(nwb)
    assert capsys.readouterr().err == ""
    nwb2 = NWBFile("bars", "bars-2", datetime(2024, 1, 1, tzinfo=UTC))
    nwb2.add_acquisition(TimeSeries(name="ts", data=np.arange(1000.0), unit="V", rate=1.0))
    with NWBZarrIO(tmp_path / "bars.nwb.zarr", "w") as io:
        io.write(nwb2, progress=True)
    assert "write datasets" in capsys.readouterr().err


def test_a_sharded_zarr_source_keeps_its_shards(tmp_path: Path) -> None:
    from hdmf_zarr import NWBZarrIO, ZarrDataIO

    nwb = NWBFile("shards", "shards-1", datetime(2024, 1, 1, tzinfo=UTC))
    data = ZarrDataIO(np.arange(8000, dtype=np.int16).reshape(1000, 8), chunks=(100, 8), shards=(500, 8))
    nwb.add_acquisition(TimeSeries(name="sharded", data=data, unit="V", rate=1.0))
    first, second = tmp_path / "a.nwb.zarr", tmp_path / "b.nwb.zarr"
    with NWBZarrIO(first, "w") as io:
        io.write(nwb)
    hdmf_zarr.convert(first, second)
    out = _array(second, "sharded")
    assert (out.chunks, out.shards) == ((100, 8), (500, 8))
    np.testing.assert_array_equal(out[:], _array(first, "sharded")[:])
