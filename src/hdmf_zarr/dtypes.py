"""HDMF dtype specs to storage dtypes and back: numeric, bool, text, references, compounds.

Layer: primitives. Pure: maps spec tokens (``"float32"``, ``"text"``, ``RefSpec`` ...), numpy dtypes
and sample data to a :class:`Storage` record that the writer and reader share.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from hdmf.build import Builder, ReferenceBuilder
from hdmf.spec import DtypeSpec, RefSpec

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import UnsupportedValueError


class Kind(enum.Enum):
    """How a dataset's elements are stored."""

    NUMERIC = "numeric"  # fixed-size numbers and bool
    TEXT = "text"  # variable-length UTF-8 strings
    REFERENCE = "reference"  # object references, stored as target paths
    COMPOUND = "compound"  # rows of named fields (zarr ``struct``)


#: Spec dtype tokens (docs/format.md#spec-dtypes) to numpy dtypes.
NUMERIC_TOKENS: Final[Mapping[str, str]] = {
    "float": "float32",
    "float32": "float32",
    "double": "float64",
    "float64": "float64",
    "long": "int64",
    "int64": "int64",
    "int": "int32",
    "int32": "int32",
    "short": "int16",
    "int16": "int16",
    "int8": "int8",
    "uint": "uint32",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "bool": "bool",
    "numeric": "float64",
}
TEXT_TOKENS: Final = frozenset(
    {"text", "utf", "utf8", "utf-8", "str", "ascii", "bytes", "isodatetime", "datetime"}
)
REFERENCE_TOKENS: Final = frozenset({"object", "region", "reference"}) | fmt.REFERENCE_DTYPE_TOKENS


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a compound dtype."""

    name: str
    storage: Storage


@dataclass(frozen=True, slots=True)
class Storage:
    """The storage form of a dataset's elements."""

    kind: Kind
    numpy: np.dtype[Any] | None = None  # NUMERIC only
    fields: tuple[Field, ...] = ()  # COMPOUND only
    ascii: bool = False  # TEXT written from an ascii/bytes spec (v2 stores it as vlen-bytes)

    @property
    def token(self) -> str:
        """The value of the ``_DTYPE`` attribute (docs/format.md#dtype-tokens)."""
        match self.kind:
            case Kind.NUMERIC:
                assert self.numpy is not None
                return str(self.numpy)
            case Kind.TEXT:
                return fmt.DTYPE_BYTES if self.ascii else fmt.DTYPE_STR
            case Kind.REFERENCE:
                return fmt.DTYPE_OBJECT_REFERENCE
        return "compound"

    @property
    def reference_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.storage.kind is Kind.REFERENCE)


TEXT: Final = Storage(Kind.TEXT)
ASCII: Final = Storage(Kind.TEXT, ascii=True)
REFERENCE: Final = Storage(Kind.REFERENCE)


def numeric(dtype: object) -> Storage:
    resolved = np.dtype(dtype)  # type: ignore[call-overload]
    if resolved.metadata is None and resolved.fields is None:
        return _plain_numeric(resolved)  # one record per dtype: files with many arrays share them
    return Storage(Kind.NUMERIC, numpy=resolved)


@functools.lru_cache(maxsize=64)
def _plain_numeric(dtype: np.dtype[Any]) -> Storage:
    return Storage(Kind.NUMERIC, numpy=dtype)


def from_spec(dtype: object) -> Storage | None:
    """Return the storage for a builder's declared dtype, or None when it does not declare one."""
    match dtype:
        case None:
            return None
        case RefSpec():
            return REFERENCE
        case str() if _from_token(dtype) is not None:
            return _from_token(dtype)
        case list() | tuple():
            return Storage(Kind.COMPOUND, fields=tuple(_field(f) for f in dtype))
        case np.dtype() if dtype.fields is not None:
            return Storage(Kind.COMPOUND, fields=tuple(_numpy_field(dtype, n) for n in dtype.names or ()))
        case type() if issubclass(dtype, str):
            return TEXT
        case type() if issubclass(dtype, bytes):
            return ASCII
        case np.dtype() | type() | str():
            return _from_numpy(_numpy_or_raise(dtype))
    raise UnsupportedValueError(
        f"Unknown dtype {dtype!r}: expected a spec dtype name, a numpy dtype or a list."
    )


def _numpy_or_raise(dtype: Any) -> np.dtype[Any]:
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise UnsupportedValueError(
            f"Unknown dtype {dtype!r}: expected a spec dtype name (e.g. 'int32', 'text', 'isodatetime'), "
            "a numpy dtype or a list of compound fields."
        ) from exc


