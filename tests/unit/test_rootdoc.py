"""The root document serialised member by member is byte for byte zarr's own ``zarr.json``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import ConsolidatedMetadata, GroupMetadata
from zarr.storage import MemoryStore

from hdmf_zarr.write.rootdoc import BATCH, root_document

NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..") and not s.startswith("__")
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
ATTRS = st.dictionaries(st.text(max_size=6), st.one_of(SCALARS, st.lists(SCALARS, max_size=3)), max_size=3)


def _array_meta(kind: int, attrs: dict[str, Any]) -> Any:
    dtype = ["int16", "float64", "str", "bool"][kind % 4]
    arr = zarr.create_array(
        MemoryStore(), name="a", shape=(kind % 5 + 1,), dtype=dtype, attributes=attrs, fill_value=None
    )
    return arr.metadata


def _zarr_bytes(root: GroupMetadata) -> bytes:
    with zarr.config.set({"json_indent": None}):
        return root.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes()


def _tree(paths: list[tuple[str, ...]], kinds: list[int], attrs: list[dict[str, Any]]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for i, parts in enumerate(paths):
        for depth in range(1, len(parts)):
            group = "/".join(parts[:depth])
            if group not in flat or not isinstance(flat[group], GroupMetadata):
                flat[group] = GroupMetadata(consolidated_metadata=ConsolidatedMetadata(metadata={}))
        key = "/".join(parts)
        if key in flat:
            continue
        if kinds[i] % 3 == 0:
            flat[key] = GroupMetadata(
                attributes=attrs[i], consolidated_metadata=ConsolidatedMetadata(metadata={})
            )
        else:
            flat[key] = _array_meta(kinds[i], attrs[i])
    # an array cannot hold children: keep only trees where every parent is a group
    return {k: v for k, v in flat.items() if all(isinstance(flat.get(p), GroupMetadata) for p in _parents(k))}


def _parents(key: str) -> list[str]:
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


@settings(max_examples=40, deadline=None)
@given(
    paths=st.lists(st.lists(NAMES, min_size=1, max_size=3).map(tuple), min_size=0, max_size=12),
    kinds=st.lists(st.integers(0, 11), min_size=12, max_size=12),
    attrs=st.lists(ATTRS, min_size=12, max_size=12),
    root_attrs=ATTRS,
)
def test_root_document_is_zarrs(
    paths: list[tuple[str, ...]], kinds: list[int], attrs: list[dict[str, Any]], root_attrs: dict[str, Any]
) -> None:
    flat = _tree(paths, kinds, attrs)
    ConsolidatedMetadata._flat_to_nested(flat)
    root = GroupMetadata(attributes=root_attrs, consolidated_metadata=ConsolidatedMetadata(metadata=flat))
    assert root_document(root) == _zarr_bytes(root)


def test_more_members_than_a_batch_and_the_marker_in_attributes() -> None:
    flat: dict[str, Any] = {"g": GroupMetadata(consolidated_metadata=ConsolidatedMetadata(metadata={}))}
    for i in range(BATCH * 2 + 7):
        flat[f"g/ts{i:05d}"] = _array_meta(i, {"unit": "a.u.", "i": i, "x": float("nan") if i % 2 else 1.5})
    ConsolidatedMetadata._flat_to_nested(flat)
    # attribute values that look like the document's own structure
    attrs = {"consolidated_metadata": {"metadata": {}}, "s": '"metadata": {}}', "u": "\x00é"}
    root = GroupMetadata(attributes=attrs, consolidated_metadata=ConsolidatedMetadata(metadata=flat))
    document = root_document(root)
    assert document == _zarr_bytes(root)
    assert len(json.loads(document)["consolidated_metadata"]["metadata"]) == BATCH * 2 + 8


def test_without_consolidated_metadata() -> None:
    root = GroupMetadata(attributes={"a": [1, 2]})
    assert root_document(root) == _zarr_bytes(root)
    empty = dataclasses.replace(root, consolidated_metadata=ConsolidatedMetadata(metadata={}))
    assert root_document(empty) == _zarr_bytes(empty)


def test_written_file_root_is_zarrs(tmp_path: Any) -> None:
    """A real write: the stored root document equals zarr's serialisation of what it holds."""
    from hdmf.common import DynamicTable, VectorData

    from hdmf_zarr import ZarrIO
    from hdmf_zarr.io import get_manager

    table = DynamicTable(
        name="t", description="d", columns=[VectorData(name="c", description="c", data=np.arange(5))]
    )
    path = tmp_path / "f.zarr"
    with ZarrIO(str(path), mode="w", manager=get_manager()) as io:
        io.write(table)
    stored = (path / "zarr.json").read_bytes()
    group = zarr.open_group(str(path), mode="r", use_consolidated=True)
    assert stored == _zarr_bytes(group.metadata)
