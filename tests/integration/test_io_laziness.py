"""Opening and reading builders touch metadata only; data chunks are fetched when indexed."""

from __future__ import annotations

import numpy as np
from hdmf.build import GroupBuilder
from hdmf.common import get_manager

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.testing import CountingStore, counting, is_chunk_key
from hdmf_zarr.testing.builders import dataset, group, reference_tree, text_tree


def _written() -> CountingStore:
    store = counting()
    root = reference_tree()
    for name, child in text_tree().datasets.items():
        dataset(root, name, child.data, dtype=child.dtype)
    big = group(root, "big")
    dataset(
        big, "samples", ZarrDataIO(np.arange(200_000, dtype=np.int16).reshape(50_000, 4), chunks=(1000, 4))
    )
    dataset(big, "scalar", 3.5)
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write_builder(root)
    store.log.clear()
    return store


def _scalar_chunk_keys(io: ZarrIO) -> set[str]:
    """Chunk keys of 0-d arrays: their value is read with the tree (usually a miss: inline values)."""
    return {
        f"{path}/{node.metadata.encode_chunk_key(())}"
        for path, node in io._file.members(max_depth=None)
        if getattr(node, "shape", None) == ()
    }


def test_open_and_read_builder_read_no_data_chunks_and_list_nothing() -> None:
    store = _written()
    with ZarrIO(store, mode="r") as io:
        root = io.read_builder()
        assert root.groups["big"].datasets["samples"].data.shape == (50_000, 4)
        data_reads = [k for k in store.log.gets if is_chunk_key(k)]
        scalar_keys = _scalar_chunk_keys(io)
        assert not [k for k in data_reads if k not in scalar_keys], data_reads
        assert store.log.lists == []  # consolidated metadata: no listing
        metadata_reads = [k for k in store.log.gets if not is_chunk_key(k)]
        # The root document and, fetched alongside it, the in-progress mark (absent): nothing else.
        assert set(metadata_reads) == {fmt.V3_METADATA_KEY, fmt.WRITE_MARK_KEY}


def test_open_reads_the_root_document_once() -> None:
    store = _written()
    with ZarrIO(store, mode="r") as io:
        io.read_builder()
    assert store.log.gets.count(fmt.V3_METADATA_KEY) == 1


def test_indexing_fetches_only_the_chunks_needed() -> None:
    store = _written()
    with ZarrIO(store, mode="r") as io:
        samples = io.read_builder().groups["big"].datasets["samples"].data
        chunks = samples.chunks
        store.log.clear()
        np.testing.assert_array_equal(samples[10], [40, 41, 42, 43])
        assert [k for k in store.log.gets if is_chunk_key(k)] == ["big/samples/c.0.0"]
        store.log.clear()
        samples[chunks[0] : chunks[0] + 2]
        assert [k for k in store.log.gets if is_chunk_key(k)] == ["big/samples/c.1.0"]


def test_read_of_containers_is_lazy_too() -> None:
    store = counting()
    root = GroupBuilder("root")
    dataset(root, "big", np.zeros((100_000, 2)))
    with ZarrIO(store, mode="w") as io:
        io.write_builder(root, cache_spec=False)
    store.log.clear()
    with ZarrIO(store, mode="r") as io:
        io.read_builder()
        assert [k for k in store.log.gets if is_chunk_key(k)] == []


def test_without_consolidated_metadata_the_store_is_listed() -> None:
    """The counting store sees listings: the check above cannot pass vacuously."""
    store = _written()
    with ZarrIO(store, mode="r", consolidated=False) as io:
        io.read_builder()
    assert store.log.lists