def _from_token(token: str) -> Storage | None:
    if token in NUMERIC_TOKENS:
        return numeric(NUMERIC_TOKENS[token])
    if token in ("ascii", "bytes"):
        return ASCII
    if token in TEXT_TOKENS:
        return TEXT
    if token in REFERENCE_TOKENS:
        return REFERENCE
    return None


def _from_numpy(dtype: np.dtype[Any]) -> Storage:
    if dtype.kind in "US" or isinstance(dtype, np.dtypes.StringDType):
        return ASCII if dtype.kind == "S" else TEXT
    if dtype.kind == "O":
        return TEXT
    if dtype.kind in "biuf":
        return numeric(dtype)
    if dtype.kind == "M":
        return TEXT
    raise UnsupportedValueError(f"Cannot store numpy dtype {dtype!r}: use numbers, bool or text.")


def _field(spec: object) -> Field:
    if isinstance(spec, DtypeSpec):
        name, dtype = spec.name, spec.dtype
    elif isinstance(spec, Mapping) and "name" in spec and "dtype" in spec:
        name, dtype = spec["name"], spec["dtype"]
    else:
        raise UnsupportedValueError(
            f"Compound field {spec!r} is neither a DtypeSpec nor a {{name, dtype}} dict."
        )
    storage = from_spec(dtype)
    if storage is None or storage.kind is Kind.COMPOUND:
        raise UnsupportedValueError(f"Compound field {name!r} has unsupported dtype {dtype!r}.")
    return Field(name, storage)


def _numpy_field(dtype: np.dtype[Any], name: str) -> Field:
    sub = dtype.fields[name][0] if dtype.fields else dtype
    return Field(name, _from_numpy(sub))


def infer(data: object) -> Storage:
    """Return the storage for data whose builder declares no dtype, from its values."""
    if isinstance(data, ReferenceBuilder | Builder):
        return REFERENCE
    dtype = getattr(data, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        return from_spec(dtype) or TEXT
    sample = first_element(data)
    match sample:
        case ReferenceBuilder() | Builder():
            return REFERENCE
        case bytes():
            return ASCII
        case str() | dt.datetime() | dt.date():
            return TEXT
        case bool() | np.bool_():
            return numeric("bool")
        case tuple() | np.void():
            raise UnsupportedValueError("Compound data needs a declared dtype (a list of fields).")
        case None:
            return numeric("float64")
    return numeric(np.asarray(sample).dtype)


def first_element(data: object) -> object:
    """Return the first scalar element of (possibly nested) *data*, or None when it is empty."""
    item = data
    while isinstance(item, Sequence | np.ndarray) and not isinstance(item, str | bytes | tuple):
        if len(item) == 0:
            return None
        item = item[0]
    if isinstance(item, np.ndarray) and item.ndim == 0:
        return item.item()
    return item


def compound_numpy(storage: Storage, *, text_chars: int = fmt.COMPOUND_STRING_MIN_CHARS) -> np.dtype[Any]:
    """Return the numpy structured dtype that stores a compound (text and references as ``U<n>``)."""
    parts: list[tuple[str, Any]] = []
    for f in storage.fields:
        if f.storage.kind is Kind.NUMERIC:
            parts.append((f.name, f.storage.numpy))
        else:
            parts.append((f.name, f"U{text_chars}"))
    return np.dtype(parts)


def field_specs(storage: Storage) -> list[dict[str, str]]:
    """Return the builder-facing compound dtype: ``[{"name", "dtype"}]`` with spec tokens."""
    out = []
    for f in storage.fields:
        match f.storage.kind:
            case Kind.NUMERIC:
                assert f.storage.numpy is not None
                token = str(f.storage.numpy)
            case Kind.REFERENCE:
                token = "object"
            case _:
                token = "ascii" if f.storage.ascii else "utf8"
        out.append({"name": f.name, "dtype": token})
    return out


def storage_from_token(token: object, numpy_dtype: np.dtype[Any] | None) -> Storage | None:
    """Return the storage named by a stored ``_DTYPE``/``zarr_dtype`` token, or None if it names none."""
    if isinstance(token, str):
        if token in fmt.REFERENCE_DTYPE_TOKENS:
            return REFERENCE
        if token in (fmt.DTYPE_STR, "utf8", "text"):
            return TEXT
        if token in (fmt.DTYPE_BYTES, "ascii"):
            return ASCII
    return None if numpy_dtype is None else _from_numpy(numpy_dtype)


def names_of(fields: Iterable[Field]) -> list[str]:
    return [f.name for f in fields]
