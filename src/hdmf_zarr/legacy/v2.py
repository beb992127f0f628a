"""Read the Zarr v2 dialect of hdmf-zarr <= 0.13 with zarr-python 3, lazily and without running file code.

Layer: conventions (legacy). zarr-python 3 cannot open v2 object arrays whose codec is ``pickle`` or
``json2`` (references, compounds with references, cached specs), and one such entry makes a
consolidated open of the whole file fail. So the index of a v2 file is read here from ``.zmetadata``
(one GET, no listing): numeric and fixed-size arrays become ``ArrayV2Metadata`` that zarr reads as
usual, and every object array becomes a :class:`LegacyArrayMeta` read by :class:`LegacyObjectArray`,
which fetches and decodes only the chunks an index touches (pickles through the restricted unpickler).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import GroupMetadata
from zarr.core.metadata import ArrayV2Metadata
from zarr.core.sync import sync

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.errors import FormatError
from hdmf_zarr.legacy.unpickle import LegacyReference, safe_loads

_PICKLE_IDS = frozenset({"pickle"})
_JSON_IDS = frozenset({"json2", "json"})
_VLEN_IDS = frozenset({"vlen-utf8", "vlen-bytes", "vlen-array"})


@dataclass(frozen=True, slots=True)
class LegacyArrayMeta:
    """The ``.zarray`` (and ``.zattrs``) of a v2 object array that zarr-python 3 cannot open."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    filters: tuple[Mapping[str, Any], ...]
    compressor: Mapping[str, Any] | None
    order: str
    separator: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    zarray: Mapping[str, Any] = field(default_factory=dict)  # the stored .zarray document, re-emitted as is
    zarr_format: int = 2

    def to_documents(self) -> dict[str, Any]:
        """The ``.zarray`` and ``.zattrs`` JSON of this array (for writing and for .zmetadata)."""
        return {fmt.V2_ARRAY_KEY: dict(self.zarray), fmt.V2_ATTRS_KEY: dict(self.attributes)}

    @property
    def object_codec(self) -> str:
        for f in self.filters:
            if f.get("id") in _PICKLE_IDS | _JSON_IDS | _VLEN_IDS:
                return str(f["id"])
        return ""


def _is_object_array(zarray: Mapping[str, Any]) -> bool:
    dtype = zarray.get("dtype")
    if dtype == "|O":
        return True
    return isinstance(dtype, list) and any(part[1] == "|O" for part in dtype)


def _numpy_dtype(spec: Any) -> np.dtype[Any]:
    if isinstance(spec, list):
        return np.dtype([(str(name), _numpy_dtype(sub)) for name, sub, *rest in spec])
    return np.dtype(spec)


def legacy_meta(zarray: Mapping[str, Any], attrs: Mapping[str, Any]) -> LegacyArrayMeta:
    return LegacyArrayMeta(
        shape=tuple(zarray["shape"]),
        chunks=tuple(zarray["chunks"]),
        dtype=_numpy_dtype(zarray["dtype"]),
        fill_value=zarray.get("fill_value"),
        filters=tuple(zarray.get("filters") or ()),
        compressor=zarray.get("compressor"),
        order=zarray.get("order", "C"),
        separator=zarray.get("dimension_separator", "."),
        attributes=dict(attrs),
        zarray=dict(zarray),
    )


def node_metadata(
    zarray: Mapping[str, Any] | None, zattrs: Mapping[str, Any], *, where: str
) -> GroupMetadata | ArrayV2Metadata | LegacyArrayMeta:
    """Return the metadata record for one v2 node (a group when *zarray* is None)."""
    if zarray is None:
        return GroupMetadata(attributes=dict(zattrs), zarr_format=2)
    if _is_object_array(zarray):
        return legacy_meta(zarray, zattrs)
    try:
        return ArrayV2Metadata.from_dict({**zarray, "attributes": dict(zattrs)})
    except (ValueError, TypeError, KeyError) as exc:
        raise FormatError(f"Array {where!r} has v2 metadata this reader does not understand: {exc}") from exc


async def _get_json(store: Store, key: str) -> Any:
    buf = await store.get(key, prototype=default_buffer_prototype())
    return None if buf is None else json.loads(buf.to_bytes())


