"""Read the Zarr v2 dialect of hdmf-zarr <= 0.13 with zarr-python 3, lazily and without running file code.

Layer: conventions (legacy). May import _format, errors, paths, store, dtypes, values, zarr, numcodecs
and numpy; ``read`` and ``write`` call it, never the reverse.

Why: zarr-python 3.4 cannot open the v2 object arrays these files hold. It refuses ``|O`` arrays whose
object codec is ``pickle`` or ``json2`` (references, compounds, cached specs) and ``vlen-bytes``
arrays with the fill value 0 that zarr 2 wrote (every isodatetime); one such entry in ``.zmetadata``
makes a consolidated open, or a listing of members, of the whole file fail. It reads ``vlen-utf8``
arrays but returns ``"0"`` for their missing chunks.

So the index of a v2 file is read here from ``.zmetadata`` (one GET, no listing; a listing walk only
without it): numeric and fixed-size arrays become zarr's ``ArrayV2Metadata``, read by zarr as usual,
and every object array becomes a :class:`LegacyArrayMeta`, read by :class:`LegacyObjectArray`, which
fetches and decodes only the chunks an index touches (pickles through the restricted unpickler).

Interface for readers (see also :mod:`hdmf_zarr.legacy.nodes` for a classified view)::

    index = load_index(store)  # {"/": GroupMetadata, "/a/b": ArrayV2Metadata or LegacyArrayMeta}
    arr = LegacyObjectArray(store, "/a/b", index["/a/b"])   # no I/O yet
    arr[2:5], arr[[0, 3]], arr[...]            # numpy arrays of str/bytes/dicts, structured for compounds
    reference_record(arr[0], where="/a/b")     # -> ReferenceRecord | None
"""

from __future__ import annotations

import asyncio
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
from hdmf_zarr.confine import check_key, check_separator, is_plain_key
from hdmf_zarr.errors import CorruptDataError, FormatError, UnsafePickleError
from hdmf_zarr.legacy import chunks, selection
from hdmf_zarr.legacy.unpickle import LegacyReference
from hdmf_zarr.store import describe_source


@dataclass(frozen=True, slots=True)
class LegacyArrayMeta:
    """The ``.zarray`` (and ``.zattrs``) of a v2 object array that zarr-python 3 cannot open.

    ``dtype`` is what reads return: the stored dtype, except that an object array of compound rows
    (``|O`` with a ``zarr_dtype`` field list) reads as the structured dtype of those fields.
    """

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
    stored_dtype: np.dtype[Any] = field(default_factory=lambda: np.dtype(object))
    rows: bool = False  # an object array whose elements are compound rows

    def to_documents(self) -> dict[str, Any]:
        """The ``.zarray`` and ``.zattrs`` JSON of this array (for writing and for .zmetadata)."""
        return {fmt.V2_ARRAY_KEY: dict(self.zarray), fmt.V2_ATTRS_KEY: dict(self.attributes)}

    @property
    def object_codec(self) -> str:
        """The id of the object codec (``pickle``, ``json2``, ``vlen-utf8``, ...), "" if none."""
        return chunks.object_codec_id(self.filters)


def _is_object_array(zarray: Mapping[str, Any]) -> bool:
    dtype = zarray.get("dtype")
    if dtype == "|O":
        return True
    return isinstance(dtype, list) and any(part[1] == "|O" for part in dtype)


def _numpy_dtype(spec: Any) -> np.dtype[Any]:
    if isinstance(spec, list):
        return np.dtype([(str(name), _numpy_dtype(sub)) for name, sub, *rest in spec])
    return np.dtype(spec)


def _field_dtype(token: Any) -> np.dtype[Any]:
    """The numpy dtype of one ``zarr_dtype`` field token; text, bytes and references are objects."""
    try:
        dt = np.dtype(token)
    except (TypeError, ValueError):
        return np.dtype(object)  # "text", "isodatetime", {"target_type": ...} and other spec tokens
    return np.dtype(object) if dt.kind in "USOV" else dt


def row_dtype(token: Any) -> np.dtype[Any] | None:
    """The structured dtype a ``zarr_dtype`` field list describes (None if *token* is not one)."""
    if not isinstance(token, list) or not token:
        return None
    if not all(isinstance(f, Mapping) and isinstance(f.get("name"), str) for f in token):
        return None
    try:
        return np.dtype([(f["name"], _field_dtype(f.get("dtype"))) for f in token])
    except (TypeError, ValueError):
        return None  # e.g. repeated field names


