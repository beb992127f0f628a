"""The shipped RoundTripSuite, run once per store kind (one tiny subclass each)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hdmf.build import DatasetBuilder, GroupBuilder
from zarr.storage import MemoryStore

from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing import RoundTripSuite, available_store_kinds, counting, make_store_like


class TestStrPath(RoundTripSuite):
    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("str", tmp_path)


class TestPathlibPath(RoundTripSuite):
    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("path", tmp_path)


class TestLocalStore(RoundTripSuite):
    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("local", tmp_path)


class TestMemoryStore(RoundTripSuite):
    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("memory", tmp_path)


class TestWrappedStore(RoundTripSuite):
    """A zarr WrapperStore (here the request-logging one) is a store like any other."""

    def make_store(self, tmp_path: Path) -> StoreLike:
        return counting(MemoryStore())


@pytest.mark.skipif("zip" not in available_store_kinds(), reason="store.py does not open .zip paths yet")
class TestZipStore(RoundTripSuite):
    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("zip", tmp_path)


class TestZarrV2(RoundTripSuite):
    io_options = {"zarr_format": 2}

    def expected(self, tree: str, builder: GroupBuilder) -> GroupBuilder:
        """v2 (as 0.13 writes it) stores a scalar reference as a one-element reference array."""
        if tree == "references":
            holder, scalar = builder["holder"], builder["holder/ref_scalar"]
            holder.set_dataset(
                DatasetBuilder(scalar.name, [scalar.data], dtype=scalar.dtype, attributes=scalar.attributes)
            )
        return builder

    def make_store(self, tmp_path: Path) -> StoreLike:
        return make_store_like("path", tmp_path)
