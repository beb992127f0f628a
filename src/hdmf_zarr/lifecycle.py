"""The life of an in-place write: writer exclusion, the in-progress mark, repair of interrupted writes.

Layer: store back-ends (below ``store``). A writer that modifies a store in place holds it for the
whole session: on local folders an OS lock (``flock``) on the store folder, and everywhere the
in-progress mark (``_format.WRITE_MARK_KEY``), created only if absent (a conditional put on object
stores) and removed by a successful close. Readers take no lock and are never blocked. A mark whose
writer is gone is an interrupted write (docs/format.md#writes-in-progress): writers refuse the store
unless asked to repair it, and repair drops everything no completed write recorded in the
consolidated metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from zarr.abc.store import Store
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.core.sync import sync

from hdmf_zarr import _format as fmt
from hdmf_zarr._version import __version__
from hdmf_zarr.errors import FormatError, InterruptedWriteError, StoreBusyError
from hdmf_zarr.staging import open_for_lock, try_lock

#: How long a writer waits for another writer to finish before it gives up (seconds).
DEFAULT_LOCK_TIMEOUT: Final = 30.0
_LOCAL_POLL_S: Final = 0.05
_REMOTE_POLL_S: Final = 0.5
_MAX_CONCURRENT_DELETES: Final = 32

WriteState = Literal["complete", "being written", "interrupted", "being written or interrupted"]


# -- OS locks on local folders ----------------------------------------------------------------------
@dataclass(slots=True)
class FolderLock:
    """An exclusive OS lock on a store folder (or zip file), held by one writer at a time."""

    path: Path
    fd: int | None

    @classmethod
    def acquire(cls, path: Path, *, timeout: float, where: str) -> FolderLock | None:
        """Wait up to *timeout* s for the lock; None when the filesystem has no flock."""
        if sys.platform == "win32":
            return None  # no flock: the in-progress mark alone excludes writers
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(FileNotFoundError):  # swapped away this instant: try again
                fd = open_for_lock(path)
                taken = try_lock(fd)
                if taken is None:
                    os.close(fd)
                    return None
                if taken and _same_file(path, fd):
                    return cls(path, fd)
                os.close(fd)  # busy, or replaced while we waited (mode 'w' swapped a new file in)
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"{where} is being written by another process, which holds its lock; waited "
                    f"{timeout:g} s. Try again when it has finished, or pass a longer lock_timeout=."
                )
            time.sleep(_LOCAL_POLL_S)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor frees the lock
            self.fd = None


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def writer_running(path: Path) -> bool | None:
    """Whether a writer holds the lock of the local store *path* now (None: cannot tell)."""
    try:
        fd = open_for_lock(path)
    except OSError:
        return None
    try:
        taken = try_lock(fd)
        return None if taken is None else not taken
    finally:
        os.close(fd)  # frees the lock at once if the probe took it


# -- the in-progress mark ----------------------------------------------------------------------------
def new_mark(mode: str, *, conversion_of: str | None = None) -> fmt.WriteMarkRecord:
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return fmt.WriteMarkRecord(
        mode=mode,
        started=started,
        host=socket.gethostname(),
        pid=os.getpid(),
        token=uuid.uuid4().hex,
        writer=f"hdmf_zarr {__version__}",
        conversion_of=conversion_of,
    )


def process_running(mark: fmt.WriteMarkRecord) -> bool | None:
    """Whether the process that put *mark* still runs: known only on the host that put it (else None).

    A live writer is never taken for a dead one (a reused process id only makes a dead one look alive);
    a zombie (killed, not yet reaped by its parent) counts as gone.
    """
    if mark.host != socket.gethostname() or mark.pid <= 0 or sys.platform == "win32":
        return None
    try:
        os.kill(mark.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        stat = Path(f"/proc/{mark.pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def no_completed_file_message(where: str, mark: fmt.WriteMarkRecord, *, running: bool | None) -> str:
    """What a reader of a store that holds only an unfinished write is told, with what to do."""
    if running is None:
        state = "is still running or was interrupted before it finished"
    else:
        state = "is still running" if running else "was interrupted before it finished (its process is gone)"
    text = f"{where} holds no completed file: {mark.describe()} {state}. "
    if mark.conversion_of is not None:
        again = "Run the same conversion again (hdmf-zarr convert / hdmf_zarr.convert)"
        if running is False:
            return text + again + ": it replaces what the interrupted one left."
        return (
            text + "If it is no longer running, run the same conversion again with --force "
            "(force_overwrite=True): it replaces what the interrupted one left."
        )
    return text + "Open it with mode='a', repair=True to start it afresh, or with mode='w' to replace it."


def parse_mark(raw: bytes, *, where: str) -> fmt.WriteMarkRecord:
    """The mark's record; an unreadable mark still counts as a mark (its details are unknown)."""
    try:
        return fmt.WriteMarkRecord.from_json(json.loads(raw), where=where)
    except (ValueError, FormatError):
        return fmt.WriteMarkRecord("unknown", "an unknown time", "?", -1, "", "unreadable mark")