def legacy_meta(zarray: Mapping[str, Any], attrs: Mapping[str, Any]) -> LegacyArrayMeta:
    """Describe a v2 object array from its ``.zarray`` and ``.zattrs`` documents (no I/O)."""
    stored = _numpy_dtype(zarray["dtype"])
    rows = row_dtype(attrs.get(fmt.V2_DTYPE_ATTR)) if stored.kind == "O" else None
    return LegacyArrayMeta(
        shape=tuple(zarray["shape"]),
        chunks=tuple(zarray["chunks"]),
        dtype=rows if rows is not None else stored,
        fill_value=zarray.get("fill_value"),
        filters=tuple(zarray.get("filters") or ()),
        compressor=zarray.get("compressor"),
        order=zarray.get("order", "C"),
        separator=zarray.get("dimension_separator") or ".",
        attributes=dict(attrs),
        zarray=dict(zarray),
        stored_dtype=stored,
        rows=rows is not None,
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
    try:
        return None if buf is None else json.loads(buf.to_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptDataError(
            f"The document {key!r} of {describe_source(store)!r} is not valid JSON ({exc}); the file is "
            "damaged or was crafted."
        ) from exc


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
    source = describe_source(store)
    nodes: dict[str, Any] = {}
    for key in docs:
        folder, _, name = check_key(key, store=source).rpartition("/")
        if name not in (fmt.V2_GROUP_KEY, fmt.V2_ARRAY_KEY):
            continue
        zattrs = docs.get(f"{folder}/{fmt.V2_ATTRS_KEY}" if folder else fmt.V2_ATTRS_KEY) or {}
        zarray = docs[key] if name == fmt.V2_ARRAY_KEY else None
        path = paths.normalise(folder)
        if isinstance(zarray, Mapping):
            check_separator(zarray.get("dimension_separator"), store=source, node=path)
        nodes[path] = node_metadata(zarray, zattrs, where=path)
    return nodes


# -- reading object arrays -------------------------------------------------------------------------

#: Chunks one read fetches at once (bounds open requests against remote stores).
MAX_CONCURRENT_CHUNKS = 64


class LegacyObjectArray:
    """A lazy view of a v2 object array; ``[...]`` fetches and decodes only the chunks an index touches.

    Elements come back as Python objects in numpy arrays: ``str`` (vlen-utf8), ``bytes``
    (vlen-bytes), :class:`LegacyReference` dicts (pickled references) or dicts (JSON references),
    decoded ``json2`` values, and structured arrays for compounds (object fields for text and
    references), whether the file stored a structured chunk or an object array of rows. Indexing is
    orthogonal, as in h5py: integers, slices, Ellipsis, integer lists and boolean masks per axis.
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
    def size(self) -> int:
        return math.prod(self.meta.shape)

    @property
    def chunks(self) -> tuple[int, ...]:
        return self.meta.chunks

    @property
    def path(self) -> str:
        return self._path

    # -- storage settings, as zarr 2 reported them (read/arrayinfo.py answers the same for every array)
    @property
    def shards(self) -> None:
        return None

    @property
    def compressors(self) -> tuple[Any, ...]:
        """The stored compressor as a numcodecs codec (none: an empty tuple)."""
        return () if self.meta.compressor is None else (numcodecs.get_codec(dict(self.meta.compressor)),)

    @property
    def compressor(self) -> Any:
        return self.compressors[0] if self.compressors else None

    @property
    def filters(self) -> tuple[Any, ...]:
        """The stored filters as numcodecs codecs, the object codec among them (as zarr 2 listed it)."""
        return tuple(numcodecs.get_codec(dict(f)) for f in self.meta.filters)

    @property
    def fill_value(self) -> Any:
        return self.meta.fill_value

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<LegacyObjectArray {self._path!r} shape={self.shape} codec={self.meta.object_codec!r}>"

    def chunk_key(self, coords: Sequence[int]) -> str:
        """The store key of the chunk at grid *coords*."""
        name = self.meta.separator.join(str(c) for c in coords) if coords else "0"
        key = f"{self._key}/{name}" if self._key else name
        if not is_plain_key(key):  # a separator from a document this index did not check
            check_key(key, store=describe_source(self._store), node=self._path)
        return key

    async def _chunk(self, coords: tuple[int, ...], limit: asyncio.Semaphore) -> np.ndarray:
        """One chunk, cut to the array's edge; the fill value where the store has no chunk."""
        shape = tuple(min(c, s - i * c) for c, s, i in zip(self.meta.chunks, self.shape, coords, strict=True))
        key = self.chunk_key(coords)
        async with limit:
            buf = await self._store.get(key, prototype=default_buffer_prototype())
        if buf is None:
            return chunks.fill_chunk(shape, self.meta, where=self._path)
        try:
            arr = chunks.decode_chunk(buf.to_bytes(), self.meta, where=self._path)
        except (FormatError, UnsafePickleError) as exc:
            raise type(exc)(f"{exc} (chunk {key!r} of {describe_source(self._store)!r})") from exc
        return arr[tuple(slice(0, n) for n in shape)]

    async def getitem(self, key: Any) -> Any:
        """The selection *key*, read on the running event loop (zarr's async API style)."""
        chunks.check_codecs(self.meta.filters, self.meta.compressor, where=self._path)
        limit = asyncio.Semaphore(MAX_CONCURRENT_CHUNKS)
        if not self.shape:
            return (await self._chunk((), limit))[()]
        axes = [
            selection.plan_axis(ix, squeeze, chunk=c, size=s)
            for (ix, squeeze), c, s in zip(
                selection.normalise_key(key, self.shape), self.meta.chunks, self.shape, strict=True
            )
        ]
        block = chunks.blank(tuple(int(a.lengths.sum()) for a in axes), self.dtype)
        parts = list(selection.touched(axes)) if all(a.positions.size for a in axes) else []
        pieces = await asyncio.gather(*(self._chunk(coords, limit) for coords, _ in parts))
        for (_, region), piece in zip(parts, pieces, strict=True):
            block[region] = piece
        out = block[np.ix_(*[a.positions for a in axes])]
        return out[tuple(0 if a.squeeze else slice(None) for a in axes)]

    def __getitem__(self, key: Any) -> Any:
        return sync(self.getitem(key))

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[...])
        return arr.astype(dtype) if dtype is not None else arr


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
