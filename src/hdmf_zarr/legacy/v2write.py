"""Write the object arrays of the Zarr v2 dialect that hdmf-zarr 0.13 reads, which zarr-python 3 cannot.

Layer: conventions (legacy). Verified against hdmf-zarr 0.13.0 (zarr 2.18) reading files made with
zarr 3 ``zarr_format=2`` and these helpers (tests/integration/test_legacy_peer013.py):

- references: ``|O`` + numcodecs JSON (``json2``) records, ``zarr_dtype: "object"``; 0.13 reads them
  without pickle;
- compounds with reference or text fields: 0.13 reads only pickled chunks (it writes JSON ones when
  asked, but cannot read them back: "setting an array element with a sequence"), so these chunks are
  pickled with the standard pickler from plain values only (dicts, str, numbers, tuples);
- cached spec documents: shape [1] ``|O`` + ``json2``, ``zarr_dtype: "scalar"``;
- text and bytes: zarr 3 writes ``vlen-utf8``/``vlen-bytes`` v2 arrays itself (``str`` /
  ``VariableLengthBytes``), read by 0.13; scalars are shape [1] with ``zarr_dtype: "scalar"``;
- links (``zarr_link``) and reference attributes (``{"value": record, "zarr_dtype": "object"}``) are
  plain JSON attributes: :func:`link_attribute`, :func:`reference_attribute`.

Nothing here reads pickles.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any, Final

import numcodecs
import numpy as np
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.legacy.v2 import LegacyArrayMeta, legacy_meta

#: The compressor hdmf-zarr 0.13 used by default, and ours for the v2 dialect.
V2_COMPRESSOR: Final = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
JSON_CODEC: Final = numcodecs.JSON()
PICKLE_CODEC: Final = numcodecs.Pickle(protocol=5)


def object_array_meta(
    shape: Sequence[int],
    chunks: Sequence[int],
    *,
    dtype: str | list[list[str]],
    codec: numcodecs.abc.Codec,
    attributes: dict[str, Any],
) -> LegacyArrayMeta:
    """Describe a v2 object array (``dtype`` "|O" or a structured list with "|O" fields)."""
    zarray = {
        "chunks": [max(1, int(c)) for c in chunks],
        "compressor": V2_COMPRESSOR.get_config(),
        "dtype": dtype,
        "fill_value": None,
        "filters": [codec.get_config()],
        "order": "C",
        "shape": [int(s) for s in shape],
        "zarr_format": 2,
    }
    return legacy_meta(zarray, attributes)


def _chunk_grid(shape: Sequence[int], chunks: Sequence[int]) -> Iterator[tuple[int, ...]]:
    return itertools.product(
        *(range(math.ceil(s / c)) if s else range(0) for s, c in zip(shape, chunks, strict=True))
    )


def encode_chunks(path: str, meta: LegacyArrayMeta, values: np.ndarray) -> list[tuple[str, bytes]]:
    """Return ``(store key, bytes)`` for every chunk of *values* (edge chunks padded to full size)."""
    codec = numcodecs.get_codec(dict(meta.filters[0]))
    prefix = paths.to_zarr_key(path)
    out: list[tuple[str, bytes]] = []
    for coords in _chunk_grid(meta.shape, meta.chunks):
        region = tuple(
            slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(coords, meta.chunks, meta.shape, strict=True)
        )
        block = np.empty(meta.chunks, dtype=values.dtype)
        if values.dtype.kind == "O":
            block[...] = None
        part = _plain(values[region]) if codec.codec_id == "pickle" else values[region]
        block[tuple(slice(0, n) for n in part.shape)] = part
        encoded = V2_COMPRESSOR.encode(codec.encode(block))
        name = ".".join(str(c) for c in coords) or "0"
        out.append((f"{prefix}/{name}" if prefix else name, bytes(encoded)))
    return out


def _plain_value(value: Any) -> Any:
    """A value the peer can unpickle: dict subclasses (our LegacyReference) become dicts."""
    if isinstance(value, dict):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain_value(v) for v in value)
    return value


def _plain(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    names = values.dtype.names
    for name in names or ():
        if values.dtype.fields[name][0].kind == "O":  # type: ignore[index]
            out[name] = np.frompyfunc(_plain_value, 1, 1)(values[name]) if values.size else values[name]
    if names is None and values.dtype.kind == "O" and values.size:
        out = np.frompyfunc(_plain_value, 1, 1)(values).astype(object)
    return out


def reference_attribute(record: fmt.ReferenceRecord) -> dict[str, Any]:
    """The attribute value 0.13 reads as an object reference."""
    return {fmt.V2_REFERENCE_VALUE_KEY: record.to_v2_json(), fmt.V2_DTYPE_ATTR: fmt.DTYPE_OBJECT}


def link_attribute(links: Sequence[fmt.LinkRecord]) -> list[dict[str, str]]:
    """The ``zarr_link`` attribute of a group holding *links*."""
    return [link.to_json() for link in links]


def reference_array_meta(count: int, *, attributes: dict[str, Any] | None = None) -> LegacyArrayMeta:
    """A 1-D reference dataset of *count* JSON records (``zarr_dtype: "object"``)."""
    attrs = {**(attributes or {}), fmt.V2_DTYPE_ATTR: fmt.DTYPE_OBJECT}
    return object_array_meta((count,), (max(count, 1),), dtype="|O", codec=JSON_CODEC, attributes=attrs)


#: The ``zarr_dtype`` token 0.13 writes for a text field of a compound (numpy's name for ``str``).
COMPOUND_TEXT_TOKEN: Final = "str_"


def compound_array_meta(
    fields: Sequence[tuple[str, str]], count: int, *, attributes: dict[str, Any] | None = None
) -> LegacyArrayMeta:
    """A compound dataset of *count* rows, pickled (the only compound form 0.13 reads back).

    *fields* are (name, kind): ``"object"`` for a reference, ``"text"`` for text, else a numpy dtype.
    """

    def stored(kind: str) -> str:
        return "|O" if kind in (fmt.DTYPE_OBJECT, "text") else np.dtype(kind).str

    def token(kind: str) -> str:
        return COMPOUND_TEXT_TOKEN if kind == "text" else kind

    zdtype = [[name, stored(kind)] for name, kind in fields]
    attrs = {
        **(attributes or {}),
        fmt.V2_DTYPE_ATTR: [{"name": name, "dtype": token(kind)} for name, kind in fields],
    }
    return object_array_meta((count,), (max(count, 1),), dtype=zdtype, codec=PICKLE_CODEC, attributes=attrs)


def spec_document_meta(*, attributes: dict[str, Any] | None = None) -> LegacyArrayMeta:
    """A cached spec document as 0.13 writes it: shape [1], ``json2``, ``zarr_dtype: "scalar"``."""
    attrs = {**(attributes or {}), fmt.V2_DTYPE_ATTR: fmt.DTYPE_SCALAR_V2}
    return object_array_meta((1,), (1,), dtype="|O", codec=JSON_CODEC, attributes=attrs)


def write_object_array(store: Store, path: str, meta: LegacyArrayMeta, values: np.ndarray) -> None:
    """Write ``.zarray``, ``.zattrs`` and every chunk of one v2 object array into *store*."""
    prefix = paths.to_zarr_key(path)
    docs = meta.to_documents()
    items = [(f"{prefix}/{name}" if prefix else name, json.dumps(doc).encode()) for name, doc in docs.items()]
    items += encode_chunks(path, meta, values)
    buffer = default_buffer_prototype().buffer

    async def put() -> None:
        for key, data in items:
            await store.set(key, buffer.from_bytes(data))

    sync(put())