async def _get(store: Store, key: str) -> bytes | None:
    buf = await store.get(key, prototype=default_buffer_prototype())
    return None if buf is None else buf.to_bytes()


def read_mark(store: Store, *, where: str) -> fmt.WriteMarkRecord | None:
    raw = sync(_get(store, fmt.WRITE_MARK_KEY))
    return None if raw is None else parse_mark(raw, where=where)


async def _create_only(store: Store, key: str, buf: Buffer) -> None:
    """Write *key* only if absent: a conditional put (If-None-Match) where the store offers one.

    zarr's obstore-backed store does so itself; its fsspec store checks, then writes (a race), so the
    fsspec filesystem's own create-only put is used when it has one (s3fs does).
    """
    fs, path = getattr(store, "fs", None), getattr(store, "path", None)
    pipe = getattr(fs, "_pipe_file", None)
    if isinstance(path, str) and pipe is not None and "mode" in inspect.signature(pipe).parameters:
        with contextlib.suppress(FileExistsError):
            await pipe(f"{path.rstrip('/')}/{key}", buf.to_bytes(), mode="create")
        return
    await store.set_if_not_exists(key, buf)


def _put_mark(store: Store, record: fmt.WriteMarkRecord, *, exclusive: bool, where: str) -> bool:
    """Write the mark; exclusive: only if absent, and True only if this record is the one stored."""
    buf = default_buffer_prototype().buffer.from_bytes(json.dumps(record.to_json()).encode())
    if not exclusive:
        sync(store.set(fmt.WRITE_MARK_KEY, buf))
        return True
    sync(_create_only(store, fmt.WRITE_MARK_KEY, buf))
    stored = read_mark(store, where=where)
    return stored is not None and stored.token == record.token


def interrupted_message(where: str, mark: fmt.WriteMarkRecord) -> str:
    return (
        f"{where} holds an interrupted write: {mark.describe()} never finished. The last completed write "
        "is intact; what the interrupted write left is not part of the file. Open it with mode='a' (or "
        "'r+') and repair=True to drop those leftovers, or with mode='r' to read the last completed write."
    )


# -- a writer's session ------------------------------------------------------------------------------
@dataclass(slots=True)
class WriteSession:
    """What one writer holds on a store: the OS lock (local folders) and/or the in-progress mark."""

    store: Store | None  # None: a lock only (a zip or a folder being replaced by a staged file)
    where: str
    lock: FolderLock | None = None
    marked: bool = False
    repaired: RepairReport | None = None
    _ended: bool = field(default=False, repr=False)

    def take_mark(
        self, store: Store, mode: str, *, timeout: float, repair: bool, conversion_of: str | None = None
    ) -> None:
        """Put this writer's mark, waiting for another writer's mark to go (bounded by *timeout*)."""
        self.store = store
        record = new_mark(mode, conversion_of=conversion_of)
        deadline = time.monotonic() + timeout
        while True:
            existing = read_mark(store, where=self.where)
            if existing is not None and (self.lock is not None or repair):
                # Under the OS lock no other writer runs: the mark is an interrupted write's.
                if not repair:
                    raise InterruptedWriteError(interrupted_message(self.where, existing))
                self.marked = _put_mark(store, record, exclusive=False, where=self.where)
                self.repaired = repair_store(store)
                return
            if existing is None and _put_mark(store, record, exclusive=self.lock is None, where=self.where):
                self.marked = True
                return
            if time.monotonic() >= deadline:
                what = existing.describe() if existing is not None else "another writer"
                raise StoreBusyError(
                    f"{self.where} is being written: {what}; waited {timeout:g} s for it to finish. Try "
                    "again later or pass a longer lock_timeout=; if no writer is running any more (it was "
                    "killed), open with repair=True."
                )
            time.sleep(_REMOTE_POLL_S)

    def recover(self) -> None:
        """After a failed write: drop what it left, keeping the mark (and the lock) until :meth:`end`."""
        if self.marked and self.store is not None:
            self.repaired = repair_store(self.store)

    def end(self, *, ok: bool) -> None:
        """Remove the mark (after dropping a failed write's leftovers) and release the lock; idempotent."""
        if self._ended:
            return
        self._ended = True
        try:
            if self.marked and self.store is not None:
                if not ok:
                    repair_store(self.store)
                sync(self.store.delete(fmt.WRITE_MARK_KEY))
                self.marked = False
        finally:
            self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def hold_lock(path: Path, *, where: str, timeout: float) -> WriteSession:
    """A session that only holds the OS lock of *path* (a zip, or a folder a staged file will replace)."""
    return WriteSession(None, where, FolderLock.acquire(path, timeout=timeout, where=where))


