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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from zarr.abc.store import Store
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.storage import LocalStore

#: Concurrent requests for stores reached over a network (bounded to keep memory and sockets bounded).
MAX_CONCURRENT_PUTS = 64
_THREADS = 4
#: New objects handed to a writer thread at once by :class:`NewObjects` (a few hundred small files).
STREAM_BATCH = 256
#: Batches started and not yet written at most (memory stays bounded when the disk is slower).
QUEUED_BATCHES = 4 * _THREADS


def _local_root(store: Store) -> Path | None:
    root = getattr(store, "root", None)
    return Path(root) if isinstance(store, LocalStore) and root is not None and not store.read_only else None


def _write_files(root: Path, items: Sequence[tuple[str, bytes]], made: set[str] | None = None) -> None:
    """Write *items* (sorted by key, so that a folder's files come together) with plain os calls.

    *made* holds the folders known to exist; threads may share it (a folder missing from it is made
    again, at the cost of one failed ``mkdir``).
    """
    made = set() if made is None else made
    base = os.fspath(root)
    for key, data in items:
        target = os.path.join(base, key)
        folder = os.path.dirname(target)
        if folder not in made:
            _make_folder(folder, made)
        write_file(target, data)


#: Flags of a new object's file: created or truncated, never inherited by a child process, and
#: binary (Windows would otherwise translate line ends).
_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def write_file(target: str, data: bytes | memoryview) -> None:
    """Write *data* as the whole file *target* with plain os calls.

    ``open(..., "wb")`` also asks the file's size, whether it is a terminal and its position, three
    system calls per file that thousands of small objects pay for nothing.
    """
    try:
        fd = os.open(target, _CREATE_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(target)) from exc  # say which file


def _make_folder(folder: str, made: set[str]) -> None:
    """``mkdir -p`` that remembers what exists: one ``mkdir`` per new folder, none for known ones."""
    parent = os.path.dirname(folder)
    if parent != folder and parent not in made and not os.path.isdir(parent):
        _make_folder(parent, made)
    made.add(parent)
    try:
        os.mkdir(folder)
    except FileExistsError:
        if not os.path.isdir(folder):
            raise
    made.add(folder)


def _as_bytes(value: Buffer | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.to_bytes()


async def put_existing(store: Store, items: Iterable[tuple[str, Buffer | bytes]]) -> None:
    """Put objects that may replace existing ones, through the store's own atomic ``set``."""
    proto = default_buffer_prototype()
    sem = asyncio.Semaphore(MAX_CONCURRENT_PUTS)

    async def put(key: str, value: Buffer | bytes) -> None:
        buf = proto.buffer.from_bytes(value) if isinstance(value, bytes) else value
        async with sem:
            await store.set(key, buf)

    await asyncio.gather(*(put(k, v) for k, v in items))


class NewObjects:
    """New objects put while the caller goes on producing the next ones (``async with``).

    On a local folder, every ``STREAM_BATCH`` objects added go to a writer thread at once: file
    syscalls release the GIL, so the files of the first nodes are written while the next nodes' documents
    are made. Other stores get their objects put concurrently when the block ends. Leaving the block
    waits for every write started (also on an error, so that nothing is written after the caller's
    clean-up); the first write that failed is raised.
    """

    def __init__(self, store: Store, *, batch: int = STREAM_BATCH) -> None:
        self._store = store
        self._root = _local_root(store)
        self._batch = batch
        self._pending: list[tuple[str, bytes]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._started: list[Future[None]] = []
        self._made: set[str] = set()  # folders made by this block's writer threads

    async def __aenter__(self) -> NewObjects:
        return self

    async def add(self, items: Iterable[tuple[str, Buffer | bytes]]) -> None:
        """Put *items* (keys not in the store yet); on a local folder, start writing a full batch now.

        When the disk lags, this waits for the oldest batch: at most ``QUEUED_BATCHES`` are held.
        """
        self._pending.extend((k, _as_bytes(v)) for k, v in items)
        if self._root is not None and len(self._pending) >= self._batch:
            self._start()
            while len(self._started) > QUEUED_BATCHES:
                await asyncio.wrap_future(self._started.pop(0))

    def _start(self) -> None:
        assert self._root is not None
        batch, self._pending = sorted(self._pending, key=lambda kv: kv[0]), []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="hdmf_zarr-put")
        self._started.append(self._pool.submit(_write_files, self._root, batch, self._made))

    async def drain(self) -> None:
        """Put every object added so far and wait for it (e.g. before other processes read them)."""
        pending, self._pending = self._pending, []
        if pending and self._root is None:
            await put_existing(self._store, pending)
        elif pending:
            self._pending = pending
            self._start()
        started, self._started = self._started, []
        outcomes = await asyncio.gather(*(asyncio.wrap_future(f) for f in started), return_exceptions=True)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                await self.drain()
            else:  # the caller failed: let the writes already started end, then report the caller's error
                self._pending = []
                await asyncio.gather(*(asyncio.wrap_future(f) for f in self._started), return_exceptions=True)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


def local_path(store: Store, key: str) -> str | None:
    """The filesystem path of *key* in a local store, or None for other stores."""
    root = _local_root(store)
    return os.fspath(root / key) if root is not None else None
