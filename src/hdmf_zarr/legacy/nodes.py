"""A classified, navigable view of a v2 file's index: what each node is and how to read it.

Layer: conventions (legacy). No I/O except :func:`open_v2_index` (one GET of ``.zmetadata``) and the
chunk reads of the arrays a caller indexes.

Usage::

    index = open_v2_index(store)              # from .zmetadata; lists the store only without it
    for child in index.children("/"):         # stored order, absolute paths
        node = index.node(child)              # V2Node(path, kind, meta)
        node.attrs                            # .zattrs, reserved names included (zarr_dtype, zarr_link)
        node.scalar                           # zarr_dtype "scalar" with shape [1]: read element 0 as 0-d
        node.array(store)                     # zarr.Array (kind ARRAY) or LegacyObjectArray (the rest)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.group import GroupMetadata
from zarr.core.metadata import ArrayV2Metadata
from zarr.storage import StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.errors import FormatError
from hdmf_zarr.legacy import chunks
from hdmf_zarr.legacy.v2 import LegacyArrayMeta, LegacyObjectArray, load_index

V2NodeMeta = GroupMetadata | ArrayV2Metadata | LegacyArrayMeta


class V2Kind(enum.StrEnum):
    """What a v2 node holds, and so which reader it needs."""

    GROUP = "group"
    ARRAY = "array"  # numbers, booleans, fixed-size strings, numeric compounds: zarr 3 reads it
    TEXT = "text"  # |O + vlen-utf8
    BYTES = "bytes"  # |O + vlen-bytes (ascii text, isodatetime)
    REFERENCE = "reference"  # zarr_dtype "object": pickled ZarrReference dicts or JSON records
    COMPOUND = "compound"  # structured with |O fields, or |O rows with a zarr_dtype field list
    JSON = "json"  # |O + json2 that is neither references nor compound (cached spec documents)
    OBJECT = "object"  # any other object array (e.g. pickled plain values)


def classify(meta: V2NodeMeta) -> V2Kind:
    """The kind of one node, from its metadata alone."""
    if isinstance(meta, GroupMetadata):
        return V2Kind.GROUP
    if not isinstance(meta, LegacyArrayMeta):
        return V2Kind.ARRAY
    if meta.dtype.names:
        return V2Kind.COMPOUND
    if meta.attributes.get(fmt.V2_DTYPE_ATTR) in fmt.REFERENCE_DTYPE_TOKENS:
        return V2Kind.REFERENCE
    return {
        chunks.VLEN_UTF8_ID: V2Kind.TEXT,
        chunks.VLEN_BYTES_ID: V2Kind.BYTES,
        chunks.JSON_ID: V2Kind.JSON,
    }.get(meta.object_codec, V2Kind.OBJECT)


def is_scalar(meta: V2NodeMeta) -> bool:
    """True for a dataset hdmf-zarr <= 0.13 stored as shape [1] with ``zarr_dtype: "scalar"``."""
    if isinstance(meta, GroupMetadata):
        return False
    return meta.attributes.get(fmt.V2_DTYPE_ATTR) == fmt.DTYPE_SCALAR_V2 and tuple(meta.shape) == (1,)


@dataclass(frozen=True, slots=True)
class V2Node:
    """One node of a v2 file: its absolute path, kind and metadata."""

    path: str
    kind: V2Kind
    meta: V2NodeMeta

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self.meta.attributes

    @property
    def scalar(self) -> bool:
        return is_scalar(self.meta)

    def array(self, store: Store) -> zarr.Array | LegacyObjectArray:
        """A lazy array over this node's chunks (no I/O until indexed)."""
        if isinstance(self.meta, GroupMetadata):
            raise FormatError(f"{self.path!r} is a group, not an array.")
        if isinstance(self.meta, LegacyArrayMeta):
            return LegacyObjectArray(store, self.path, self.meta)
        return zarr.Array(
            AsyncArray(metadata=self.meta, store_path=StorePath(store, paths.to_zarr_key(self.path)))
        )


@dataclass(slots=True)
class V2Index:
    """Every node of a v2 file by absolute path, and each group's children in stored order."""

    nodes: dict[str, V2NodeMeta] = field(default_factory=dict)
    _children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_nodes(cls, nodes: Mapping[str, V2NodeMeta]) -> V2Index:
        index = cls(dict(nodes))
        for path in index.nodes:
            if path != paths.ROOT:
                index._children.setdefault(paths.parent(path), []).append(path)
        return index

    def children(self, path: str) -> list[str]:
        """Absolute paths of the direct children of group *path*."""
        return list(self._children.get(paths.normalise(path), []))

    def node(self, path: str) -> V2Node:
        path = paths.normalise(path)
        try:
            meta = self.nodes[path]
        except KeyError:
            raise FormatError(f"The file has no node at {path!r}.") from None
        return V2Node(path, classify(meta), meta)


def open_v2_index(store: Store, *, use_consolidated: bool = True) -> V2Index:
    """Index a v2 file: one GET of ``.zmetadata`` when present (and wanted), else a listing walk."""
    return V2Index.from_nodes(load_index(store, use_consolidated=use_consolidated))


def open_v2_node(store: Store, path: str, index: V2Index | None = None) -> V2Node:
    """The classified node at *path* (indexing the file first when no *index* is given)."""
    return (index or open_v2_index(store)).node(path)
