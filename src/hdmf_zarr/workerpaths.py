"""Check that the workers of a Dask cluster see the local folder a write sends them to.

Layer: parallel (beside ``parallel``). Workers write their regions straight into the destination's
store. When that store is a local folder (a Zarr folder, or the staging folder a ``.zip`` is assembled
in), a worker on another machine (or in another container) would write into a folder of its own disk at
the same path, and the file published here would silently lack its chunks. So before any task is sent,
a probe file with a random token is put at the root of each such folder and every worker must read it
back; a worker that cannot is named in a ParallelWriteError and nothing is sent. The probe is removed at
once (docs/format.md#writes-in-progress).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Sequence
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


def check_workers_see(client: Any, roots: Sequence[Path]) -> None:
    """Raise ParallelWriteError unless every worker of *client* sees every folder of *roots*."""
    if not roots:
        return
    token = uuid.uuid4().hex
    probes = [(root / f"{fmt.WORKER_PROBE_PREFIX}{token}", token) for root in roots]
    try:
        for path, text in probes:
            path.write_text(text, encoding="utf-8")
        results = client.run(probe_reads, [(os.fspath(p), t) for p, t in probes])
    finally:
        for path, _text in probes:
            path.unlink(missing_ok=True)
    missing = unseen(results, roots)
    if missing:
        raise ParallelWriteError(_message(missing))


def _message(missing: dict[str, list[Path]]) -> str:
    folders = sorted({str(p) for lost in missing.values() for p in lost})
    return (
        f"The Dask workers {sorted(missing)} cannot see the folder(s) {folders} on {socket.gethostname()} "
        "that this write goes to (they run on other machines or in other containers), so what they wrote "
        "would be lost; nothing was sent to them. Workers write straight into the destination: write to a "
        "folder (or a .zip, which is assembled in a staging folder beside it) on a filesystem every worker "
        "mounts at the same path, or to an object store (s3://), or drop client= (--scheduler)."
    )
