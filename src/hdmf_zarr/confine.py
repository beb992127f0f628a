"""Keep every key inside its store: the one confinement rule for keys built from file content.

Layer: store back-ends (below ``store``). Pure checks over strings, and the local folder store that
applies them to every key it reads or writes. A key is *plain* when it is relative, uses ``/`` only,
and has no empty, ``.`` or ``..`` segment: such a key stays inside the store root whatever the store.
Keys that hdmf_zarr and zarr build from honest files are always plain, so anything else comes from a
damaged or hostile file and is refused before the store is asked for it (docs/format.md#store-keys).
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from typing import Any

from zarr.abc.store import ByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import LocalStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import FormatError, OutsideStoreError


def is_plain_key(key: str) -> bool:
    """Whether *key* names an object inside a store root without any normalisation ("" is the root)."""
    if key == "":
        return True
    if key.startswith("/") or "\\" in key or "\x00" in key:
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def check_key(key: str, *, store: str, node: str | None = None) -> str:
    """Return *key* if it is plain; else raise :class:`OutsideStoreError` naming store, node and key."""
    if is_plain_key(key):
        return key
    at = f" (node {node!r})" if node is not None else ""
    raise OutsideStoreError(
        f"Refused the key {key!r} in {store!r}{at}: it is not a plain key inside the store (it is absolute, "
        "or holds '..', '.', an empty segment or a backslash), so reading it could reach files outside the "
        "store. The file is damaged or was crafted; nothing outside the store was read."
    )


def check_separator(value: Any, *, store: str, node: str) -> str:
    """Return a v2 ``dimension_separator`` if it is one zarr defines (``.`` or ``/``), else refuse it."""
    if value is None:
        return fmt.V2_SEPARATORS[0]
    if value in fmt.V2_SEPARATORS:
        return str(value)
    raise OutsideStoreError(
        f"The array {node!r} in {store!r} declares the dimension_separator {value!r}; Zarr v2 allows only "
        f"{' or '.join(repr(s) for s in fmt.V2_SEPARATORS)}. A separator is part of every chunk key, so "
        "this one could make reads leave the store. The file is damaged or was crafted; it was not read."
    )


def check_not_special(path: str | os.PathLike[str], *, mode: int | None = None) -> None:
    """Refuse a FIFO, device or socket where a store holds files (opening a FIFO to read waits for a
    writer forever); *mode*: the ``st_mode`` already known (else the path is stat'ed; missing is fine)."""
    if mode is None:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return  # missing (or unreadable): the read says so as before
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise FormatError(
            f"{os.fspath(path)!r} is a FIFO, device or socket, not a file: a Zarr store holds only files "
            "and folders. The store is damaged or was crafted; it was not read."
        )


class ConfinedLocalStore(LocalStore):
    """zarr's LocalStore that refuses, before touching the disk, every key that is not plain, and
    special files (FIFOs, devices) where it reads."""

    def _confine(self, key: str) -> str:
        return check_key(key, store=str(self.root))

    def _readable(self, key: str) -> str:
        key = self._confine(key)
        check_not_special(self.root / key)
        return key

    def get_sync(
        self, key: str, *, prototype: BufferPrototype | None = None, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return super().get_sync(self._readable(key), prototype=prototype, byte_range=byte_range)

    def _confine_prefix(self, prefix: str) -> str:
        """A listing or deletion prefix: a plain key, or a non-empty one followed by a single "/"."""
        body = prefix[:-1] if prefix.endswith("/") else prefix
        check_key(body if body or not prefix else prefix, store=str(self.root))
        return prefix

    async def get(
        self, key: str, prototype: BufferPrototype | None = None, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await super().get(self._readable(key), prototype, byte_range)

    async def get_partial_values(self, prototype: BufferPrototype, key_ranges: Any) -> list[Buffer | None]:
        pairs = list(key_ranges)
        for key, _ in pairs:
            self._readable(key)
        return await super().get_partial_values(prototype, pairs)

    async def set(self, key: str, value: Buffer) -> None:
        await super().set(self._confine(key), value)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        await super().set_if_not_exists(self._confine(key), value)

    async def delete(self, key: str) -> None:
        await super().delete(self._confine(key))

    async def exists(self, key: str) -> bool:
        return await super().exists(self._confine(key))

    async def getsize(self, key: str) -> int:
        return await super().getsize(self._confine(key))

    async def delete_dir(self, prefix: str) -> None:
        await super().delete_dir(self._confine_prefix(prefix))

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        async for key in super().list_dir(self._confine_prefix(prefix)):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        async for key in super().list_prefix(self._confine_prefix(prefix)):
            yield key


# zarrs, the Rust codec pipeline hdmf_zarr uses for local folders (hdmf_zarr.pipeline), accepts stores by
# class name. Under zarr's own name it keeps reading this folder itself, from chunk keys that zarr
# computed from metadata it validated (separators "." or "/", normalised node paths).
ConfinedLocalStore.__name__ = "LocalStore"
