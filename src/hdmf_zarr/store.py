"""One door for stores: anything store-like becomes a zarr Store, opened in an access mode.

Layer: primitives. The only module that interprets strings, ``pathlib.Path``, URLs and
``storage_options``. Callers receive an :class:`OpenedStore` and never inspect store types.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args

import zarr
from zarr.abc.store import Store
from zarr.core.group import AsyncGroup, GroupMetadata
from zarr.storage import LocalStore, MemoryStore, StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr.confine import ConfinedLocalStore
from hdmf_zarr.errors import (
    METADATA_ERRORS,
    CorruptDataError,
    FormatError,
    InterruptedWriteError,
    InterruptedWriteWarning,
    InvalidOptionError,
    ModeError,
    NoConsolidatedMetadataWarning,
    ReadOnlyStoreError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    decoding,
)
from hdmf_zarr.lifecycle import (
    DEFAULT_LOCK_TIMEOUT,
    WriteSession,
    WriteState,
    begin_session,
    clear_keeping_mark,
    hold_lock,
    no_completed_file_message,
    parse_mark,
    process_running,
    write_state,
    writer_running,
)
from hdmf_zarr.metacheck import damaged_root
from hdmf_zarr.remote import READ_ONLY_SCHEMES, open_url
from hdmf_zarr.staging import Staged, StagingFolder, remove_debris
from hdmf_zarr.ziparchive import StagedZip, zip_dialect
from hdmf_zarr.ziparchive import read_store as read_zip

Mode = Literal["r", "r+", "a", "w", "w-", "x"]
MODES: Final[tuple[str, ...]] = get_args(Mode)
WRITE_MODES: Final = frozenset({"r+", "a", "w", "w-", "x"})
CREATE_MODES: Final = frozenset({"w", "w-", "x"})

StoreLike = str | os.PathLike[str] | Store


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """The identity of a store: where it lives, used to compare stores and to resolve ``source``."""

    url: str  # absolute filesystem path, a URL, or "memory://<id>" for in-memory stores
    storage_options: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_local(self) -> bool:
        return "://" not in self.url

    def describe(self) -> str:
        return self.url


@dataclass(slots=True)
class OpenedStore:
    """A store opened in a mode, with its location and how to release it."""

    store: Store
    location: StoreLocation
    mode: Mode
    zarr_format: fmt.ZarrFormat | None  # the dialect found in an existing store; None for a new one
    staged: Staged | None = None  # a file written aside (staging.py, zip): published on a successful close
    root_document: bytes | None = None  # the v3 root zarr.json, when detecting the dialect fetched it
    session: WriteSession | None = None  # a writer's lock and in-progress mark (lifecycle.py)

    @property
    def writable(self) -> bool:
        return self.mode in WRITE_MODES

    def recover(self) -> None:
        """After a failed in-place write: drop what it left (the file is as the last completed write)."""
        if self.session is not None and self.staged is None:
            self.session.recover()

    def close(self, *, commit: bool = True) -> None:
        """Release the store; a staged file is published (commit) or thrown away (a failed write).

        In-place writers remove their mark before the store closes (after dropping a failed write's
        leftovers); the lock is released last, after a staged file took the old one's place.
        """
        try:
            if self.session is not None and self.staged is None:
                self.session.end(ok=commit)
            self.store.close()
            if self.staged is not None:
                staged, self.staged = self.staged, None
                if commit:
                    staged.commit()
                else:
                    staged.discard()
        finally:
            if self.session is not None:
                self.session.release()


def check_mode(mode: str) -> Mode:
    """Return *mode* if it is a known access mode, else raise ModeError naming the valid ones."""
    if mode not in MODES:
        raise ModeError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)} ('r' reads, 'w' creates).")
    return mode  # type: ignore[return-value]


def describe_source(store_like: StoreLike) -> str:
    """Return a human-readable, stable description of *store_like* (used as the IO's ``source``)."""
    if isinstance(store_like, LocalStore):
        return str(Path(store_like.root).resolve())
    if isinstance(store_like, Store):
        return store_url(store_like) or f"{type(store_like).__name__}({id(store_like):x})"
    if not isinstance(store_like, str | os.PathLike):
        raise StoreError(
            f"Cannot open {store_like!r} ({type(store_like).__name__}) as a Zarr store: give a folder path, "
            "a '.zip' path, a URL or a zarr Store."
        )
    text = os.fspath(store_like)
    if "://" in text:
        return text
    return str(Path(text).expanduser().resolve())


def store_url(store: Store) -> str | None:
    """The path or URL a store reads from, when it has one (zip files, object stores, fsspec)."""
    inner = getattr(store, "store", None)  # zarr's ObjectStore wraps an obstore store
    config = getattr(inner, "config", None)
    if isinstance(config, Mapping) and "bucket" in config:
        scheme = "gs" if type(inner).__name__.startswith("GCS") else "s3"
        prefix = (getattr(inner, "prefix", None) or "").strip("/")
        return f"{scheme}://{config['bucket']}/{prefix}".rstrip("/")
    url = getattr(inner, "url", None)
    if isinstance(url, str):
        return url.rstrip("/")
    fs, path = getattr(store, "fs", None), getattr(store, "path", None)
    if fs is not None and isinstance(path, str):
        protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
        return path if protocol in ("file", "local") else f"{protocol}://{path}".rstrip("/")
    zip_path = getattr(store, "path", None)
    if isinstance(zip_path, str | os.PathLike) and type(store).__name__ == "ZipStore":
        return str(Path(zip_path).resolve())
    return None


def location_of(store_like: StoreLike, storage_options: Mapping[str, Any] | None = None) -> StoreLocation:
    """Return the StoreLocation of *store_like* without opening it."""
    if isinstance(store_like, MemoryStore):
        return StoreLocation(f"memory://{id(store_like):x}")
    return StoreLocation(describe_source(store_like), dict(storage_options or {}))


def _detect_local_format(root: Path) -> fmt.ZarrFormat | None:
    if (root / fmt.V3_METADATA_KEY).is_file():
        return 3
    if (root / fmt.V2_GROUP_KEY).is_file() or (root / fmt.V2_CONSOLIDATED_KEY).is_file():
        return 2
    return None


@dataclass(frozen=True, slots=True)
class _Found:
    zarr_format: fmt.ZarrFormat | None
    root_document: bytes | None  # the v3 root document, fetched by the detection
    mark: bytes | None  # the in-progress mark (docs/format.md#writes-in-progress), fetched alongside


async def _detect_store_format(store: Store) -> _Found:
    import asyncio

    from zarr.core.buffer import default_buffer_prototype

    proto = default_buffer_prototype()
    root_doc, mark = await asyncio.gather(
        store.get(fmt.V3_METADATA_KEY, prototype=proto), store.get(fmt.WRITE_MARK_KEY, prototype=proto)
    )
    mark_bytes = None if mark is None else mark.to_bytes()
    if root_doc is not None:
        return _Found(3, root_doc.to_bytes(), mark_bytes)
    for key in (fmt.V2_GROUP_KEY, fmt.V2_CONSOLIDATED_KEY):
        if await store.get(key, prototype=proto) is not None:
            return _Found(2, None, mark_bytes)
    return _Found(None, None, mark_bytes)


def detect_format(store: Store) -> fmt.ZarrFormat | None:
    """Return the dialect of the group at the root of *store*, or None when it holds no group."""
    return _detect(store).zarr_format


def _detect(store: Store) -> _Found:
    """The dialect, the v3 root document and the mark (one concurrent round of reads, no listing)."""
    from zarr.core.sync import sync

    return sync(_detect_store_format(store))


def _store_holds_keys(store: Store) -> bool:
    from zarr.core.sync import sync

    async def first() -> bool:
        async for _key in store.list_prefix(""):
            return True
        return False

    return sync(first())


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How a writer takes a store: wait for another writer (seconds), and repair an interrupted write."""

    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    repair: bool = False
    conversion_of: str | None = None  # named in the in-progress mark of a new file written in place


def _warn_if_interrupted(where: str, mark: bytes | None, folder: Path | None) -> None:
    """Readers are told when the store holds an interrupted write (they read the last completed one)."""
    if mark is None:
        return
    running = writer_running(folder) if folder is not None else None
    if running:
        return  # a writer is at work: readers see the last completed write, as always
    record = parse_mark(mark, where=where)
    state = "was interrupted" if running is False else "is still running or was interrupted"
    warnings.warn(
        f"{where}: {record.describe()} {state}. What is read here is the last completed write. "
        "To drop what the unfinished write left, open it with mode='a', repair=True.",
        InterruptedWriteWarning,
        stacklevel=4,
    )


def _no_completed_write(where: str, mark: bytes, folder: Path | None = None) -> InterruptedWriteError:
    record = parse_mark(mark, where=where)
    running = writer_running(folder) if folder is not None else process_running(record)
    return InterruptedWriteError(no_completed_file_message(where, record, running=running))


def _holds_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _local_mark(path: Path) -> bytes | None:
    try:
        return (path / fmt.WRITE_MARK_KEY).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _open_local(path: Path, mode: Mode, *, force_overwrite: bool, options: WriteOptions) -> OpenedStore:
    where = str(path)
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"{where!r} is a file, not a Zarr store folder. Give a folder path or a '.zip' path."
        )
    if mode in CREATE_MODES:
        found = _detect_local_format(path) if path.is_dir() else None
        return _open_local_staged(path, mode, found, force_overwrite=force_overwrite, options=options)
    if mode == "a":
        path.mkdir(parents=True, exist_ok=True)
    store = ConfinedLocalStore(path, read_only=mode == "r")
    location = StoreLocation(str(path.resolve()))
    if mode == "r":
        found = _detect_local_format(path) if path.is_dir() else None
        mark = _local_mark(path)
        if found is None:
            if mark is not None:
                raise _no_completed_write(where, mark, path)
            raise _not_found_locally(where)
        _warn_if_interrupted(where, mark, path)
        return OpenedStore(store, location, mode, found)
    if not path.is_dir():
        raise _not_found_locally(where)
    session = begin_session(
        store, mode=mode, where=where, folder=path, timeout=options.lock_timeout, repair=options.repair
    )
    remove_debris(path)  # killed 'w' writers' staging folders beside this store
    found = _detect_local_format(path)  # under the lock, after any repair
    if mode == "r+" and found is None:
        session.end(ok=True)
        raise _not_found_locally(where)
    return OpenedStore(store, location, mode, found, session=session)


def _not_found_locally(where: str) -> StoreNotFoundError:
    if (Path(where) / fmt.V2_ARRAY_KEY).is_file():
        return StoreNotFoundError(
            f"{where!r} holds a Zarr v2 array, not a group: an HDMF file is a Zarr group. Open a single "
            "array with zarr.open_array instead."
        )
    return StoreNotFoundError(
        f"No Zarr store at {where!r} (no {fmt.V3_METADATA_KEY} or {fmt.V2_GROUP_KEY} there). "
        "Check the path, or open with mode='w' to create a new file."
    )


def _open_local_staged(
    path: Path, mode: Mode, found: fmt.ZarrFormat | None, *, force_overwrite: bool, options: WriteOptions
) -> OpenedStore:
    """A new file is written in a staging folder beside *path* and swapped in by a successful close."""
    where = str(path)
    ours = found is not None or _local_mark(path) is not None  # a file, or an interrupted write of one
    if mode in ("w-", "x") and (ours or _holds_files(path)):
        raise StoreExistsError(
            f"A Zarr store already exists at {where!r}; mode {mode!r} never replaces one. "
            "Nothing was deleted."
        )
    if mode == "w" and not ours and _holds_files(path) and not force_overwrite:
        raise StoreExistsError(
            f"{where!r} is a folder that holds files but no Zarr group (another program's folder, or a "
            "write that was killed before it finished). Nothing was deleted. Pass force_overwrite=True to "
            "replace it, or choose another path."
        )
    # An existing file stays locked while its replacement is written: appenders wait for the swap.
    session = hold_lock(path, where=where, timeout=options.lock_timeout) if path.is_dir() else None
    try:
        staged = StagingFolder.begin(path)
    except BaseException:
        if session is not None:
            session.release()
        raise
    staged.replace = mode == "w"
    store = ConfinedLocalStore(staged.path)
    return OpenedStore(store, StoreLocation(str(path.resolve())), mode, None, staged=staged, session=session)


def _open_existing(store: Store, mode: Mode, *, force_overwrite: bool, options: WriteOptions) -> OpenedStore:
    if isinstance(store, LocalStore) and mode != "r" and not store.read_only:
        return _open_local(Path(store.root), mode, force_overwrite=force_overwrite, options=options)
    if isinstance(store, MemoryStore) and mode == "w" and not store.read_only:
        return _open_memory_staged(store)
    found = _detect(store)
    where = describe_source(store)
    if mode == "r":
        return _open_for_reading(store, found)
    if store.read_only:
        raise ReadOnlyStoreError(f"The store {where} is read-only; it cannot be opened with mode {mode!r}.")
    if mode in CREATE_MODES:
        return _create_in_place(store, mode, found, force_overwrite=force_overwrite, options=options)
    if mode == "r+" and found.zarr_format is None and found.mark is None:
        raise _no_group(where)
    session = begin_session(
        store, mode=mode, where=where, folder=None, timeout=options.lock_timeout, repair=options.repair
    )
    found = _detect(store)  # after taking the store (and any repair)
    if mode == "r+" and found.zarr_format is None:
        session.end(ok=True)
        raise _no_group(where)
    return OpenedStore(
        store, location_of(store), mode, found.zarr_format, root_document=found.root_document, session=session
    )


def _no_group(where: str) -> StoreNotFoundError:
    return StoreNotFoundError(f"The store {where} holds no Zarr group; open with mode='w' to create one.")


def _open_for_reading(store: Store, found: _Found) -> OpenedStore:
    where = describe_source(store)
    if found.zarr_format is None:
        raise _no_group(where) if found.mark is None else _no_completed_write(where, found.mark)
    _warn_if_interrupted(where, found.mark, Path(store.root) if isinstance(store, LocalStore) else None)
    if not store.read_only:
        store = store.with_read_only(True)
    return OpenedStore(store, location_of(store), "r", found.zarr_format, root_document=found.root_document)


def _create_in_place(
    store: Store, mode: Mode, found: _Found, *, force_overwrite: bool, options: WriteOptions
) -> OpenedStore:
    """A new file in a store that cannot stage it aside (object stores, fsspec): written in place, marked."""
    where = describe_source(store)
    occupied = found.zarr_format is not None or found.mark is not None or _store_holds_keys(store)
    if mode in ("w-", "x") and occupied:
        raise StoreExistsError(
            f"The store {where} already holds a Zarr group (or another file's objects); mode {mode!r} never "
            "replaces it. Nothing was deleted."
        )
    if mode == "w" and occupied and not force_overwrite:
        raise StoreExistsError(
            f"The store {where} already holds a Zarr group (or another file's objects). Nothing was deleted. "
            "This kind of store cannot swap a new file in atomically, so mode 'w' replaces a file here only "
            "with force_overwrite=True, which deletes the old file before the new one is written. Or open "
            "with mode='a' to modify it, or write to another path."
        )
    # force_overwrite takes the store over even from a killed writer's mark; then the old file goes.
    session = begin_session(
        store,
        mode=mode,
        where=where,
        folder=None,
        timeout=options.lock_timeout,
        repair=force_overwrite,
        conversion_of=options.conversion_of,
    )
    if occupied:
        clear_keeping_mark(store)
    return OpenedStore(store, location_of(store), mode, None, session=session)


def _open_memory_staged(store: MemoryStore) -> OpenedStore:
    """Mode 'w' on a memory store: written into a fresh memory store, copied over the target on close."""
    staged = StagedMemory(target=store, staging=MemoryStore())
    return OpenedStore(staged.staging, location_of(store), "w", None, staged=staged)


@dataclass(slots=True)
class StagedMemory:
    """A new file for a memory store, held aside until the write succeeds (then it replaces the target)."""

    target: MemoryStore
    staging: MemoryStore

    def commit(self) -> None:
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        async def copy() -> None:
            await self.target.clear()
            async for key in self.staging.list():
                value = await self.staging.get(key, prototype=default_buffer_prototype())
                if value is not None:
                    await self.target.set(key, value)

        sync(copy())

    def discard(self) -> None:
        from zarr.core.sync import sync

        sync(self.staging.clear())


def _open_url(
    url: str,
    mode: Mode,
    storage_options: Mapping[str, Any] | None,
    *,
    force_overwrite: bool,
    options: WriteOptions,
) -> OpenedStore:
    scheme = url.partition("://")[0].lower()
    if scheme in READ_ONLY_SCHEMES and mode != "r":
        raise ReadOnlyStoreError(
            f"{url!r} is served over {scheme.upper()}, which is read-only; open it with mode='r', "
            "or write to a folder, a zip file or an object store (s3://, gs://) instead."
        )
    store = open_url(url, storage_options, read_only=mode == "r")
    opened = _open_existing(store, mode, force_overwrite=force_overwrite, options=options)
    opened.location = StoreLocation(url, dict(storage_options or {}))
    return opened


def _open_zip(path: Path, mode: Mode, *, options: WriteOptions) -> OpenedStore:
    where = str(path)
    exists = path.is_file()
    found = zip_dialect(path) if exists else None
    if mode in ("r", "r+") and found is None:
        raise StoreNotFoundError(
            f"No Zarr store in {where!r} (missing, or a zip without a root group). Check the path, or "
            "open with mode='w' to create it."
        )
    if mode in ("w-", "x") and exists:
        raise StoreExistsError(
            f"{where!r} already exists; mode {mode!r} never replaces it. Nothing was deleted."
        )
    location = StoreLocation(str(path.resolve()))
    if mode == "r":
        return OpenedStore(read_zip(path), location, mode, found)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Writers of an existing zip exclude each other (an appender copies it: two would lose one's work).
    session = hold_lock(path, where=where, timeout=options.lock_timeout) if exists else None
    try:
        staged = StagedZip.begin(path, copy_existing=mode in ("a", "r+"))
    except BaseException:
        if session is not None:
            session.release()
        raise
    dialect = zip_dialect(path) if mode in ("a", "r+") and exists else None
    return OpenedStore(staged.store(), location, mode, dialect, staged=staged, session=session)


def open_store(
    store_like: StoreLike,
    *,
    mode: str = "r",
    storage_options: Mapping[str, Any] | None = None,
    force_overwrite: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    repair: bool = False,
    conversion_of: str | None = None,
) -> OpenedStore:
    """Open *store_like* in *mode* and return the store with its location and dialect.

    ``r`` reads an existing store; ``r+`` modifies one; ``a`` modifies or creates; ``w`` creates or
    replaces; ``w-``/``x`` create and never replace. In create modes, folders, zip files and memory stores
    are written aside and published by a successful close (the old file stays until then); other stores
    (object stores, fsspec) replace a file only with ``force_overwrite`` (see README "Modes").

    Writers exclude each other: a second writer waits up to *lock_timeout* seconds, then raises
    StoreBusyError. A store holding an interrupted write is refused by writers unless *repair* is set,
    which drops what that write left (lifecycle.py). *conversion_of* (the source of a conversion) is
    recorded in the in-progress mark of a new file written in place, so that readers of an
    interrupted conversion are told how to finish it.
    """
    checked = check_mode(mode)
    if repair and checked not in ("a", "r+"):
        raise ModeError(f"repair=True repairs a file in place: use mode 'a' or 'r+', not {checked!r}.")
    options = WriteOptions(lock_timeout=lock_timeout, repair=repair, conversion_of=conversion_of)
    if isinstance(store_like, Store):
        _no_storage_options(storage_options, store_like)
        return _open_existing(store_like, checked, force_overwrite=force_overwrite, options=options)
    if isinstance(store_like, str | os.PathLike):
        text = os.fspath(store_like)
        if text.lower().startswith("file://"):
            text = text[len("file://") :]
        if "://" in text:
            return _open_url(text, checked, storage_options, force_overwrite=force_overwrite, options=options)
        _no_storage_options(storage_options, text)
        path = Path(text).expanduser()
        if path.suffix.lower() == ".zip":
            return _open_zip(path, checked, options=options)
        return _open_local(path, checked, force_overwrite=force_overwrite, options=options)
    raise StoreError(
        f"Cannot open {store_like!r} as a Zarr store: give a folder path, a '.zip' path, a URL "
        "or a zarr Store."
    )


def is_url(store_like: object) -> bool:
    """Whether *store_like* is a URL of an object store or HTTP server (``file://`` is a local path)."""
    if not isinstance(store_like, str | os.PathLike):
        return False
    text = os.fspath(store_like)
    return isinstance(text, str) and "://" in text and not text.lower().startswith("file://")


def _no_storage_options(storage_options: Mapping[str, Any] | None, target: object) -> None:
    """Refuse storage_options where nothing would honour them (local paths, zip files, zarr Stores)."""
    if storage_options:
        raise InvalidOptionError(
            f"storage_options {sorted(storage_options)!r} were given for {target!r}, which is not a URL: "
            "they configure clients of s3://, gs:// and http(s):// stores and would be ignored here. "
            "Drop them, or configure the zarr Store you pass."
        )


def open_root_group(opened: OpenedStore, *, zarr_format: fmt.ZarrFormat | None) -> zarr.Group:
    """Open (or create, for new stores) the root group of *opened*; a damaged root names its culprit."""
    try:
        return _open_root_group(opened, zarr_format=zarr_format)
    except (ValueError, TypeError, KeyError) as exc:
        damaged = damaged_root(opened.store, opened.location.describe()) if opened.zarr_format == 3 else None
        if damaged is None:
            raise
        raise damaged from exc


def _open_root_group(opened: OpenedStore, *, zarr_format: fmt.ZarrFormat | None) -> zarr.Group:
    if opened.zarr_format is None:
        zarr_format = zarr_format or fmt.DEFAULT_ZARR_FORMAT
        return zarr.create_group(opened.store, zarr_format=zarr_format, overwrite=False)
    require_root_group(opened)
    with decoding(f"the root document of {opened.location.describe()!r}", METADATA_ERRORS):
        return _open_existing_root(opened)


def _open_existing_root(opened: OpenedStore) -> zarr.Group:
    if opened.mode != "r":
        # Writers list the store instead of trusting consolidated metadata that another tool may have
        # left stale: a node missing from it must still be seen, so that it is never overwritten.
        return zarr.open_group(
            opened.store, mode="r+", zarr_format=opened.zarr_format, use_consolidated=False
        )
    if opened.root_document is not None:
        # Dialect detection already fetched the root document (consolidated metadata included):
        # build the group from it instead of a second GET.
        metadata = GroupMetadata.from_dict(json.loads(opened.root_document))
        group = zarr.Group(AsyncGroup(metadata=metadata, store_path=StorePath(opened.store, "")))
    else:
        # v2 files may list object arrays zarr-python 3 cannot parse in .zmetadata: their index is read
        # by hdmf_zarr.legacy, so zarr opens only the root group's own documents. v3 files without
        # consolidated metadata open too (None: use it when present); the index then lists the store.
        use = None if opened.zarr_format == 3 else False
        group = zarr.open_group(opened.store, mode="r", zarr_format=opened.zarr_format, use_consolidated=use)
    _warn_if_unconsolidated(opened, group)
    return group


def require_root_group(opened: OpenedStore) -> None:
    """A v3 store whose root is an array is no HDMF file: say so, rather than what zarr says."""
    if opened.zarr_format != 3:
        return
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    raw = opened.root_document
    if raw is None:
        buf = sync(opened.store.get(fmt.V3_METADATA_KEY, prototype=default_buffer_prototype()))
        raw = buf.to_bytes() if buf is not None else b"{}"
    try:
        node_type = json.loads(raw).get("node_type")
    except (ValueError, AttributeError) as exc:
        raise CorruptDataError(
            f"The root document {fmt.V3_METADATA_KEY} of {opened.location.describe()!r}: "
            f"{type(exc).__name__}: {exc}. The file is damaged; restore it from a copy."
        ) from exc
    if node_type != "group":
        raise FormatError(
            f"{opened.location.describe()} holds a Zarr {node_type or 'node'!s}, not a group: an HDMF file "
            "is a Zarr group. Open a single array with zarr.open_array instead."
        )


def _warn_if_unconsolidated(opened: OpenedStore, group: zarr.Group) -> None:
    """Readers of a store without consolidated metadata are told what listing it costs."""
    from zarr.core.sync import sync

    if opened.zarr_format == 3:
        missing = group.metadata.consolidated_metadata is None
    else:
        missing = not sync(opened.store.exists(fmt.V2_CONSOLIDATED_KEY))
    if missing:
        warnings.warn(
            f"{opened.location.describe()} has no consolidated metadata (written by another tool, or by a "
            "write that did not finish): it is opened by listing the store, which costs one request per "
            "group and array (slow on object stores), and nodes of an unfinished write are read as if "
            "complete. To consolidate it, open it with mode='a' and call write() once.",
            NoConsolidatedMetadataWarning,
            stacklevel=4,
        )


def write_state_of(
    store_like: StoreLike, storage_options: Mapping[str, Any] | None = None
) -> tuple[WriteState, fmt.WriteMarkRecord | None]:
    """Whether the file at *store_like* is complete, being written, or holds an interrupted write.

    Zip files are published whole (never written in place), so they are always complete.
    """
    folder: Path | None = None
    if isinstance(store_like, Store):
        store = store_like
        folder = Path(store.root) if isinstance(store, LocalStore) else None
    else:
        text = os.fspath(store_like)
        text = text[len("file://") :] if text.lower().startswith("file://") else text
        if "://" in text:
            store = open_url(text, storage_options, read_only=True)
        elif text.lower().endswith(".zip"):
            return "complete", None
        else:
            folder = Path(text).expanduser()
            if not folder.is_dir():
                raise _not_found_locally(text)
            store = ConfinedLocalStore(folder, read_only=True)
    return write_state(store, where=describe_source(store_like), folder=folder)


def writable_or_raise(opened: OpenedStore, what: str) -> None:
    """Raise ReadOnlyStoreError when *opened* was opened read-only."""
    if not opened.writable:
        raise ReadOnlyStoreError(
            f"Cannot {what}: {opened.location.describe()} was opened with mode {opened.mode!r}. "
            "Open it with mode='r+' or 'a' to modify it."
        )
