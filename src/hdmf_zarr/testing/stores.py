"""Store kinds for tests, and a store wrapper that records every request made to the store it wraps.

Layer: testing (top). Used by hdmf_zarr's own tests and offered to users who test their extensions
against every kind of store hdmf_zarr accepts.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest
from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import LocalStore, MemoryStore, WrapperStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.store import StoreLike

_METADATA_KEYS: Final = frozenset(
    {
        fmt.V3_METADATA_KEY,
        fmt.V2_ARRAY_KEY,
        fmt.V2_GROUP_KEY,
        fmt.V2_ATTRS_KEY,
        fmt.V2_CONSOLIDATED_KEY,
        fmt.WRITE_MARK_KEY,  # read beside the root document to tell readers of an interrupted write
    }
)

#: Every kind of store argument that ZarrIO accepts and that needs no network.
STORE_KINDS: Final[tuple[str, ...]] = ("str", "path", "local", "memory")
#: Kinds whose stores live on disk (external links between two of them can be resolved).
DISK_KINDS: Final = frozenset({"str", "path", "local", "zip"})


def zip_supported() -> bool:
    """Whether ``store.open_store`` opens ``*.zip`` paths as zip stores (added by a later change)."""
    import importlib.util

    return importlib.util.find_spec("hdmf_zarr.ziparchive") is not None


def available_store_kinds() -> tuple[str, ...]:
    """The store kinds tests run over: :data:`STORE_KINDS`, plus ``zip`` when it is supported."""
    return (*STORE_KINDS, "zip") if zip_supported() else STORE_KINDS


def make_store_like(kind: str, directory: Path, name: str = "test") -> StoreLike:
    """Return a store argument of *kind* located in *directory*; pass the same object to every IO."""
    folder = directory / f"{name}.zarr"
    match kind:
        case "str":
            return str(folder)
        case "path":
            return folder
        case "local":
            folder.mkdir(parents=True, exist_ok=True)
            return LocalStore(folder)
        case "memory":
            return MemoryStore()
        case "zip":
            return directory / f"{name}.zip"
    raise ValueError(f"Unknown store kind {kind!r}; use one of {available_store_kinds()}.")


def store_fixture(kinds: Iterable[str] | None = None, *, name: str = "store") -> Callable[..., StoreLike]:
    """Return a pytest fixture, parametrized over store *kinds*, that yields a fresh store argument.

    Use in a conftest or test module: ``store = store_fixture()``.
    """
    params = tuple(kinds) if kinds is not None else available_store_kinds()

    @pytest.fixture(params=params, name=name)
    def _fixture(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLike:
        return make_store_like(request.param, tmp_path)

    return _fixture


@dataclass
class RequestLog:
    """What a :class:`CountingStore` was asked: keys read and written, and listing calls."""

    gets: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    exists: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def clear(self) -> None:
        for entries in (self.gets, self.sets, self.lists, self.exists, self.deletes):
            entries.clear()

    def set_counts(self) -> collections.Counter[str]:
        return collections.Counter(self.sets)


class CountingStore(WrapperStore[Store]):
    """A real store that logs every key it is asked for (``log``) before delegating to the wrapped store.

    Copies made by zarr (``with_read_only``) share the same log.
    """

    def __init__(self, store: Store, log: RequestLog | None = None) -> None:
        super().__init__(store)
        self.log = log if log is not None else RequestLog()

    def _with_store(self, store: Store) -> CountingStore:
        return CountingStore(store, self.log)

    def __eq__(self, value: object) -> bool:
        return isinstance(value, CountingStore) and self._store == value._store

    __hash__ = None  # type: ignore[assignment]

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        self.log.gets.append(key)
        return await self._store.get(key, prototype, byte_range)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        key_ranges = list(key_ranges)
        self.log.gets.extend(key for key, _ in key_ranges)
        return await self._store.get_partial_values(prototype, key_ranges)

    def get_sync(
        self, key: str, *, prototype: BufferPrototype | None = None, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        self.log.gets.append(key)
        return super().get_sync(key, prototype=prototype, byte_range=byte_range)

    async def exists(self, key: str) -> bool:
        self.log.exists.append(key)
        return await self._store.exists(key)

    async def set(self, key: str, value: Buffer) -> None:
        self.log.sets.append(key)
        await self._store.set(key, value)

    def set_sync(self, key: str, value: Buffer) -> None:
        self.log.sets.append(key)
        super().set_sync(key, value)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        self.log.sets.append(key)
        await self._store.set_if_not_exists(key, value)

    async def delete(self, key: str) -> None:
        self.log.deletes.append(key)
        await self._store.delete(key)

    def list(self) -> AsyncIterator[str]:
        self.log.lists.append("")
        return self._store.list()

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        self.log.lists.append(prefix)
        return self._store.list_prefix(prefix)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        self.log.lists.append(prefix)
        return self._store.list_dir(prefix)

    def __repr__(self) -> str:
        return f"CountingStore({self._store!r})"

    def __str__(self) -> str:
        return str(self._store)


def counting(store: Store | None = None) -> CountingStore:
    """Return a :class:`CountingStore` over *store* (a new MemoryStore by default)."""
    return CountingStore(store if store is not None else MemoryStore())


def is_chunk_key(key: str) -> bool:
    """Whether *key* names array data (a chunk or shard) rather than a metadata document."""
    last = key.rsplit("/", 1)[-1]
    return last not in _METADATA_KEYS
