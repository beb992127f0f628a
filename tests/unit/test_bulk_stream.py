"""bulk.NewObjects writes every object it is given, bounded, and reports a failed write."""

from __future__ import annotations

from pathlib import Path

import pytest
from zarr.core.sync import sync
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr import bulk


def _items(n: int) -> list[tuple[str, bytes]]:
    return [(f"g{i % 7}/n{i}/zarr.json", f"doc {i}".encode()) for i in range(n)]


@pytest.mark.parametrize("where", ["local", "memory"])
def test_every_object_is_written(tmp_path: Path, where: str) -> None:
    store = LocalStore(tmp_path) if where == "local" else MemoryStore()
    items = _items(500)

    async def write() -> None:
        async with bulk.NewObjects(store, batch=10) as puts:
            for i in range(0, len(items), 3):
                await puts.add(items[i : i + 3])

    sync(write())
    for key, data in items:
        got = sync(store.get(key, prototype=bulk.default_buffer_prototype()))
        assert got is not None
        assert got.to_bytes() == data


def test_a_failed_write_is_raised(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_bytes(b"a file where a folder should be")

    async def write() -> None:
        async with bulk.NewObjects(LocalStore(tmp_path), batch=2) as puts:
            await puts.add([("ok/zarr.json", b"{}"), ("blocked/n/zarr.json", b"{}")])

    with pytest.raises(OSError, match="blocked"):
        sync(write())
