"""Bulk puts of many small objects (node documents, small chunks) into a store.

Layer: primitives (beside ``store``). On a local folder, new keys are written straight to files from a
thread pool, creating each folder once; zarr's LocalStore pays a temporary file, a rename and a
``mkdir`` per key, which dominates writing thousands of small nodes. Keys that may already exist go
through the store's own (atomic) ``set``. Other stores get concurrent ``set`` calls.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zarr.abc.store import Store
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.storage import LocalStore

#: Concurrent requests for stores reached over a network (bounded to keep memory and sockets bounded).
MAX_CONCURRENT_PUTS = 64
_THREADS = 4


def _local_root(store: Store) -> Path | None:
    root = getattr(store, "root", None)
    return Path(root) if isinstance(store, LocalStore) and root is not None and not store.read_only else None


def _write_files(root: Path, items: Sequence[tuple[str, bytes]]) -> None:
    made: set[Path] = set()
    for key, data in items:
        target = root / key
        folder = target.parent
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        try:
            with open(target, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            if exc.filename is not None:
                raise
            raise OSError(exc.errno, exc.strerror, os.fspath(target)) from exc  # say which file


def _as_bytes(value: Buffer | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.to_bytes()


async def put_new(store: Store, items: Iterable[tuple[str, Buffer | bytes]]) -> None:
    """Put objects under keys that do not exist yet (new nodes of a write)."""
    pairs = [(k, _as_bytes(v)) for k, v in items]
    root = _local_root(store)
    if root is not None:
        shards = [pairs[i::_THREADS] for i in range(_THREADS)]
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, _write_files, root, s) for s in shards if s))
        return
    await put_existing(store, pairs)


async def put_existing(store: Store, items: Iterable[tuple[str, Buffer | bytes]]) -> None:
    """Put objects that may replace existing ones, through the store's own atomic ``set``."""
    proto = default_buffer_prototype()
    sem = asyncio.Semaphore(MAX_CONCURRENT_PUTS)

    async def put(key: str, value: Buffer | bytes) -> None:
        buf = proto.buffer.from_bytes(value) if isinstance(value, bytes) else value
        async with sem:
            await store.set(key, buf)

    await asyncio.gather(*(put(k, v) for k, v in items))


def local_path(store: Store, key: str) -> str | None:
    """The filesystem path of *key* in a local store, or None for other stores."""
    root = _local_root(store)
    return os.fspath(root / key) if root is not None else None
