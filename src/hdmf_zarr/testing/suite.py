"""RoundTripSuite: a conformance suite of round trips that runs against any store a subclass supplies.

Layer: testing (top). Subclass it in a test module and supply only :meth:`RoundTripSuite.make_store`:

.. code-block:: python

    class TestMyStore(RoundTripSuite):
        def make_store(self, tmp_path):
            return MyStore(tmp_path / "file.zarr")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.build import GroupBuilder

from hdmf_zarr.io import ZarrIO
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing.builders import SAMPLE_TREES, assert_builders_equal, dataset


class RoundTripSuite:
    """Write builder trees that cover the HDMF data model, read them back and compare."""

    #: Options passed to every ZarrIO the suite opens (e.g. ``{"zarr_format": 2}``).
    io_options: dict[str, Any] = {}
    #: Sample trees known not to round-trip with this store or dialect: name -> reason (strict xfail).
    known_failures: dict[str, str] = {}

    def make_store(self, tmp_path: Path) -> StoreLike:
        """Return a new, empty store argument; the same object is passed to every IO of one test."""
        raise NotImplementedError

    def write(self, store: StoreLike, builder: GroupBuilder, mode: str = "w") -> None:
        with ZarrIO(store, mode=mode, **self.io_options) as io:
            io.write_builder(builder, cache_spec=False)

    def expected(self, tree: str, builder: GroupBuilder) -> GroupBuilder:
        """What reading *builder* back gives; a dialect that stores some values differently says how."""
        return builder

    def assert_round_trip(self, store: StoreLike, builder: GroupBuilder, tree: str = "") -> None:
        self.write(store, builder)
        with ZarrIO(store, mode="r", **self.io_options) as io:
            assert_builders_equal(self.expected(tree, builder), io.read_builder())

    @pytest.mark.parametrize("tree", sorted(SAMPLE_TREES))
    def test_round_trip(self, tmp_path: Path, tree: str, request: pytest.FixtureRequest) -> None:
        if tree in self.known_failures:
            request.applymarker(pytest.mark.xfail(strict=True, reason=self.known_failures[tree]))
        self.assert_round_trip(self.make_store(tmp_path), SAMPLE_TREES[tree](), tree)

    def test_append_in_mode_a(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        first = GroupBuilder("root", attributes={"version": 1})
        dataset(first, "first", np.arange(3))
        self.write(store, first)
        with ZarrIO(store, mode="a", **self.io_options) as io:
            root = io.read_builder()
            dataset(root, "second", np.arange(4.0))
            io.write_builder(root, cache_spec=False)
        with ZarrIO(store, mode="r", **self.io_options) as io:
            back = io.read_builder()
            assert sorted(back.datasets) == ["first", "second"]
            np.testing.assert_array_equal(back.datasets["second"].data[:], np.arange(4.0))

    def test_read_only_refuses_writes(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.write(store, GroupBuilder("root"))
        with ZarrIO(store, mode="r", **self.io_options) as io, pytest.raises(ValueError, match="mode 'r'"):
            io.write_builder(GroupBuilder("root"), cache_spec=False)
