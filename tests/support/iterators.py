"""GenericDataChunkIterators for the parallel-write tests: picklable, and recording which process read."""

from __future__ import annotations

import glob
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from hdmf.data_utils import GenericDataChunkIterator


class RecordingIterator(GenericDataChunkIterator):  # type: ignore[misc]
    """Serves a ``.npy`` file buffer by buffer; each buffer read leaves a file named after the reading pid."""

    def __init__(self, source: str, log_dir: str, **kwargs: Any) -> None:
        self._source, self._log_dir = source, log_dir
        self._array = np.load(source, mmap_mode="r")
        self._kwargs = kwargs
        super().__init__(**kwargs)

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        threads = zarr.config.get("threading.max_workers")
        Path(self._log_dir, f"{os.getpid()}-{uuid.uuid4().hex}").write_text(f"{threads}")
        return np.asarray(self._array[selection])

    def _get_maxshape(self) -> tuple[int, ...]:
        return tuple(self._array.shape)

    def _get_dtype(self) -> np.dtype[Any]:
        return self._array.dtype

    def _to_dict(self) -> dict[str, Any]:
        return {"source": self._source, "log_dir": self._log_dir, **self._kwargs}

    @classmethod
    def _from_dict(cls, dictionary: dict[str, Any]) -> RecordingIterator:  # type: ignore[override]
        return cls(**dictionary)


def reader_pids(log_dir: Path) -> set[int]:
    """The pids of the processes that read buffers (one file per buffer read)."""
    return {int(p.name.split("-")[0]) for p in log_dir.iterdir()}


def reader_threads(log_dir: Path, pids: set[int] | None = None) -> set[str]:
    """zarr's ``threading.max_workers`` in the processes that read buffers (those in *pids*, if given)."""
    return {p.read_text() for p in log_dir.iterdir() if pids is None or int(p.name.split("-")[0]) in pids}


class LocalOnlyIterator(RecordingIterator):
    """A RecordingIterator that cannot be pickled (it never defined how)."""

    def _to_dict(self) -> dict[str, Any]:
        raise NotImplementedError("no _to_dict")


class FailingIterator(RecordingIterator):
    """A RecordingIterator whose buffer at row 30000 cannot be read (in whichever process reads it)."""

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        if selection[0].start == 30_000:
            raise RuntimeError("buffer at row 30000 is unreadable")
        return super()._get_data(selection)


class WorkerTroubleIterator(RecordingIterator):
    """A RecordingIterator that misbehaves in every process but *parent*, on each buffer it reads there.

    ``trouble``: "raise" (an exception from the iterator), "kill" (the process kills itself with
    SIGKILL), or "block" (a folder where the buffer's first chunk file goes: storing it fails with an
    OSError; *target* is a glob pattern of the array's folder, whose chunks are ``c.<row>.0``). A
    worker always reads at least one buffer, so the trouble always happens in a worker.
    """

    def __init__(
        self, source: str, log_dir: str, *, parent: int, trouble: str, target: str, **kwargs: Any
    ) -> None:
        self._parent, self._trouble, self._target = parent, trouble, target
        super().__init__(source, log_dir, **kwargs)

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        data = super()._get_data(selection)
        if os.getpid() == self._parent:
            return data
        if self._trouble == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self._trouble == "raise":
            raise ValueError(f"sensor offline at row {selection[0].start}")
        first_chunk = selection[0].start // self.chunk_shape[0]
        for folder in glob.glob(self._target):  # the folder being written (a staging folder)
            Path(folder, f"c.{first_chunk}.0").mkdir(parents=True, exist_ok=True)
        return data

    def _to_dict(self) -> dict[str, Any]:
        extra = {"parent": self._parent, "trouble": self._trouble, "target": self._target}
        return {**super()._to_dict(), **extra}
