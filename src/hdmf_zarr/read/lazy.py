"""Lazy dataset views: text as Python str, references resolved only for the indexed elements.

Layer: read. Each view wraps an array-like (a zarr array or a legacy object array) by composition;
nothing here reads until indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import zarr
from hdmf.build import ObjectMapper
from hdmf.query import BuilderResolver, ContainerResolver, HDMFDataset

Resolve = Callable[[str], Any]


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

    @property
    def dataset(self) -> Any:
        return self._raw

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._raw.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

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

    def __getitem__(self, selection: Any) -> Any:
        out = super().__getitem__(selection)
        return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return int(self.shape[0])

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the first axis, as over an h5py dataset (hdmf's DataIO iterates its data)."""
        for i in range(self.shape[0] if self.shape else 0):
            yield self[i]


class TextArray(ArrayView):
    """Text dataset whose elements come back as Python ``str`` (as HDF5IO returns them)."""

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(object)

    def __getitem__(self, key: Any) -> Any:
        return _to_text(self._raw[key])


class _ReferenceArray(ArrayView):
    """Dataset of object references; an element is resolved only when it is indexed."""

    def __init__(self, raw: Any, resolve_builder: Resolve, resolve_container: Resolve) -> None:
        super().__init__(raw)
        self._resolve_builder = resolve_builder
        self._resolve_container = resolve_container

    @property
    def dtype(self) -> str:
        return "object"

    def _resolve(self, path: str) -> Any:
        raise NotImplementedError  # defined by the two concrete classes below

    def __getitem__(self, key: Any) -> Any:
        raw = _to_text(self._raw[key])
        if isinstance(raw, np.ndarray):
            return [self._resolve(p) for p in raw.reshape(-1)]
        return self._resolve(raw)

    def invert(self) -> _ReferenceArray:
        cls = self.get_inverse_class()
        return cls(self._raw, self._resolve_builder, self._resolve_container)


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

    def _resolve(self, path: str) -> Any:
        raise NotImplementedError  # defined by the two concrete classes below

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
        rows = np.asarray(self._raw[key])
        converted = self._convert(rows)
        return converted[()] if converted.ndim == 0 else converted

    def resolve(self, manager: Any) -> Any:
        return self[0 : len(self)]

    def invert(self) -> _CompoundArray:
        cls = self.get_inverse_class()
        return cls(self._raw, self._fields, self._resolve_builder, self._resolve_container)


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
