"""Decode the chunks and fill values of v2 object arrays, without running file code.

Layer: conventions (legacy). Pure functions over bytes: a chunk (after the store) goes through the
compressor and then the filters in reverse, as zarr-python 2 wrote them. Only the codecs hdmf-zarr
used are admitted; pickles go through :mod:`hdmf_zarr.legacy.unpickle` and ``json2`` is decoded
here (numcodecs' own decoder cannot rebuild structured arrays with object fields, which hdmf-zarr
0.13 writes for compounds with references when asked for the JSON codec).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any, Final

import numcodecs
import numpy as np

from hdmf_zarr.errors import CorruptDataError, DecodeLimitError, FormatError, HdmfZarrError
from hdmf_zarr.legacy import bounded
from hdmf_zarr.legacy.unpickle import safe_loads

PICKLE_ID: Final = "pickle"
JSON_ID: Final = "json2"
VLEN_UTF8_ID: Final = "vlen-utf8"
VLEN_BYTES_ID: Final = "vlen-bytes"
VLEN_ARRAY_ID: Final = "vlen-array"
#: Object codecs a legacy object array may name (zarr 2 puts the object codec first among the filters).
OBJECT_CODEC_IDS: Final = frozenset({PICKLE_ID, JSON_ID, VLEN_UTF8_ID, VLEN_BYTES_ID, VLEN_ARRAY_ID})
#: Compressors numcodecs decodes without running code from the data.
COMPRESSOR_IDS: Final = frozenset({"blosc", "zstd", "zlib", "gzip", "bz2", "lzma", "lz4"})


def object_codec_id(filters: tuple[Mapping[str, Any], ...]) -> str:
    """The object codec among *filters* ("" when there is none)."""
    for spec in filters:
        if spec.get("id") in OBJECT_CODEC_IDS:
            return str(spec["id"])
    return ""


def check_codecs(
    filters: tuple[Mapping[str, Any], ...], compressor: Mapping[str, Any] | None, *, where: str
) -> None:
    """Refuse codecs outside what hdmf-zarr wrote, before any chunk is read."""
    for spec in filters:
        if spec.get("id") not in OBJECT_CODEC_IDS:
            raise FormatError(
                f"Dataset {where!r} names the filter {spec.get('id')!r}; legacy object arrays use only "
                f"{sorted(OBJECT_CODEC_IDS)}. Convert the file with the tool that wrote it."
            )
    if compressor is not None and compressor.get("id") not in COMPRESSOR_IDS:
        raise FormatError(
            f"Dataset {where!r} names the compressor {compressor.get('id')!r}; this reader decodes "
            f"{sorted(COMPRESSOR_IDS)}."
        )


def blank(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """An array of *shape*: numbers zero, objects None (also inside structured dtypes)."""
    out = np.zeros(shape, dtype=dtype)
    if dtype.kind == "O":
        out[...] = None
    for name in dtype.names or ():
        if dtype.fields[name][0].kind == "O":  # type: ignore[index]
            out[name] = None
    return out


def _nested(values: Any, index: tuple[int, ...]) -> Any:
    for i in index:
        values = values[i]
    return values


def _from_json(text: bytes, dtype: np.dtype[Any], *, where: str, expected: int) -> np.ndarray:
    """numcodecs ``json2`` layout: ``[*items, dtype str, shape]``, items nested like ``tolist()``.

    The shape the chunk claims must hold *expected* elements (its chunk's), checked before allocating.
    """
    try:
        items = json.loads(text)
        shape = tuple(int(n) for n in items[-1])
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise FormatError(f"Dataset {where!r} holds a json2 chunk that cannot be parsed: {exc}") from exc
    if any(n < 0 for n in shape) or math.prod(shape) != expected:
        raise DecodeLimitError(
            f"A json2 chunk of {where!r} claims the shape {list(shape)}; its chunk holds {expected} "
            "elements. The file is damaged or was crafted; nothing was allocated."
        )
    out = blank(shape, dtype)
    values = items[0] if not shape else items[:-2]
    for index in np.ndindex(*shape) if shape else [()]:
        item = _nested(values, index) if shape else values
        out[index] = tuple(item) if dtype.names and isinstance(item, list) else item
    return out


def _as_rows(values: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """Turn an object array of rows (tuples, lists or numpy records) into a structured array."""
    out = blank(values.shape, dtype)
    for index, row in np.ndenumerate(values):
        if row is None or (isinstance(row, int) and row == 0):
            continue  # a fill value
        out[index] = row.item() if isinstance(row, np.void) else tuple(row)
    return out


def decode_chunk(raw: bytes, meta: Any, *, where: str) -> np.ndarray:
    """Decode one stored chunk of the object array described by *meta* (a ``LegacyArrayMeta``).

    Returns an array of the full chunk shape and of ``meta.dtype`` (structured for compounds). Sizes
    claimed by the chunk (decompressed bytes, element counts, shapes) are checked against the chunk
    shape before anything is allocated; codec failures become FormatError naming the dataset.
    """
    expected = bounded.check_chunk_items(tuple(meta.chunks), where=where)
    try:
        data = _decode_codecs(raw, meta, where=where, expected=expected)
    except HdmfZarrError:
        raise
    except bounded.DECODE_ERRORS as exc:
        raise CorruptDataError(
            f"A chunk of {where!r} cannot be decoded ({type(exc).__name__}: {exc}); the file is damaged."
        ) from exc
    arr = np.asarray(data, dtype=stored) if (stored := meta.stored_dtype).names else _object_array(data)
    if arr.size != expected:
        raise FormatError(f"A chunk of {where!r} holds {arr.size} items, not the {expected} expected.")
    arr = arr.reshape(-1, order="A").reshape(meta.chunks, order="F" if meta.order == "F" else "C")
    return _as_rows(arr, meta.dtype) if meta.rows else arr


def _decode_codecs(raw: bytes, meta: Any, *, where: str, expected: int) -> Any:
    data: Any = raw
    limit = bounded.byte_limit(expected)
    if meta.compressor:
        data = bounded.decompress(meta.compressor, bytes(data), where=where, limit=limit)
    elif len(data) > limit:
        raise DecodeLimitError(
            f"A chunk of {where!r} is {len(data)} bytes, over the {limit} its size allows."
        )
    for spec in reversed(meta.filters):
        codec_id = spec.get("id")
        if codec_id == PICKLE_ID:
            data = safe_loads(bytes(data), where=where)
        elif codec_id == JSON_ID:
            data = _from_json(bytes(data), meta.stored_dtype, where=where, expected=expected)
        else:
            bounded.check_vlen_count(bytes(data), expected, where=where)
            data = numcodecs.get_codec(dict(spec)).decode(data)
    return data


def _object_array(data: Any) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind == "O" else data.astype(object)
    out = np.empty(len(data), dtype=object)
    out[:] = list(data)
    return out


def decode_fill(meta: Any, *, where: str) -> Any:
    """The fill value of a legacy array, as the element missing chunks hold.

    zarr 2 stored ``0`` for object arrays (hdmf-zarr never chose one); read as ``""`` for text,
    ``b""`` for bytes and None for other objects (zarr 3 would read ``"0"`` for text and refuses to
    open a bytes array with fill value 0). Structured fills are base64 of the object codec's bytes.
    """
    value = meta.fill_value
    if meta.stored_dtype.names and isinstance(value, str):
        payload = base64.b64decode(value)
        value = (
            safe_loads(payload, where=where)
            if meta.object_codec == PICKLE_ID
            else _from_json(payload, np.dtype(object), where=where, expected=1)[()]
            if meta.object_codec == JSON_ID
            else None
        )
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else None
    if value is None or (isinstance(value, int | np.integer) and value == 0):
        return {VLEN_UTF8_ID: "", VLEN_BYTES_ID: b""}.get(meta.object_codec)
    return value


def fill_chunk(shape: tuple[int, ...], meta: Any, *, where: str) -> np.ndarray:
    """The content of a chunk that is not in the store."""
    out = blank(shape, meta.dtype)
    value = decode_fill(meta, where=where)
    if value is None:
        return out
    if meta.dtype.names:
        out[...] = value.item() if isinstance(value, np.void) else tuple(value)
    else:
        out[...] = value
    return out
