"""One door for stores: anything store-like becomes a zarr Store, opened in an access mode.

Layer: primitives. The only module that interprets strings, ``pathlib.Path``, URLs and
``storage_options``. Callers receive an :class:`OpenedStore` and never inspect store types.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args

import zarr
from zarr.abc.store import Store
from zarr.core.group import AsyncGroup, GroupMetadata
from zarr.storage import LocalStore, MemoryStore, StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import ModeError, ReadOnlyStoreError, StoreError, StoreExistsError, StoreNotFoundError
from hdmf_zarr.remote import READ_ONLY_SCHEMES, open_url
from hdmf_zarr.staging import Staged, StagingFolder
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

    @property
    def writable(self) -> bool:
        return self.mode in WRITE_MODES

    def close(self, *, commit: bool = True) -> None:
        """Release the store; a staged zip is published (commit) or thrown away (a failed write)."""
        self.store.close()
        if self.staged is not None:
            staged, self.staged = self.staged, None
            if commit:
                staged.commit()
            else:
                staged.discard()


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


async def _detect_store_format(store: Store) -> tuple[fmt.ZarrFormat | None, bytes | None]:
    from zarr.core.buffer import default_buffer_prototype

    proto = default_buffer_prototype()
    root_doc = await store.get(fmt.V3_METADATA_KEY, prototype=proto)
    if root_doc is not None:
        return 3, root_doc.to_bytes()
    for key in (fmt.V2_GROUP_KEY, fmt.V2_CONSOLIDATED_KEY):
        if await store.get(key, prototype=proto) is not None:
            return 2, None
    return None, None


def detect_format(store: Store) -> fmt.ZarrFormat | None:
    """Return the dialect of the group at the root of *store*, or None when it holds no group."""
    return _detect(store)[0]


def _detect(store: Store) -> tuple[fmt.ZarrFormat | None, bytes | None]:
    """The dialect, and the v3 root document already fetched (so that opening does not fetch it again)."""
    from zarr.core.sync import sync

    return sync(_detect_store_format(store))


def _holds_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _open_local(path: Path, mode: Mode, *, force_overwrite: bool) -> OpenedStore:
    where = str(path)
    found = _detect_local_format(path) if path.is_dir() else None
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"{where!r} is a file, not a Zarr store folder. Give a folder path or a '.zip' path."
        )
    if mode in ("r", "r+") and found is None:
        raise StoreNotFoundError(
            f"No Zarr store at {where!r} (no {fmt.V3_METADATA_KEY} or {fmt.V2_GROUP_KEY} there). "
            "Check the path, or open with mode='w' to create a new file."
        )
    if mode in CREATE_MODES:
        return _open_local_staged(path, mode, found, force_overwrite=force_overwrite)
    if mode == "a":
        path.mkdir(parents=True, exist_ok=True)
    store = LocalStore(path, read_only=mode == "r")
    return OpenedStore(store, StoreLocation(str(path.resolve())), mode, found)


def _open_local_staged(
    path: Path, mode: Mode, found: fmt.ZarrFormat | None, *, force_overwrite: bool
) -> OpenedStore:
    """A new file is written in a staging folder beside *path* and swapped in by a successful close."""
    where = str(path)
    if mode in ("w-", "x") and (found is not None or _holds_files(path)):
        raise StoreExistsError(
            f"A Zarr store already exists at {where!r}; mode {mode!r} never replaces one. "
            "Nothing was deleted."
        )
    if mode == "w" and found is None and _holds_files(path) and not force_overwrite:
        raise StoreExistsError(
            f"{where!r} is a folder that holds files but no Zarr group (another program's folder, or a "
            "write that was killed before it finished). Nothing was deleted. Pass force_overwrite=True to "
            "replace it, or choose another path."
        )
    staged = StagingFolder.begin(path)
    staged.replace = mode == "w"
    store = LocalStore(staged.path)
    return OpenedStore(store, StoreLocation(str(path.resolve())), mode, None, staged=staged)


def _open_existing(store: Store, mode: Mode, *, force_overwrite: bool) -> OpenedStore:
    if isinstance(store, LocalStore) and mode in CREATE_MODES and not store.read_only:
        return _open_local(Path(store.root), mode, force_overwrite=force_overwrite)
    if isinstance(store, MemoryStore) and mode == "w" and not store.read_only:
        return _open_memory_staged(store)
    found, root_doc = _detect(store)
    where = describe_source(store)
    if mode in ("r", "r+") and found is None:
        raise StoreNotFoundError(f"The store {where} holds no Zarr group; open with mode='w' to create one.")
    if mode != "r" and store.read_only:
        raise ReadOnlyStoreError(f"The store {where} is read-only; it cannot be opened with mode {mode!r}.")
    if mode in ("w-", "x") and found is not None:
        raise StoreExistsError(
            f"The store {where} already holds a Zarr group; mode {mode!r} never replaces it."
        )
    if mode == "w" and found is not None:
        if not force_overwrite:
            raise StoreExistsError(
                f"The store {where} already holds a Zarr group. Nothing was deleted. This kind of store "
                "cannot swap a new file in atomically, so mode 'w' replaces a file here only with "
                "force_overwrite=True, which deletes the old file before the new one is written. Or open "
                "with mode='a' to modify it, or write to another path."
            )
        from zarr.core.sync import sync

        sync(store.clear())
        found = None
    if mode == "r" and not store.read_only:
        store = store.with_read_only(True)
    return OpenedStore(store, location_of(store), mode, found, root_document=root_doc if found else None)


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
    url: str, mode: Mode, storage_options: Mapping[str, Any] | None, *, force_overwrite: bool
) -> OpenedStore:
    scheme = url.partition("://")[0].lower()
    if scheme in READ_ONLY_SCHEMES and mode != "r":
        raise ReadOnlyStoreError(
            f"{url!r} is served over {scheme.upper()}, which is read-only; open it with mode='r', "
            "or write to a folder, a zip file or an object store (s3://, gs://) instead."
        )
    store = open_url(url, storage_options, read_only=mode == "r")
    opened = _open_existing(store, mode, force_overwrite=force_overwrite)
    opened.location = StoreLocation(url, dict(storage_options or {}))
    return opened


def _open_zip(path: Path, mode: Mode, *, force_overwrite: bool) -> OpenedStore:
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
    staged = StagedZip.begin(path, copy_existing=mode in ("a", "r+"))
    dialect = found if mode in ("a", "r+") else None
    return OpenedStore(staged.store(), location, mode, dialect, staged=staged)


def open_store(
    store_like: StoreLike,
    *,
    mode: str = "r",
    storage_options: Mapping[str, Any] | None = None,
    force_overwrite: bool = False,
) -> OpenedStore:
    """Open *store_like* in *mode* and return the store with its location and dialect.

    ``r`` reads an existing store; ``r+`` modifies one; ``a`` modifies or creates; ``w`` creates or
    replaces; ``w-``/``x`` create and never replace. In create modes, folders, zip files and memory stores
    are written aside and published by a successful close (the old file stays until then); other stores
    (object stores, fsspec) replace a file only with ``force_overwrite`` (see README "Modes").
    """
    checked = check_mode(mode)
    if isinstance(store_like, Store):
        return _open_existing(store_like, checked, force_overwrite=force_overwrite)
    if isinstance(store_like, str | os.PathLike):
        text = os.fspath(store_like)
        if text.lower().startswith("file://"):
            text = text[len("file://") :]
        if "://" in text:
            return _open_url(text, checked, storage_options, force_overwrite=force_overwrite)
        path = Path(text).expanduser()
        if path.suffix.lower() == ".zip":
            return _open_zip(path, checked, force_overwrite=force_overwrite)
        return _open_local(path, checked, force_overwrite=force_overwrite)
    raise StoreError(
        f"Cannot open {store_like!r} as a Zarr store: give a folder path, a '.zip' path, a URL "
        "or a zarr Store."
    )


def open_root_group(opened: OpenedStore, *, zarr_format: fmt.ZarrFormat | None) -> zarr.Group:
    """Open (or create, for new stores) the root group of *opened*."""
    if opened.zarr_format is None:
        zarr_format = zarr_format or fmt.DEFAULT_ZARR_FORMAT
        return zarr.create_group(opened.store, zarr_format=zarr_format, overwrite=False)
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
        return zarr.Group(AsyncGroup(metadata=metadata, store_path=StorePath(opened.store, "")))
    # v2 files may list object arrays zarr-python 3 cannot parse in .zmetadata: their index is read by
    # hdmf_zarr.legacy, so zarr opens only the root group's own documents.
    return zarr.open_group(
        opened.store, mode="r", zarr_format=opened.zarr_format, use_consolidated=opened.zarr_format != 2
    )


def writable_or_raise(opened: OpenedStore, what: str) -> None:
    """Raise ReadOnlyStoreError when *opened* was opened read-only."""
    if not opened.writable:
        raise ReadOnlyStoreError(
            f"Cannot {what}: {opened.location.describe()} was opened with mode {opened.mode!r}. "
            "Open it with mode='r+' or 'a' to modify it."
        )
