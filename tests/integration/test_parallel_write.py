"""``write(..., number_of_jobs=N)``: GenericDataChunkIterator buffers read and written by N processes."""

from __future__ import annotations

import os
import re
import sys
import threading
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hdmf.data_utils import DataChunkIterator
from pynwb import NWBFile, TimeSeries
from zarr.storage import MemoryStore

from hdmf_zarr import NWBZarrIO, ZarrDataIO, progress
from hdmf_zarr.errors import ParallelWriteError, SourceReadError, StoreWriteError, UnsupportedValueError
from support.iterators import (
    FailingIterator,
    LocalOnlyIterator,
    RecordingIterator,
    WorkerTroubleIterator,
    reader_pids,
    reader_threads,
)
from support.servers import S3Server

SHAPE = (60_000, 8)
BUFFER = (10_000, 8)
CHUNK = (5_000, 8)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(3).integers(-2000, 2000, SHAPE).astype("int16")
    path = tmp_path / "source.npy"
    np.save(path, data)
    return path, data


def _nwb(data: Any) -> NWBFile:
    nwb = NWBFile("parallel write", "parallel-1", datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_acquisition(TimeSeries(name="x", data=data, unit="u", rate=1.0))
    return nwb


def _iterator(source: Path, log: Path, cls: type[RecordingIterator] = RecordingIterator) -> RecordingIterator:
    log.mkdir(exist_ok=True)
    return cls(str(source), str(log), buffer_shape=BUFFER, chunk_shape=CHUNK)


def _write(path: Any, data: Any, **kwargs: Any) -> None:
    storage_options = kwargs.pop("storage_options", None)
    with NWBZarrIO(path, mode="w", storage_options=storage_options) as io:
        io.write(_nwb(data), **kwargs)


def _stored(path: Any, **kwargs: Any) -> np.ndarray:
    with NWBZarrIO(path, mode="r", **kwargs) as io:
        return np.asarray(io.read().acquisition["x"].data[:])


def _chunk_objects(folder: Path) -> dict[str, bytes]:
    base = folder / "acquisition" / "x" / "data"
    return {p.name: p.read_bytes() for p in base.glob("c.*")}


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_two_jobs_use_two_processes_and_equal_the_serial_write(
    tmp_path: Path, source: tuple[Path, np.ndarray], context: str
) -> None:
    path, expected = source
    _write(tmp_path / "serial.nwb.zarr", _iterator(path, tmp_path / "log1"))
    _write(
        tmp_path / "two.nwb.zarr",
        _iterator(path, tmp_path / "log2"),
        number_of_jobs=2,
        multiprocessing_context=context,
    )
    assert reader_pids(tmp_path / "log1") == {os.getpid()}
    workers = reader_pids(tmp_path / "log2")
    assert len(workers) == 2  # number_of_jobs=2: this process and one worker, each wrote buffers
    assert os.getpid() in workers
    np.testing.assert_array_equal(_stored(tmp_path / "two.nwb.zarr"), expected)
    serial = _chunk_objects(tmp_path / "serial.nwb.zarr")
    assert len(serial) == SHAPE[0] // CHUNK[0]
    assert _chunk_objects(tmp_path / "two.nwb.zarr") == serial


def test_max_threads_per_process_is_applied_in_the_workers(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, expected = source
    _write(
        tmp_path / "t.nwb.zarr",
        _iterator(path, tmp_path / "log"),
        number_of_jobs=2,
        max_threads_per_process=1,
        multiprocessing_context="forkserver",
    )
    np.testing.assert_array_equal(_stored(tmp_path / "t.nwb.zarr"), expected)
    readers = reader_pids(tmp_path / "log")
    assert len(readers) == 2
    worker = readers - {os.getpid()}
    assert reader_threads(tmp_path / "log", pids=worker) == {"1"}


def test_chunks_not_aligned_to_buffers_are_written_by_one_worker_each(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, expected = source
    data = ZarrDataIO(_iterator(path, tmp_path / "log"), chunks=(7_000, 8))
    _write(tmp_path / "m.nwb.zarr", data, number_of_jobs=2, multiprocessing_context="forkserver")
    np.testing.assert_array_equal(_stored(tmp_path / "m.nwb.zarr"), expected)
    assert zarr.open_array(tmp_path / "m.nwb.zarr" / "acquisition/x/data").chunks == (7_000, 8)


@pytest.mark.xdist_group("s3")
def test_on_s3_with_the_default_start_method(
    s3: S3Server, tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, expected = source
    url = f"s3://{s3.bucket}/parallel/two.nwb.zarr"
    options = s3.storage_options()
    _write(url, _iterator(path, tmp_path / "log"), number_of_jobs=2, storage_options=options)
    assert len(reader_pids(tmp_path / "log")) == 2
    np.testing.assert_array_equal(_stored(url, storage_options=options), expected)


@pytest.mark.xdist_group("s3")
def test_forked_workers_refuse_an_object_store(
    s3: S3Server, tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    url = f"s3://{s3.bucket}/parallel/forked.nwb.zarr"
    with pytest.raises(ParallelWriteError, match=r"acquisition/x/data.*spawn"):
        _write(
            url,
            _iterator(source[0], tmp_path / "log"),
            number_of_jobs=2,
            multiprocessing_context="fork",
            storage_options=s3.storage_options(),
        )


def test_an_iterator_that_cannot_be_pickled_is_named(tmp_path: Path, source: tuple[Path, np.ndarray]) -> None:
    it = _iterator(source[0], tmp_path / "log", LocalOnlyIterator)
    with pytest.raises(
        UnsupportedValueError, match=r"'/acquisition/x/data'.*LocalOnlyIterator.*_to_dict.*fork"
    ):
        _write(tmp_path / "p.nwb.zarr", it, number_of_jobs=2, multiprocessing_context="forkserver")
    with pytest.raises(OSError):  # the failed write left no file that looks complete
        _stored(tmp_path / "p.nwb.zarr")


def test_a_failing_iterator_fails_the_write(tmp_path: Path, source: tuple[Path, np.ndarray]) -> None:
    # Buffer 30000 is read by whichever process claims it: the error is the same in each.
    it = _iterator(source[0], tmp_path / "log", FailingIterator)
    with pytest.raises(
        SourceReadError, match=r"'/acquisition/x/data'.*30000:40000.*buffer at row 30000 is unreadable"
    ):
        _write(tmp_path / "f.nwb.zarr", it, number_of_jobs=2, multiprocessing_context="forkserver")
    with pytest.raises(OSError):
        _stored(tmp_path / "f.nwb.zarr")


def _troubled(tmp_path: Path, source: Path, trouble: str, name: str) -> WorkerTroubleIterator:
    (tmp_path / "log").mkdir(exist_ok=True)
    target = tmp_path / f".{name}.staging-*" / "acquisition" / "x" / "data"  # written aside, then swapped in
    return WorkerTroubleIterator(
        str(source),
        str(tmp_path / "log"),
        parent=os.getpid(),
        trouble=trouble,
        target=str(target),
        buffer_shape=BUFFER,
        chunk_shape=CHUNK,
    )


def test_an_iterator_failing_in_a_worker_names_the_dataset_the_file_and_the_remedy(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    it = _troubled(tmp_path, source[0], "raise", "r.nwb.zarr")
    with pytest.raises(SourceReadError) as info:
        _write(tmp_path / "r.nwb.zarr", it, number_of_jobs=2)
    text = str(info.value)
    assert "'/acquisition/x/data'" in text
    assert re.search(rf"{tmp_path}/\.r\.nwb\.zarr\.staging-\w+/acquisition/x/data", text)
    assert "ValueError: sensor offline at row" in text
    assert f"process {os.getpid()}" not in text  # a worker's failure, carried here
    assert "number_of_jobs=1" in text
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value.__cause__, ValueError)
    assert any("In worker process" in note for note in getattr(info.value, "__notes__", []))
    with pytest.raises(OSError):
        _stored(tmp_path / "r.nwb.zarr")


def test_an_os_error_in_a_worker_is_a_store_write_error_naming_dataset_and_file(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    it = _troubled(tmp_path, source[0], "block", "b.nwb.zarr")
    with pytest.raises(StoreWriteError) as info:
        _write(tmp_path / "b.nwb.zarr", it, number_of_jobs=2)
    assert info.value.errno is not None
    assert "'/acquisition/x/data'" in str(info.value)
    assert str(info.value.filename).startswith(str(tmp_path / ".b.nwb.zarr.staging-"))
    assert "write again" in str(info.value)
    with pytest.raises(OSError):
        _stored(tmp_path / "b.nwb.zarr")


def test_a_killed_worker_fails_the_write_and_nothing_is_presented_as_complete(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    it = _troubled(tmp_path, source[0], "kill", "k.nwb.zarr")
    with pytest.raises(ParallelWriteError, match=r"exited with code -9.*'/acquisition/x/data'.*incomplete"):
        _write(tmp_path / "k.nwb.zarr", it, number_of_jobs=2)
    with pytest.raises(OSError):
        _stored(tmp_path / "k.nwb.zarr")


class _Updates:
    """A progress reporter that records each update and the thread it came from."""

    def __init__(self) -> None:
        self.updates: list[tuple[int, str]] = []

    def advance(self, nbytes: int = 0, datasets: int = 0) -> None:
        if nbytes:
            self.updates.append((nbytes, threading.current_thread().name))

    def close(self) -> None:
        return None


def test_progress_advances_as_the_workers_write(tmp_path: Path, source: tuple[Path, np.ndarray]) -> None:
    path, expected = source
    updates = _Updates()
    with progress.activate(updates):
        _write(tmp_path / "pr.nwb.zarr", _iterator(path, tmp_path / "log"), number_of_jobs=2)
    buffer_bytes = BUFFER[0] * BUFFER[1] * expected.itemsize
    assert [n for n, _ in updates.updates] == [buffer_bytes] * (SHAPE[0] // BUFFER[0])  # one per buffer
    from_workers = [n for n, thread in updates.updates if thread == "hdmf_zarr-jobs"]
    worker_buffers = sum(1 for p in (tmp_path / "log").iterdir() if not p.name.startswith(f"{os.getpid()}-"))
    assert len(from_workers) == worker_buffers >= 1  # each buffer a worker stored, reported when stored


def test_memory_store_is_refused(tmp_path: Path, source: tuple[Path, np.ndarray]) -> None:
    with pytest.raises(ParallelWriteError, match="MemoryStore"):
        _write(MemoryStore(), _iterator(source[0], tmp_path / "log"), number_of_jobs=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"number_of_jobs": 0}, "number_of_jobs"),
        ({"number_of_jobs": 2, "max_threads_per_process": 0}, "max_threads_per_process"),
        ({"number_of_jobs": 2, "multiprocessing_context": "teleport"}, "multiprocessing_context"),
        ({"client": object()}, "dask.distributed.Client"),
    ],
)
def test_bad_options_fail_before_anything_is_written(
    tmp_path: Path, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ParallelWriteError, match=match):
        _write(tmp_path / "o.nwb.zarr", np.arange(10), **kwargs)


def test_other_iterators_are_written_by_this_process(tmp_path: Path) -> None:
    # As hdmf-zarr does: a DataChunkIterator yields its chunks in order from one generator, so only
    # GenericDataChunkIterators go to the workers.
    data = np.arange(40_000, dtype="f8").reshape(-1, 4)
    it = DataChunkIterator(data=iter(data), buffer_size=1000)
    _write(tmp_path / "d.nwb.zarr", it, number_of_jobs=2, multiprocessing_context="forkserver")
    np.testing.assert_array_equal(_stored(tmp_path / "d.nwb.zarr"), data)


def test_a_worker_that_cannot_import_the_iterator_class_says_what_to_do(
    tmp_path: Path, source: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A class the parent holds in a module that exists only in memory (as a notebook's classes do):
    # it pickles here, and spawned workers cannot import it.
    phantom = types.ModuleType("phantom_iterators")
    cls = type("PhantomIterator", (RecordingIterator,), {"__module__": "phantom_iterators"})
    phantom.PhantomIterator = cls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "phantom_iterators", phantom)
    it = _iterator(source[0], tmp_path / "log", cls)
    with pytest.raises(ParallelWriteError, match=r"'/acquisition/x/data'.*importable module"):
        _write(tmp_path / "ph.nwb.zarr", it, number_of_jobs=2, multiprocessing_context="spawn")


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_forked_workers_inherit_an_iterator_that_cannot_be_pickled(
    tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, expected = source
    it = _iterator(path, tmp_path / "log", LocalOnlyIterator)
    _write(tmp_path / "inh.nwb.zarr", it, number_of_jobs=2, multiprocessing_context="fork")
    assert len(reader_pids(tmp_path / "log")) == 2
    assert os.getpid() in reader_pids(tmp_path / "log")
    np.testing.assert_array_equal(_stored(tmp_path / "inh.nwb.zarr"), expected)