async def _index_from_listing(store: Store) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    keys = [k async for k in store.list() if k.rsplit("/", 1)[-1] in (".zgroup", ".zarray", ".zattrs")]
    values = await asyncio.gather(*(_get_json(store, k) for k in keys))
    docs.update(zip(keys, values, strict=True))
    return docs


def load_index(store: Store, *, use_consolidated: bool = True) -> dict[str, Any]:
    """Return ``{absolute node path: metadata}`` of a v2 file, from ``.zmetadata`` when present."""

    async def load() -> dict[str, Any]:
        consolidated = await _get_json(store, fmt.V2_CONSOLIDATED_KEY) if use_consolidated else None
        if consolidated is not None:
            return dict(consolidated.get("metadata", {}))
        return await _index_from_listing(store)

    docs = sync(load())
    nodes: dict[str, Any] = {}
    for key in docs:
        folder, _, name = key.rpartition("/")
        if name not in (fmt.V2_GROUP_KEY, fmt.V2_ARRAY_KEY):
            continue
        zattrs = docs.get(f"{folder}/{fmt.V2_ATTRS_KEY}" if folder else fmt.V2_ATTRS_KEY) or {}
        zarray = docs[key] if name == fmt.V2_ARRAY_KEY else None
        path = paths.normalise(folder)
        nodes[path] = node_metadata(zarray, zattrs, where=path)
    return nodes


# -- decoding object chunks ------------------------------------------------------------------------


def _decode_fill(meta: LegacyArrayMeta, where: str) -> Any:
    value = meta.fill_value
    if meta.object_codec in _PICKLE_IDS and isinstance(value, str):
        return safe_loads(base64.b64decode(value), where=where)
    if value in (0, None) and meta.dtype.kind == "O":
        return None
    return value


def _decode_chunk(raw: bytes, meta: LegacyArrayMeta, shape: tuple[int, ...], where: str) -> np.ndarray:
    data: Any = raw
    if meta.compressor:
        data = numcodecs.get_codec(dict(meta.compressor)).decode(data)
    for spec in reversed(meta.filters):
        codec_id = spec.get("id")
        if codec_id in _PICKLE_IDS:
            data = safe_loads(bytes(data), where=where)
        elif codec_id in _JSON_IDS:
            data = numcodecs.get_codec(dict(spec)).decode(bytes(data))
        else:
            data = numcodecs.get_codec(dict(spec)).decode(data)
    arr = np.asarray(data, dtype=meta.dtype) if meta.dtype.kind != "O" else np.asarray(data, dtype=object)
    if arr.size != math.prod(shape):
        raise FormatError(
            f"A chunk of {where!r} holds {arr.size} items, not the {math.prod(shape)} expected."
        )
    return arr.reshape(shape, order="F" if meta.order == "F" else "C")


