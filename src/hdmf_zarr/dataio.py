"""ZarrDataIO: per-dataset storage options (chunks, shards, codecs, fill value, linking).

Layer: services. Validates options once, translates numcodecs codecs and the old ``compressor=``
spelling into zarr 3 codecs, and computes the default chunking and compressor.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

import numcodecs
import numpy as np
import zarr.codecs
import zarr.codecs.numcodecs as zarr_numcodecs
from hdmf.data_utils import DataIO
from numcodecs.abc import Codec as NumcodecsCodec
from zarr.abc.codec import ArrayArrayCodec, BytesBytesCodec
from zarr.abc.codec import Codec as ZarrCodec

from hdmf_zarr.errors import HdmfZarrWarning, InvalidOptionError, UnsupportedValueError
from hdmf_zarr.h5settings import h5_codecs, h5_fill_value, is_h5py_dataset

#: Target size of one uncompressed chunk. ~1 MiB keeps a 1-second slice of a 64-channel int16
#: recording to a handful of chunks while keeping per-chunk overhead small.
DEFAULT_CHUNK_BYTES: Final = 1 << 20


@functools.cache
def default_compressors() -> tuple[ZarrCodec, ...]:
    """Blosc/LZ4 with byte shuffle: fast to write and read, a good ratio on int16 ephys data.

    One tuple for every array (zarr's codecs are frozen; they evolve into new objects per array): a
    file with 20,000 series would otherwise hold 40,000 alike codec objects while it is written.
    """
    return (zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),)


def default_chunks(
    shape: Sequence[int], itemsize: int, *, target: int = DEFAULT_CHUNK_BYTES
) -> tuple[int, ...]:
    """Chunk along the first (time) axis, keeping whole rows together while a row fits in *target*.

    A 1-second slice of all channels then touches few chunks, and never one chunk per channel column.
    """
    if not shape:
        return ()
    dims = [max(int(d), 1) for d in shape]
    row_items = math.prod(dims[1:])
    row_bytes = max(row_items * max(itemsize, 1), 1)
    if row_bytes <= target:
        return (max(1, min(dims[0], target // row_bytes)), *dims[1:])
    # A single row is larger than the target: split trailing axes, last axis first.
    chunk = [1, *dims[1:]]
    for axis in range(len(chunk) - 1, 0, -1):
        while math.prod(chunk) * itemsize > target and chunk[axis] > 1:
            chunk[axis] = math.ceil(chunk[axis] / 2)
    return tuple(chunk)


def _numcodecs_to_zarr(codec: NumcodecsCodec) -> ZarrCodec:
    config = {k: v for k, v in codec.get_config().items() if k != "id"}
    match codec:
        case numcodecs.Blosc():
            shuffle: Any = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "shuffle"}[
                int(config.get("shuffle", 1))
            ]
            return zarr.codecs.BloscCodec(
                cname=config.get("cname", "lz4"), clevel=int(config.get("clevel", 5)), shuffle=shuffle
            )
        case numcodecs.Zstd():
            return zarr.codecs.ZstdCodec(level=int(config.get("level", 0)))
        case numcodecs.GZip():
            return zarr.codecs.GzipCodec(level=int(config.get("level", 5)))
    wrapper = getattr(zarr_numcodecs, type(codec).__name__, None)
    if wrapper is None:
        raise UnsupportedValueError(
            f"The numcodecs codec {codec!r} has no zarr 3 equivalent; use a codec from zarr.codecs."
        )
    return wrapper(**config)


def as_zarr_codecs(codecs: object, *, option: str) -> tuple[ZarrCodec, ...] | None:
    """Return *codecs* (a codec, a list of codecs, numcodecs or zarr 3, or None) as zarr 3 codecs."""
    if codecs is None:
        return None
    items: Iterable[object] = codecs if isinstance(codecs, list | tuple) else [codecs]
    out: list[ZarrCodec] = []
    for item in items:
        if isinstance(item, ZarrCodec):
            out.append(item)
        elif isinstance(item, NumcodecsCodec):
            out.append(_numcodecs_to_zarr(item))
        elif isinstance(item, dict):
            out.append(_numcodecs_to_zarr(numcodecs.get_codec(item)))
        else:
            raise UnsupportedValueError(
                f"{option}={item!r} is not a codec: pass zarr.codecs or numcodecs codecs."
            )
    return tuple(out)


_V2_SHUFFLE: Final = {
    "noshuffle": numcodecs.Blosc.NOSHUFFLE,
    "shuffle": numcodecs.Blosc.SHUFFLE,
    "bitshuffle": numcodecs.Blosc.BITSHUFFLE,
}


def _zarr_to_numcodecs(codec: object) -> object:
    match codec:
        case NumcodecsCodec():
            return codec
        case zarr.codecs.BloscCodec():
            shuffle = getattr(codec.shuffle, "value", codec.shuffle)
            cname = getattr(codec.cname, "value", codec.cname)
            return numcodecs.Blosc(
                cname=str(cname),
                clevel=int(codec.clevel),
                shuffle=_V2_SHUFFLE[str(shuffle)],
                blocksize=int(codec.blocksize or 0),
            )
        case zarr.codecs.ZstdCodec():
            return numcodecs.Zstd(level=int(codec.level))
        case zarr.codecs.GzipCodec():
            return numcodecs.GZip(level=int(codec.level))
    config = getattr(codec, "codec_config", None)
    if isinstance(config, dict):  # zarr.codecs.numcodecs wrappers carry the numcodecs config
        return numcodecs.get_codec(dict(config))
    raise UnsupportedValueError(
        f"The codec {codec!r} cannot be stored in a Zarr v2 array; use a numcodecs codec or write Zarr v3."
    )


def as_numcodecs(codec: object) -> object:
    """Return one codec as its numcodecs equivalent (zarr 3 codecs translated), or raise
    :class:`UnsupportedValueError` when numcodecs has none."""
    return _zarr_to_numcodecs(codec)


def as_v2_codecs(codecs: object) -> object:
    """Return zarr 3 codecs (or "auto"/None) as the numcodecs codecs a Zarr v2 array stores."""
    if codecs is None or isinstance(codecs, str):
        return codecs
    items = codecs if isinstance(codecs, list | tuple) else [codecs]
    return tuple(_zarr_to_numcodecs(c) for c in items)


def _checked_shards(shards: object, chunks: object, data: Any) -> tuple[int, ...] | str | None:
    """*shards* as a shape or "auto"; each shard dimension must be a multiple of the chunk's."""
    if shards is None or shards == "auto":
        return shards
    if isinstance(shards, str | bool):
        raise InvalidOptionError(f"ZarrDataIO: 'shards' must be a shape or 'auto', not {shards!r}.")
    shape = check_chunk_shape(shards, option="shards", data=data)
    if isinstance(chunks, tuple) and (
        len(chunks) != len(shape) or any(s % c for s, c in zip(shape, chunks, strict=True))
    ):
        raise InvalidOptionError(
            f"ZarrDataIO: shards={shape} is not a whole number of chunks={chunks} along every axis; "
            "make each shard dimension a multiple of the chunk dimension."
        )
    return tuple(shape)


def to_v3_slots(
    filters: tuple[ZarrCodec, ...] | None, compressors: tuple[ZarrCodec, ...] | None
) -> tuple[tuple[ZarrCodec, ...] | None, tuple[ZarrCodec, ...] | None]:
    """Place zarr 2 style filters in zarr 3's slots: (filters, compressors).

    zarr 2 took any codec as a filter (``filters=[Shuffle()]`` before a compressor, as neuroconv and
    h5py-minded code write); zarr 3 filters are array-to-array only. Bytes-to-bytes codecs given as
    filters move to the front of the compressors, which applies them in the same order (after the
    array-to-array filters, before the compressors). *compressors* None means the default ones.
    """
    if not filters:
        return filters, compressors
    moved = tuple(c for c in filters if isinstance(c, BytesBytesCodec))
    if not moved:
        return filters, compressors
    kept = tuple(c for c in filters if not isinstance(c, BytesBytesCodec))
    first_moved = min(i for i, c in enumerate(filters) if isinstance(c, BytesBytesCodec))
    if any(isinstance(c, ArrayArrayCodec) for c in filters[first_moved:]):
        raise UnsupportedValueError(
            f"filters={list(filters)!r}: a bytes-to-bytes codec comes before an array-to-array one, "
            "which zarr 3 cannot store; put array-to-array filters (e.g. Delta) first."
        )
    base = default_compressors() if compressors is None else compressors
    return kept, (*moved, *base)


def as_v2_options(options: dict[str, Any]) -> dict[str, Any]:
    """zarr.create_array options for a Zarr v2 array: numcodecs codecs, and one compressor.

    zarr 2 has one compressor slot: every compressor but the last rides at the end of the filters,
    which applies them in the same order.
    """
    out = dict(options)
    for key in ("compressors", "filters"):
        if key in out:
            out[key] = as_v2_codecs(out[key])
    compressors = out.get("compressors")
    if isinstance(compressors, tuple) and len(compressors) > 1:
        out["filters"] = (*(out.get("filters") or ()), *compressors[:-1])
        out["compressors"] = compressors[-1:]
    return out


def _is_chunk_size(value: object) -> bool:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        return False
    return int(value) >= 1


def check_chunk_shape(value: Any, *, option: str, data: Any = None) -> Any:
    """Return *value* if it is a usable ``chunks``/``shards`` option, else raise InvalidOptionError.

    Accepted: None or True (the default chunking), False (one chunk), or one positive integer per axis
    of the data. Zero, negative, fractional or nested sizes and a bare number are refused: they would
    be truncated, or write one object per element.
    """
    if value is None or isinstance(value, bool):
        return value
    sizes = list(value) if isinstance(value, list | tuple | np.ndarray) else None
    bad = [v for v in sizes if not _is_chunk_size(v)] if sizes is not None else [value]
    if bad:
        raise InvalidOptionError(
            f"ZarrDataIO({option}={value!r}) is not a chunk shape: give one positive integer per axis "
            f"(for example {option}=(1000,) or (1000, 64)); {bad[0]!r} is not one. The axis length gives "
            "one chunk along that axis; None or True choose the default chunking."
        )
    shape = getattr(data, "shape", None)
    if sizes is not None and isinstance(shape, tuple) and len(shape) != len(sizes):
        raise InvalidOptionError(
            f"ZarrDataIO({option}={value!r}) gives {len(sizes)} sizes for data with {len(shape)} axes "
            f"(shape {shape!r}); give one size per axis."
        )
    return tuple(int(v) for v in sizes) if sizes is not None else value


def _is_lazy_array(data: object) -> bool:
    return type(data).__module__.startswith("dask.array") and hasattr(data, "chunks")


class ZarrDataIO(DataIO):
    """Wrap data with the Zarr storage options to use when writing it.

    Parameters mirror ``zarr.create_array``: ``chunks``, ``shards``, ``compressors``, ``filters``,
    ``serializer``, ``fillvalue``. ``compressor`` (one numcodecs codec, the zarr 2 spelling) is
    accepted and translated. ``link_data=True`` with a zarr array as data writes a link to it.
    """

    def __init__(  # noqa: PLR0913 - the public signature of hdmf-zarr's ZarrDataIO
        self,
        data: Any = None,
        chunks: Sequence[int] | bool | None = None,
        fillvalue: Any = None,
        compressors: Any = None,
        filters: Any = None,
        serializer: Any = None,
        shards: Sequence[int] | Literal["auto"] | None = None,
        link_data: bool = False,
        dtype: Any = None,
        shape: tuple[int, ...] | None = None,
        compressor: Any = None,
        **legacy: Any,
    ) -> None:
        if compressor is not None:
            if compressors is not None:
                raise UnsupportedValueError("Give either compressors= or the older compressor=, not both.")
            compressors = [compressor] if compressor is not False else []
        if legacy:
            warnings.warn(
                f"ZarrDataIO ignores the options {sorted(legacy)}: they have no meaning for zarr 3 stores.",
                HdmfZarrWarning,
                stacklevel=2,
            )
        if _is_lazy_array(data):
            # hdmf's docval does not list dask arrays as array data; the data setter takes them as
            # they are, and the writer stores them chunk-aligned with dask's active scheduler.
            super().__init__(data=None, dtype=None, shape=None)
            self.data = data
        else:
            super().__init__(data=data, dtype=dtype, shape=shape)
        self._chunks = check_chunk_shape(chunks, option="chunks", data=data)
        self._fillvalue = fillvalue
        self._compressors_given = compressors
        # The peer's booleans: True is zarr's default compression, False is none (io_settings None).
        self._no_compressors = compressors is False
        compressors = None if isinstance(compressors, bool) else compressors
        self._filters_given = filters
        codecs = () if self._no_compressors else as_zarr_codecs(compressors, option="compressors")
        self._filters, self._compressors = to_v3_slots(as_zarr_codecs(filters, option="filters"), codecs)
        if self._no_compressors and not self._compressors:
            self._compressors = None  # io_settings says None, as the peer's does
        self._serializer = serializer
        self._shards = _checked_shards(shards, self._chunks, data)
        self._link_data = bool(link_data)

    @property
    def link_data(self) -> bool:
        return self._link_data

    @property
    def io_settings(self) -> dict[str, Any]:
        """The options that reach ``zarr.create_array`` (only those that were set)."""
        out: dict[str, Any] = {}
        if self._chunks is not None:
            out["chunks"] = self._chunks
        if self._fillvalue is not None:
            out["fill_value"] = self._fillvalue
        if self._compressors is not None or self._no_compressors:
            out["compressors"] = self._compressors
        if self._filters is not None:
            out["filters"] = self._filters
        if self._serializer is not None:
            out["serializer"] = self._serializer
        if self._shards is not None:
            out["shards"] = self._shards
        return out

    def get_io_params(self) -> dict[str, Any]:
        """The constructor options, so ``ZarrDataIO(data, **old.get_io_params())`` rebuilds this wrapper."""
        return {
            "chunks": self._chunks,
            "fillvalue": self._fillvalue,
            "compressors": self._compressors_given,
            "filters": self._filters_given,
            "serializer": self._serializer,
            "shards": self._shards,
            "link_data": self._link_data,
        }

    @property
    def chunks(self) -> Sequence[int] | bool | None:
        """The chunk shape asked for (None: chosen when written)."""
        return self._chunks

    @property
    def fillvalue(self) -> Any:
        """The fill value asked for (None: the dtype's default)."""
        return self._fillvalue

    @staticmethod
    def from_h5py_dataset(dataset: Any, **overrides: Any) -> ZarrDataIO:
        """Wrap an h5py dataset with its chunking, fill value and (numeric) compression as Zarr options.

        HDF5 -> Zarr export applies this to every h5py dataset it copies; *overrides* win.
        """
        options: dict[str, Any] = {"chunks": dataset.chunks, "fillvalue": h5_fill_value(dataset)}
        if dataset.dtype.kind in "biuf":
            options["compressors"] = h5_codecs(dataset) or None
        options.update(overrides)
        return ZarrDataIO(dataset, **options)

    @staticmethod
    def hdf5_to_zarr_filters(h5dataset: Any) -> list[ZarrCodec]:
        """The Zarr codecs equivalent to *h5dataset*'s HDF5 filters (others are dropped, with a warning)."""
        return list(h5_codecs(h5dataset))

    @staticmethod
    def is_h5py_dataset(obj: object) -> bool:
        """Whether *obj* is an h5py Dataset."""
        return is_h5py_dataset(obj)