def begin_session(
    store: Store,
    *,
    mode: str,
    where: str,
    folder: Path | None,
    timeout: float,
    repair: bool,
    conversion_of: str | None = None,
) -> WriteSession:
    """Take *store* for one in-place writer: the OS lock of *folder* (if given), then the mark."""
    lock = FolderLock.acquire(folder, timeout=timeout, where=where) if folder is not None else None
    session = WriteSession(store, where, lock)
    try:
        session.take_mark(store, mode, timeout=timeout, repair=repair, conversion_of=conversion_of)
    except BaseException:
        session.release()
        raise
    return session


def clear_keeping_mark(store: Store) -> None:
    """Delete every key of *store* but the mark (mode 'w' with force_overwrite on an object store)."""

    async def clear() -> None:
        keys = [key async for key in store.list() if key != fmt.WRITE_MARK_KEY]
        await _bounded(store.delete(key) for key in keys)

    sync(clear())


def write_state(
    store: Store, *, where: str, folder: Path | None
) -> tuple[WriteState, fmt.WriteMarkRecord | None]:
    """Whether *store* is complete, being written, or holds an interrupted write (and its mark)."""
    mark = read_mark(store, where=where)
    if mark is None:
        return "complete", None
    running = writer_running(folder) if folder is not None else process_running(mark)
    if running is None:
        return "being written or interrupted", mark
    return ("being written" if running else "interrupted"), mark


# -- repair ------------------------------------------------------------------------------------------
_V2_DOCS: Final = (fmt.V2_ARRAY_KEY, fmt.V2_GROUP_KEY, fmt.V2_ATTRS_KEY)


@dataclass(slots=True)
class RepairReport:
    """What a repair changed: nodes dropped, documents restored, chunks dropped."""

    dropped_nodes: list[str] = field(default_factory=list)
    restored_documents: list[str] = field(default_factory=list)
    dropped_chunks: int = 0
    emptied: bool = False  # no completed write: everything was removed


@dataclass(slots=True)
class _Node:
    docs: dict[str, Any]  # document name -> JSON, as the consolidated metadata records it
    is_array: bool


def _without_block(doc: Any) -> Any:
    if isinstance(doc, Mapping):
        return {k: v for k, v in doc.items() if k != "consolidated_metadata"}
    return doc


def _recorded_v3(root: Mapping[str, Any]) -> dict[str, _Node] | None:
    block = root.get("consolidated_metadata")
    if not isinstance(block, Mapping) or not isinstance(block.get("metadata"), Mapping):
        return None
    nodes = {"": _Node({}, is_array=False)}  # the root document is the record itself: never rewritten
    for path, doc in block["metadata"].items():
        is_array = isinstance(doc, Mapping) and doc.get("node_type") == "array"
        nodes[str(path)] = _Node({fmt.V3_METADATA_KEY: _without_block(doc)}, is_array)
    return nodes


def _recorded_v2(consolidated: Mapping[str, Any]) -> dict[str, _Node] | None:
    docs = consolidated.get("metadata")
    if not isinstance(docs, Mapping):
        return None
    nodes: dict[str, _Node] = {}
    for key, doc in docs.items():
        folder, _, name = str(key).rpartition("/")
        if name in _V2_DOCS:
            node = nodes.setdefault(folder, _Node({}, is_array=False))
            node.docs[name] = doc
            node.is_array = node.is_array or name == fmt.V2_ARRAY_KEY
    return nodes


def _chunk_outside(rest: str, doc: Mapping[str, Any]) -> bool:
    """Whether the key *rest* (below an array) is a chunk wholly outside the array's recorded shape."""
    shape = doc.get("shape")
    if "chunk_grid" in doc:  # v3
        chunks = doc["chunk_grid"].get("configuration", {}).get("chunk_shape")
        encoding = doc.get("chunk_key_encoding", {})
        separator = encoding.get("configuration", {}).get("separator", "/")
        if encoding.get("name", "default") == "default":
            if not rest.startswith("c"):
                return False
            rest = rest[2:] if rest != "c" else ""
    else:  # v2
        chunks = doc.get("chunks")
        separator = doc.get("dimension_separator") or "."
    if not isinstance(shape, list) or not isinstance(chunks, list) or not shape:
        return False
    try:
        coords = [int(part) for part in rest.split(separator)]
    except ValueError:
        return False
    if len(coords) != len(shape) or len(chunks) != len(shape):
        return False
    return any(c * n >= s for c, n, s in zip(coords, chunks, shape, strict=True))