class LegacyObjectArray:
    """A lazy view of a v2 object array; ``[...]`` reads only the chunks an index touches.

    Elements come back as Python objects: ``str`` (vlen-utf8), ``bytes`` (vlen-bytes),
    :class:`LegacyReference` dicts (references), and rows of a structured array for compounds.
    """

    def __init__(self, store: Store, path: str, meta: LegacyArrayMeta) -> None:
        self._store = store
        self._path = paths.normalise(path)
        self._key = paths.to_zarr_key(path)
        self.meta = meta

    @property
    def shape(self) -> tuple[int, ...]:
        return self.meta.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.meta.dtype

    @property
    def ndim(self) -> int:
        return len(self.meta.shape)

    @property
    def chunks(self) -> tuple[int, ...]:
        return self.meta.chunks

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def _chunk_key(self, coords: Sequence[int]) -> str:
        name = self.meta.separator.join(str(c) for c in coords) if coords else "0"
        return f"{self._key}/{name}" if self._key else name

    async def _chunk(self, coords: tuple[int, ...]) -> np.ndarray:
        shape = tuple(min(c, s - i * c) for c, s, i in zip(self.meta.chunks, self.shape, coords, strict=True))
        buf = await self._store.get(self._chunk_key(coords), prototype=default_buffer_prototype())
        if buf is None:
            out = np.empty(shape, dtype=self.meta.dtype)
            out[...] = _decode_fill(self.meta, self._path)
            return out
        full = tuple(self.meta.chunks)
        arr = _decode_chunk(buf.to_bytes(), self.meta, full, self._path)
        return arr[tuple(slice(0, n) for n in shape)]

    async def _read_block(self, index: list[np.ndarray]) -> np.ndarray:
        """Read the smallest chunk-aligned block covering *index* (one integer array per axis)."""
        lo = [int(ix.min()) // c if ix.size else 0 for ix, c in zip(index, self.meta.chunks, strict=True)]
        hi = [int(ix.max()) // c if ix.size else -1 for ix, c in zip(index, self.meta.chunks, strict=True)]
        grid = [range(a, b + 1) for a, b in zip(lo, hi, strict=True)]
        coords = [tuple(c) for c in np.ndindex(*[len(g) for g in grid])]
        wanted = [tuple(g[i] for g, i in zip(grid, c, strict=True)) for c in coords]

        pieces = await asyncio.gather(*(self._chunk(c) for c in wanted))
        starts = [a * c for a, c in zip(lo, self.meta.chunks, strict=True)]
        stops = [min(s, (b + 1) * c) for s, b, c in zip(self.shape, hi, self.meta.chunks, strict=True)]
        block = np.empty([b - a for a, b in zip(starts, stops, strict=True)], dtype=self.meta.dtype)
        for chunk_coords, piece in zip(wanted, pieces, strict=True):
            origin = [cc * c - s for cc, c, s in zip(chunk_coords, self.meta.chunks, starts, strict=True)]
            block[tuple(slice(o, o + n) for o, n in zip(origin, piece.shape, strict=True))] = piece
        return block[np.ix_(*[ix - s for ix, s in zip(index, starts, strict=True)])]

    async def getitem(self, key: Any) -> Any:
        """The selection *key*, read on the running event loop (zarr's async API style)."""
        if not self.shape:
            return (await self._chunk(()))[()]
        index, squeeze = _normalise_key(key, self.shape)
        if any(ix.size == 0 for ix in index):
            return np.empty(
                [ix.size for ix, s in zip(index, squeeze, strict=True) if not s], dtype=self.dtype
            )
        block = await self._read_block(index)
        return block[tuple(0 if s else slice(None) for s in squeeze)]

    def __getitem__(self, key: Any) -> Any:
        return sync(self.getitem(key))

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[...])
        return arr.astype(dtype) if dtype is not None else arr


def _normalise_key(key: Any, shape: tuple[int, ...]) -> tuple[list[np.ndarray], list[bool]]:
    """Turn an index into one sorted-or-not integer array per axis, and which axes an integer removed."""
    parts = list(key) if isinstance(key, tuple) else [key]
    if any(p is Ellipsis for p in parts):
        i = next(i for i, p in enumerate(parts) if p is Ellipsis)
        parts[i : i + 1] = [slice(None)] * (len(shape) - len(parts) + 1)
    parts += [slice(None)] * (len(shape) - len(parts))
    if len(parts) > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}")
    index: list[np.ndarray] = []
    squeeze: list[bool] = []
    for part, size in zip(parts, shape, strict=True):
        if isinstance(part, slice):
            index.append(np.arange(size)[part])
            squeeze.append(False)
        elif isinstance(part, int | np.integer):
            value = int(part) + size if int(part) < 0 else int(part)
            if not 0 <= value < size:
                raise IndexError(f"index {part} is out of bounds for an axis of size {size}")
            index.append(np.asarray([value]))
            squeeze.append(True)
        else:
            arr = np.asarray(part)
            if arr.dtype == bool:
                arr = np.flatnonzero(arr)
            index.append(np.where(arr < 0, arr + size, arr).astype(np.int64))
            squeeze.append(False)
    return index, squeeze


def reference_record(value: Any, *, where: str) -> fmt.ReferenceRecord | None:
    """The record of one element of a legacy reference array (a pickled dict, a JSON dict or text)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if value.startswith("{"):
            value = json.loads(value)
        else:
            return fmt.ReferenceRecord(fmt.SAME_STORE_SOURCE, value)
    if isinstance(value, LegacyReference | dict):
        return fmt.ReferenceRecord.from_json(value, where=where)
    raise FormatError(f"Dataset {where!r} holds {value!r} where an object reference was expected.")
