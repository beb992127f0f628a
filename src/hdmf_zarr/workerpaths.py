"""Check that the workers of a Dask cluster see the local folder a write sends them to.

Layer: below parallel (``parallel.ArrayTarget`` carries a ``Witness``). Workers write their regions
straight into the destination's store. When that store is a local folder (a Zarr folder, or the staging
folder a ``.zip`` is assembled in), a worker on another machine (or in another container) would write
into a folder of its own disk at the same path, and the file published here would silently lack its
chunks. So before any task is sent, a probe file with a random token is put at the root of each such
folder and every worker must read it back; a worker that cannot is named in a ParallelWriteError and
nothing is sent. The probe stays until the write's tasks are done: each task reads it back before it
writes (``Witness.check``), so a worker that joins the cluster after the first check and cannot see the
folder stops the write too, before it stores anything (docs/format.md#writes-in-progress).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.storage import LocalStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import ParallelWriteError


def local_roots(stores: Iterable[Store]) -> list[Path]:
    """The distinct folders of the local stores among *stores* (object stores need no check)."""
    roots = {Path(store.root) for store in stores if isinstance(store, LocalStore)}
    return sorted(roots)


def probe_reads(probes: Sequence[tuple[str, str]]) -> list[bool]:
    """On a worker: for each (probe path, token), whether this process reads that token there."""
    seen = []
    for path, token in probes:
        try:
            with open(path, encoding="utf-8") as fh:
                seen.append(fh.read() == token)
        except OSError:
            seen.append(False)
    return seen


def unseen(results: dict[str, list[bool]], roots: Sequence[Path]) -> dict[str, list[Path]]:
    """Worker address -> the folders of *roots* it did not see, from ``probe_reads`` on every worker."""
    missing: dict[str, list[Path]] = {}
    for worker, seen in sorted(results.items()):
        lost = [root for root, ok in zip(roots, seen, strict=True) if not ok]
        if lost:
            missing[worker] = lost
    return missing


def active_client() -> Any:
    """The ``dask.distributed.Client`` dask computes with now (a dask array's own writes), or None."""
    import dask.base  # only dask users reach this

    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    return owner if callable(getattr(owner, "run", None)) and hasattr(owner, "scheduler") else None


@dataclass(frozen=True, slots=True)
class Witness:
    """The probe file of one local destination folder, which stays there while a cluster writes into
    it: a task checks that its worker reads it back before it writes (picklable: it rides in the task)."""

    folder: str
    path: str
    token: str

    def check(self) -> None:
        """Raise ParallelWriteError here (on a worker) unless this process sees the destination folder."""
        if not probe_reads([(self.path, self.token)])[0]:
            raise ParallelWriteError(
                f"The Dask worker {_this_worker()} cannot see the folder {self.folder} that this write goes "
                "to (it runs on another machine or in another container, and joined the cluster after the "
                "workers were checked, or lost the folder since), so it stopped before writing anything "
                "there and the write fails; the file is not published. Write to a folder every worker "
                "mounts at the same path, or to an object store (s3://), or drop client= (--scheduler)."
            )


def _this_worker() -> str:
    """This worker's address and host, for messages."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):  # not inside a Dask worker task
        address = f"process {os.getpid()}"
    return f"{address} (host {socket.gethostname()})"


@contextlib.contextmanager
def workers_see(client: Any, roots: Sequence[Path]) -> Iterator[dict[Path, Witness]]:
    """Raise ParallelWriteError unless every worker of *client* sees every folder of *roots*; then yield
    each folder's Witness for the write's tasks, and remove the probes when the block ends."""
    if not roots:
        yield {}
        return
    token = uuid.uuid4().hex
    witnesses = {
        root: Witness(str(root), os.fspath(root / f"{fmt.WORKER_PROBE_PREFIX}{token}"), token)
        for root in roots
    }
    try:
        for witness in witnesses.values():
            Path(witness.path).write_text(token, encoding="utf-8")
        results = client.run(probe_reads, [(w.path, w.token) for w in witnesses.values()])
        missing = unseen(results, roots)
        if missing:
            raise ParallelWriteError(_message(missing))
        yield witnesses
    finally:
        for witness in witnesses.values():
            Path(witness.path).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class WitnessedTarget:
    """A zarr array for ``dask.array.store`` whose writes on a worker first check the Witness."""

    array: Any
    witness: Witness

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> Any:
        return self.array.dtype

    def __setitem__(self, key: Any, value: Any) -> None:
        self.witness.check()
        self.array[key] = value


def _message(missing: dict[str, list[Path]]) -> str:
    folders = sorted({str(p) for lost in missing.values() for p in lost})
    return (
        f"The Dask workers {sorted(missing)} cannot see the folder(s) {folders} on {socket.gethostname()} "
        "that this write goes to (they run on other machines or in other containers), so what they wrote "
        "would be lost; nothing was sent to them. Workers write straight into the destination: write to a "
        "folder (or a .zip, which is assembled in a staging folder beside it) on a filesystem every worker "
        "mounts at the same path, or to an object store (s3://), or drop client= (--scheduler)."
    )
