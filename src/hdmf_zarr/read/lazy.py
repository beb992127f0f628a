"""Lazy dataset views: text as Python str, references resolved only for the indexed elements.

Layer: read. Each view wraps an array-like (a zarr array or a legacy object array) by composition;
nothing here reads until indexed. Rows appended to a view (a table grown in mode 'a') are buffered in it
and written by the IO's next write() (read/append.py); until then the view reads stored + buffered rows.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import numpy as np
import zarr
from hdmf.build import ObjectMapper
from hdmf.query import BuilderResolver, ContainerResolver, HDMFDataset
from zarr.core.sync import sync

from hdmf_zarr.errors import DECODE_ERRORS, DecodeLimitError, HdmfZarrError, decoding
from hdmf_zarr.read import arrayinfo
from hdmf_zarr.read.append import AppendSite, PathOf, compound_rows, text_rows
from hdmf_zarr.read.cache import ChunkCache, plan
from hdmf_zarr.read.direct import DirectReader
from hdmf_zarr.store import describe_source

#: dtype kinds the chunk cache holds (numbers, fixed-width and variable-length text, objects).
_CACHED_KINDS = frozenset("biufcmMSUVOT")

Resolve = Callable[[str], Any]


#: The failures a read names the dataset in (the codec pipeline knows neither dataset nor file).
_NAMED_ERRORS: tuple[type[Exception], ...] = (DecodeLimitError, *DECODE_ERRORS)


@contextlib.contextmanager
def _named(array: Any) -> Iterator[None]:
    """Name the dataset and its file in a codec failure while reading *array* (zarr names neither).

    Selection errors (IndexError, TypeError) pass through unchanged.
    """
    try:
        yield
    except _NAMED_ERRORS as exc:
        _raise_named(array, exc)


def _raise_named(array: Any, exc: BaseException) -> NoReturn:
    """Raise *exc*, a codec failure while reading *array*, with the dataset and its file named."""
    if isinstance(exc, DecodeLimitError):  # raised by the codec pipeline, which does not know the dataset
        path, where = _dataset_of(array)
        raise DecodeLimitError(f"{exc} (dataset {path!r} of {where!r})") from exc
    if isinstance(exc, HdmfZarrError):
        raise exc
    path, where = _dataset_of(array)
    with decoding(f"the dataset {path!r} of {where!r}"):
        raise exc


def _dataset_of(array: Any) -> tuple[str, str]:
    store = getattr(array, "store", None)
    where = describe_source(store) if store is not None else "its store"
    return "/" + str(getattr(array, "path", "")).lstrip("/"), where


def _to_text(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _to_text(value.item())
        out = np.empty(value.shape, dtype=object)
        flat = out.reshape(-1)
        flat[:] = [_to_text(v) for v in value.reshape(-1)]
        return out
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value) if isinstance(value, np.str_) else value


class ArrayView(HDMFDataset):
    """Base of the views: shape, dtype, len and iteration over a wrapped array-like."""

    def __init__(self, raw: Any) -> None:  # HDMFDataset's docval __init__ rejects zarr arrays; not called
        self._raw = raw
        self._site: AppendSite | None = None
        self._pending: list[Any] = []

    def attach(self, site: AppendSite | None) -> None:
        """Say where appended rows go (the reader does this; a view without a site is read-only)."""
        self._site = site

    @property
    def dataset(self) -> Any:
        return self._raw

    @property
    def shape(self) -> tuple[int, ...]:
        stored = tuple(self._raw.shape)
        if not self._pending:
            return stored
        return (stored[0] + len(self._pending), *stored[1:])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    # -- storage settings of the stored array (read/arrayinfo.py) ---------------------------------
    @property
    def chunks(self) -> tuple[int, ...]:
        return arrayinfo.chunks(self._raw)

    @property
    def shards(self) -> tuple[int, ...] | None:
        return arrayinfo.shards(self._raw)

    @property
    def compressors(self) -> tuple[Any, ...]:
        return arrayinfo.compressors(self._raw)

    @property
    def compressor(self) -> Any:
        return arrayinfo.compressor(self._raw)

    @property
    def filters(self) -> tuple[Any, ...]:
        return arrayinfo.filters(self._raw)

    @property
    def fill_value(self) -> Any:
        return arrayinfo.fill_value(self._raw)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        with decoding(self._where):
            if not self._pending:
                return self._read(key)
            return self._combine(self._read(slice(None)), self._pending)[key]

    def _read(self, key: Any) -> Any:
        """Read stored elements (what the view returns for *key* when nothing is pending)."""
        with _named(self._raw):
            return self._raw[key]

    def _combine(self, stored: Any, pending: list[Any]) -> np.ndarray:
        first = stored if isinstance(stored, np.ndarray) else _objects(list(stored))
        return np.concatenate([first.astype(object).reshape(-1), _objects(pending)])

    # -- appending (hdmf's append_data calls HDMFDataset.append) -----------------------------------
    def append(self, arg: Any) -> None:
        if self._site is None:
            raise TypeError(f"{self!r} is not a stored dataset of an open file; nothing can be appended.")
        self._site.accept(self, self._raw)
        self._pending.append(arg)

    def extend(self, args: Any) -> None:
        for arg in args:
            self.append(arg)

    def stored_array(self) -> zarr.Array:
        assert isinstance(self._raw, zarr.Array)
        return self._raw

    def pending_written(self) -> None:
        self._pending.clear()

    @abstractmethod
    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        """The buffered rows as the stored array holds them (each view stores its kind its own way)."""

    @property
    def _where(self) -> str:
        return self._site.where if self._site is not None else repr(self)

    def __iter__(self) -> Iterator[Any]:
        """Element by element, read a block of rows at a time (pynwb iterates whole reference lists)."""
        if not self.shape:
            raise TypeError("iteration over a scalar dataset")
        yield from _blockwise(self, len(self), _block_rows(self._raw))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[...] if self.shape else self[()])
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape}>"


class NumericArray(zarr.Array):
    """A zarr array whose element selections return numpy scalars, as h5py datasets do.

    zarr returns a 0-d array for ``arr[1]``; hdmf (e.g. ``DynamicTableRegion.get``) expects a scalar.
    A subclass, not a view, so that readers and the writer still see a ``zarr.Array`` (links, export).
    """

    _site: AppendSite | None = None
    _pending: tuple[np.ndarray, ...] = ()  # appended rows not yet written (see read/append.py)
    _cache: ChunkCache | None = None  # decoded chunks shared by the IO's arrays (read/cache.py)
    _direct: DirectReader | bool | None = False  # False: not looked up yet (read/direct.py)

    def attach(self, site: AppendSite | None, cache: ChunkCache | None = None) -> None:
        self._site = site
        if cache is not None and self.dtype.kind in _CACHED_KINDS:
            self._cache = cache

    @property
    def shape(self) -> tuple[int, ...]:
        """Stored rows plus appended rows not yet written (hdmf measures tables by ``shape[0]``)."""
        stored = tuple(self.metadata.shape)
        if not self._pending:
            return stored
        return (stored[0] + sum(len(p) for p in self._pending), *stored[1:])

    @shape.setter
    def shape(self, value: tuple[int, ...]) -> None:
        self.resize(value)  # as zarr.Array's setter

    @property
    def compressor(self) -> Any:
        """The compressor as a numcodecs codec, or None (zarr 2's attribute, for v3 arrays too)."""
        return arrayinfo.compressor(self)

    def __getitem__(self, selection: Any) -> Any:
        try:  # as _named(self), without a context manager's cost on every read of a small series
            return self._getitem(selection)
        except _NAMED_ERRORS as exc:
            _raise_named(self, exc)

    def _getitem(self, selection: Any) -> Any:
        if self._pending:
            stored = sync(self._async_array.getitem(slice(None)))  # the stored rows only
            out = np.concatenate([np.asarray(stored), *self._pending])[selection]
        else:
            direct = self._direct_reader()
            out = self._read_small(direct, selection) if direct is not None and direct.small else None
            if out is None:
                out = self._from_cache(selection)
            if out is None and direct is not None:
                out = self._read_direct(direct, selection)
            if out is None:
                out = super().__getitem__(selection)
        return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out

    def _from_cache(self, selection: Any) -> np.ndarray | None:
        cache = self._cache
        if cache is None:
            return None
        shape = tuple(self.metadata.shape)
        box = plan(selection, shape)
        if box is None:
            return None

        direct = self._direct_reader()

        def fetch(region: tuple[slice, ...]) -> np.ndarray:
            if direct is not None:
                return direct.read(region)
            return np.asarray(zarr.Array.__getitem__(self, region))

        # a local array decodes a large first miss straight into the result (read/cache.py: ChunkCache)
        admit_later = direct is not None
        chunks = tuple(self.chunks)
        return cache.read(self.path, box, chunks, shape, self.dtype, fetch, admit_later=admit_later)

    def _direct_reader(self) -> DirectReader | None:
        if self._direct is False or (
            isinstance(self._direct, DirectReader) and self._direct.metadata is not self.metadata
        ):  # first read, or the array was resized or rewritten since
            self._direct = DirectReader.of(self)
        return self._direct if isinstance(self._direct, DirectReader) else None

    def _read_small(self, direct: DirectReader, selection: Any) -> np.ndarray | None:
        """A plain selection of an array held by one small chunk: the chunk from the IO's cache, or
        read directly and cached (the general cache path costs more than the read itself here)."""
        box = plan(selection, direct.shape)
        if box is None:
            return None
        origin = (0,) * len(direct.shape)
        cache = self._cache
        block = cache.peek(self.path, origin) if cache is not None else None
        if block is None:
            block = direct.chunk(origin)
            if cache is not None:
                cache.put(self.path, origin, block)
        if box.stops == block.shape and not any(box.starts):  # the whole chunk (``data[:]``)
            return box.finish(block.copy())
        region = tuple(slice(a, b) for a, b in zip(box.starts, box.stops, strict=True))
        return box.finish(np.array(block[region]))

    def _read_direct(self, direct: DirectReader, selection: Any) -> np.ndarray | None:
        """A plain selection read without zarr's event loop (local arrays; read/direct.py), else None."""
        box = plan(selection, direct.shape)
        if box is None:
            return None
        region = tuple(slice(a, b) for a, b in zip(box.starts, box.stops, strict=True))
        return box.finish(direct.read(region))

    def __setitem__(self, selection: Any, value: Any) -> None:
        super().__setitem__(selection, value)
        if self._cache is not None:
            self._cache.forget(self.path)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return int(self.shape[0])

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the first axis, as over an h5py dataset (hdmf's DataIO iterates its data),
        reading a block of rows at a time."""
        yield from _blockwise(self, self.shape[0] if self.shape else 0, _block_rows(self))

    def append(self, data: Any, axis: int = 0) -> None:  # type: ignore[override]
        """Buffer rows (hdmf's append_data calls ``append([row], axis=0)``); the next write() stores them."""
        if self._site is None:
            raise TypeError("this array is not a dataset of an open file; nothing can be appended")
        if axis != 0:
            raise ValueError(
                f"Rows are appended along the first axis of {self._site.where}, not axis {axis}."
            )
        rows = np.asarray(data)
        if rows.ndim == 0 or rows.shape[1:] != tuple(self.shape[1:]):
            raise ValueError(
                f"Cannot append rows of shape {rows.shape[1:]} to {self._site.where}, whose rows have "
                f"shape {tuple(self.shape[1:])}."
            )
        self._site.accept(self, self)
        self._pending = (*self._pending, rows)

    def extend(self, values: Any) -> None:
        """Buffer several rows at once (hdmf's ``extend_data``, via the hook installed below)."""
        rows = np.asarray(values)
        if rows.ndim == 0:
            raise TypeError(f"extend() takes a sequence of rows, not {values!r}")
        if len(rows):
            self.append(rows, axis=0)

    def stored_array(self) -> zarr.Array:
        return self

    def astype(self, dtype: Any) -> CastArray:
        """A lazy view whose elements are cast to *dtype* (hdmf's ObjectMapper casts stored arrays)."""
        return CastArray(self, np.dtype(dtype))

    def pending_written(self) -> None:
        self._pending = ()
        if self._cache is not None:
            self._cache.forget(self.path)

    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        try:
            return np.concatenate([p.astype(self.dtype, casting="same_kind") for p in self._pending])
        except TypeError as exc:
            where = self._site.where if self._site is not None else "this array"
            raise TypeError(f"Cannot append to {where} ({self.dtype}): {exc}") from exc


class CastArray(ArrayView):
    """A numeric array read as another dtype, element selections cast as they are read (read-only)."""

    def __init__(self, raw: Any, dtype: np.dtype[Any]) -> None:
        super().__init__(raw)
        self._dtype = dtype

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    def astype(self, dtype: Any) -> CastArray:
        return CastArray(self._raw, np.dtype(dtype))

    def _read(self, key: Any) -> Any:
        out = np.asarray(self._raw[key]).astype(self._dtype)
        return out[()] if out.ndim == 0 else out

    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        raise TypeError(f"{self!r} is a cast view of a stored array; append to the array itself.")


class TextArray(ArrayView):
    """Text dataset whose elements come back as Python ``str`` (as HDF5IO returns them)."""

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(object)

    def _read(self, key: Any) -> Any:
        return _to_text(self._raw[key])

    def append(self, arg: Any) -> None:
        if not isinstance(arg, (str, bytes)):
            raise TypeError(f"Cannot append {arg!r} to {self._where}: it holds text; append a str.")
        super().append(arg.decode("utf-8") if isinstance(arg, bytes) else arg)

    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        return text_rows(self._pending, self.stored_array().dtype, self._where)


class _ReferenceArray(ArrayView):
    """Dataset of object references; an element is resolved only when it is indexed."""

    def __init__(self, raw: Any, resolve_builder: Resolve, resolve_container: Resolve) -> None:
        super().__init__(raw)
        self._resolve_builder = resolve_builder
        self._resolve_container = resolve_container

    @property
    def dtype(self) -> str:
        return "object"

    @abstractmethod
    def _resolve(self, path: str) -> Any:
        """A stored target path as a Builder or a Container (the two concrete classes below)."""

    def __getitem__(self, key: Any) -> Any:
        out = super().__getitem__(key)
        return list(out.reshape(-1)) if self._pending and isinstance(out, np.ndarray) else out

    def _read(self, key: Any) -> Any:
        raw = _to_text(self._raw[key])
        if isinstance(raw, np.ndarray):
            return [self._resolve(p) for p in raw.reshape(-1)]
        return self._resolve(raw)

    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        return np.array([path_of(target) for target in self._pending], dtype=self.stored_array().dtype)

    def invert(self) -> _ReferenceArray:
        cls = self.get_inverse_class()
        out = cls(self._raw, self._resolve_builder, self._resolve_container)
        out.attach(self._site)
        return out


class BuilderReferenceArray(_ReferenceArray, BuilderResolver):
    """References resolved to Builders (what ``read_builder`` returns)."""

    def _resolve(self, path: str) -> Any:
        return self._resolve_builder(path)

    @classmethod
    def get_inverse_class(cls) -> type[_ReferenceArray]:
        return ContainerReferenceArray


class ContainerReferenceArray(_ReferenceArray, ContainerResolver):
    """References resolved to Containers (what the constructed containers hold)."""

    def _resolve(self, path: str) -> Any:
        return self._resolve_container(path)

    @classmethod
    def get_inverse_class(cls) -> type[_ReferenceArray]:
        return BuilderReferenceArray


class _CompoundArray(ArrayView):
    """Compound (table) dataset: text fields as str, reference fields resolved per indexed row."""

    def __init__(
        self, raw: Any, fields: list[dict[str, str]], resolve_builder: Resolve, resolve_container: Resolve
    ) -> None:
        super().__init__(raw)
        self._fields = fields
        self._resolve_builder = resolve_builder
        self._resolve_container = resolve_container
        self._names = [f["name"] for f in fields]
        self._refs = {f["name"] for f in fields if f["dtype"] == "object"}
        self._out_dtype = np.dtype(
            [(f["name"], np.dtype(f["dtype"]) if _is_numeric(f["dtype"]) else object) for f in fields]
        )

    @property
    def dtype(self) -> list[str]:
        """Field type names, as hdmf's validator and HDF5 table datasets report them."""
        return [f["dtype"] for f in self._fields]

    @property
    def fields(self) -> list[dict[str, str]]:
        return self._fields

    @abstractmethod
    def _resolve(self, path: str) -> Any:
        """A stored target path as a Builder or a Container (the two concrete classes below)."""

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty(rows.shape, dtype=self._out_dtype)
        for name in self._names:
            column = rows[name]
            if name in self._refs:
                texts = _to_text(np.asarray(column))
                flat = np.asarray(texts, dtype=object).reshape(-1)
                resolved = np.empty(flat.shape, dtype=object)
                resolved[:] = [self._resolve(p) if p else None for p in flat]
                out[name] = resolved.reshape(rows.shape)
            elif self._out_dtype[name].kind == "O":
                out[name] = _to_text(np.asarray(column))
            else:
                out[name] = column
        return out

    def __getitem__(self, key: Any) -> Any:
        converted = super().__getitem__(key)
        return converted[()] if isinstance(converted, np.ndarray) and converted.ndim == 0 else converted

    def _read(self, key: Any) -> Any:
        return self._convert(np.asarray(self._raw[key]))

    def _combine(self, stored: Any, pending: list[Any]) -> np.ndarray:
        extra = np.empty(len(pending), dtype=self._out_dtype)
        for i, row in enumerate(pending):
            extra[i] = tuple(row)
        return np.concatenate([stored, extra])

    def encode_pending(self, path_of: PathOf) -> np.ndarray:
        return compound_rows(self._pending, self.stored_array().dtype, self._refs, path_of, self._where)

    def resolve(self, manager: Any) -> Any:
        return self[0 : len(self)]

    def invert(self) -> _CompoundArray:
        cls = self.get_inverse_class()
        out = cls(self._raw, self._fields, self._resolve_builder, self._resolve_container)
        out.attach(self._site)
        return out


def _block_rows(raw: Any) -> int:
    """Rows per read when iterating: the stored chunk length along the first axis (at least 1024)."""
    chunks = getattr(raw, "chunks", None)
    first = chunks[0] if isinstance(chunks, tuple) and chunks else 0
    return max(int(first), 1024)


def _blockwise(data: Any, length: int, rows: int) -> Iterator[Any]:
    for start in range(0, length, rows):
        yield from data[start : min(start + rows, length)]


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _is_numeric(token: str) -> bool:
    try:
        return np.dtype(token).kind in "biuf"
    except TypeError:
        return False


class BuilderCompoundArray(_CompoundArray, BuilderResolver):
    def _resolve(self, path: str) -> Any:
        return self._resolve_builder(path)

    @classmethod
    def get_inverse_class(cls) -> type[_CompoundArray]:
        return ContainerCompoundArray


class ContainerCompoundArray(_CompoundArray, ContainerResolver):
    def _resolve(self, path: str) -> Any:
        return self._resolve_container(path)

    @classmethod
    def get_inverse_class(cls) -> type[_CompoundArray]:
        return BuilderCompoundArray


# hdmf converts text data by dtype unless the data's type is registered as "no convert"; our text
# view already yields str, so hdmf infers 'utf8' from its object dtype (as it does for h5py datasets).
ObjectMapper.no_convert(TextArray)


# hdmf grows a container's data with ``hdmf.container.extend_data``, which knows lists, DataIO, numpy
# arrays and h5py datasets only (``append_data`` also knows HDMFDataset and zarr arrays). Ragged columns
# (a unit's spike times, an epoch's tags) are grown with it, so without this hook no row could be added
# to a stored table that has one. The hook handles our views alone and leaves every other type to hdmf.
def _install_extend_hook() -> None:
    import hdmf.container as hdmf_container

    original = hdmf_container.extend_data
    if getattr(original, "hdmf_zarr_hook", False):
        return

    def extend_data(data: Any, arg: Any) -> Any:
        if isinstance(data, (ArrayView, NumericArray)):
            data.extend(arg)
            return data
        return original(data, arg)

    extend_data.hdmf_zarr_hook = True  # type: ignore[attr-defined]
    extend_data.__doc__ = original.__doc__
    hdmf_container.extend_data = extend_data


_install_extend_hook()