def _owner(key: str, recorded: Mapping[str, _Node]) -> tuple[str, str]:
    """The deepest recorded node above *key*, and the rest of the key below it."""
    parts = key.split("/")
    node = ""
    for i in range(1, len(parts)):
        candidate = "/".join(parts[:i])
        if candidate not in recorded:
            break
        node = candidate
    rest = key[len(node) + 1 :] if node else key
    return node, rest


@dataclass(slots=True)
class _Plan:
    drop_prefixes: set[str] = field(default_factory=set)
    drop_keys: list[str] = field(default_factory=list)
    restore: dict[str, Any] = field(default_factory=dict)
    compare: dict[str, Any] = field(default_factory=dict)  # key -> recorded document, if stored differs


def _plan_repair(keys: list[str], recorded: Mapping[str, _Node]) -> _Plan:
    plan = _Plan()
    for key in keys:
        if key in (fmt.WRITE_MARK_KEY, fmt.V3_METADATA_KEY, fmt.V2_CONSOLIDATED_KEY):
            continue
        node_path, rest = _owner(key, recorded)
        node = recorded[node_path]
        if "/" not in rest and rest in (fmt.V3_METADATA_KEY, *_V2_DOCS):
            if rest in node.docs:
                plan.compare[key] = node.docs[rest]
            else:
                plan.drop_keys.append(key)  # e.g. a v2 .zattrs the interrupted write added
        elif node.is_array:
            if _chunk_outside(rest, node.docs.get(fmt.V3_METADATA_KEY) or node.docs[fmt.V2_ARRAY_KEY]):
                plan.drop_keys.append(key)
        elif "/" in rest:  # inside a child no completed write recorded
            child = rest.split("/", 1)[0]
            plan.drop_prefixes.add(f"{node_path}/{child}" if node_path else child)
    return plan


async def _repair(store: Store) -> RepairReport:
    report = RepairReport()
    keys = [key async for key in store.list()]
    root_v3 = await _get(store, fmt.V3_METADATA_KEY)
    consolidated_v2 = await _get(store, fmt.V2_CONSOLIDATED_KEY) if root_v3 is None else None
    if root_v3 is None and consolidated_v2 is None and fmt.V2_GROUP_KEY not in keys:
        # No completed write: nothing in the store belongs to a file (folders go whole, not key by key).
        tops = {k.split("/", 1)[0] for k in keys if "/" in k}
        await _bounded(store.delete_dir(top) for top in sorted(tops))
        await _bounded(store.delete(k) for k in keys if "/" not in k and k != fmt.WRITE_MARK_KEY)
        report.emptied = True
        return report
    if root_v3 is not None:
        recorded = _recorded_v3(json.loads(root_v3))
    else:
        recorded = _recorded_v2(json.loads(consolidated_v2)) if consolidated_v2 is not None else None
    if recorded is None:
        return report  # no consolidated metadata: nothing tells leftovers from the file; keep all
    plan = _plan_repair(keys, recorded)
    for key, doc in plan.compare.items():
        stored = await _get(store, key)
        if stored is None or _without_block(json.loads(stored)) != doc:
            plan.restore[key] = doc
    await _bounded(store.delete_dir(prefix) for prefix in sorted(plan.drop_prefixes))
    await _bounded(store.delete(key) for key in plan.drop_keys)
    proto = default_buffer_prototype()
    await _bounded(
        store.set(key, proto.buffer.from_bytes(json.dumps(doc, indent=2).encode()))
        for key, doc in plan.restore.items()
    )
    report.dropped_nodes = sorted("/" + p for p in plan.drop_prefixes)
    report.restored_documents = sorted(plan.restore)
    report.dropped_chunks = len(plan.drop_keys)
    return report


async def _bounded(coros: Any) -> None:
    semaphore = asyncio.Semaphore(_MAX_CONCURRENT_DELETES)

    async def one(coro: Any) -> None:
        async with semaphore:
            await coro

    await asyncio.gather(*(one(c) for c in coros))


def repair_store(store: Store) -> RepairReport:
    """Drop what no completed write recorded in the consolidated metadata (docs/format.md)."""
    return sync(_repair(store))
