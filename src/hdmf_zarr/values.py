"""Pure value conversions: attribute values to and from JSON, text normalisation.

Layer: primitives. No store, no zarr I/O. Law:
``decode_attribute(encode_attribute(x)) == normalise_attribute(x)`` for every storable ``x``
(tested with Hypothesis in tests/properties).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hdmf_zarr.errors import UnsupportedValueError

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]


def encode_attribute(value: object, *, where: str = "") -> JSON:
    """Return *value* as JSON that :func:`decode_attribute` maps back to an equal value.

    numpy scalars become Python scalars, arrays/tuples/sets become lists, bytes become UTF-8 text and
    dates become ISO 8601 strings. Anything else raises :class:`UnsupportedValueError` naming *where*.
    """
    match value:
        case np.ndarray() if value.ndim > 0:
            return [encode_attribute(item, where=where) for item in value]
        case np.ndarray() | np.generic():
            return encode_attribute(value.item(), where=where)
        case bool() | int() | float() | str() | None:
            return value
        case bytes():
            return value.decode("utf-8")
        case dt.datetime() | dt.date():
            return value.isoformat()
        case list() | tuple():
            return [encode_attribute(item, where=where) for item in value]
        case set() | frozenset():
            return [encode_attribute(item, where=where) for item in sorted(value, key=repr)]
        case Mapping():
            return {str(k): encode_attribute(v, where=where) for k, v in value.items()}
    raise UnsupportedValueError(
        f"Cannot store a {type(value).__name__} as the Zarr attribute {where!r}: {value!r}. "
        "Attributes hold numbers, booleans, text, lists of those, or object references."
    )


def decode_attribute(value: JSON) -> Any:
    """Return the Python value of a stored attribute (lists stay lists; text stays str)."""
    return value


def normalise_attribute(value: object) -> Any:
    """Return what reading back *value* yields: the JSON form with floats compared NaN-aware."""
    return encode_attribute(value)


def json_equal(a: object, b: object) -> bool:
    """Compare two JSON values, treating NaN as equal to NaN (attribute round-trip checks)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def as_text(value: object) -> str:
    """Return *value* as text: bytes decoded as UTF-8, dates in ISO 8601, numbers and paths as str().

    Anything else (an arbitrary object) is refused rather than stored as its ``repr``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return as_text(value.item())
    if isinstance(value, bool | int | float | os.PathLike):
        return str(value)
    raise UnsupportedValueError(
        f"Cannot store a {type(value).__name__} as text: {value!r}. Text datasets hold str, bytes, dates, "
        "numbers or paths; convert the value first."
    )


def text_array(values: object) -> np.ndarray:
    """Return *values* (a sequence, possibly nested) as a numpy array of Python str (StringDType-free)."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 0:
        return np.asarray(as_text(arr.item()), dtype=object)
    flat = [as_text(v) for v in arr.reshape(-1)]
    return np.asarray(flat, dtype=object).reshape(arr.shape)
