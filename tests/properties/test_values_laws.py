"""values: decode(encode(x)) == normalise(x), NaN-aware; encoded values are JSON; unstorable values fail."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hdmf_zarr import values
from hdmf_zarr.errors import UnsupportedValueError

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary().filter(lambda b: _utf8(b)),
)
numpy_scalars = st.one_of(
    hnp.from_dtype(np.dtype("int8")),
    hnp.from_dtype(np.dtype("uint64")),
    hnp.from_dtype(np.dtype("float32"), allow_nan=True),
    hnp.from_dtype(np.dtype("float64"), allow_nan=True),
    hnp.from_dtype(np.dtype("bool")),
)
numpy_arrays = st.one_of(
    hnp.arrays(hnp.scalar_dtypes().filter(lambda d: d.kind in "biuf"), hnp.array_shapes(max_dims=3)),
    hnp.arrays(np.dtype("U5"), hnp.array_shapes(max_dims=2)),
)
attribute_values = st.recursive(
    st.one_of(scalars, numpy_scalars, numpy_arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner)),
    max_leaves=12,
)


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reference_normalise(value: Any) -> Any:
    """An independent statement of what reading an attribute back yields."""
    if isinstance(value, np.ndarray):
        return [_reference_normalise(v) for v in value] if value.ndim else _reference_normalise(value.item())
    if isinstance(value, np.generic):
        return _reference_normalise(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list | tuple):
        return [_reference_normalise(v) for v in value]
    return value


@given(attribute_values)
def test_decode_encode_is_normalise(value: Any) -> None:
    encoded = values.encode_attribute(value, where="/x@a")
    assert values.json_equal(values.decode_attribute(encoded), values.normalise_attribute(value))
    assert values.json_equal(encoded, _reference_normalise(value))


@given(attribute_values)
def test_encoded_values_survive_json(value: Any) -> None:
    encoded = values.encode_attribute(value)
    # zarr writes NaN/Infinity as bare tokens (allow_nan), as the peer does; they must survive a JSON trip
    assert values.json_equal(json.loads(json.dumps(encoded)), encoded)


@given(attribute_values)
def test_encode_is_idempotent(value: Any) -> None:
    once = values.encode_attribute(value)
    assert values.json_equal(values.encode_attribute(once), once)


@given(st.floats(allow_nan=True))
def test_json_equal_is_nan_aware_and_reflexive(x: float) -> None:
    assert values.json_equal(x, x)
    assert values.json_equal([x, {"k": x}], [x, {"k": x}])


def test_json_equal_distinguishes_types() -> None:
    assert not values.json_equal(1, 1.0)
    assert not values.json_equal(True, 1)
    assert not values.json_equal([1], [1, 2])
    assert not values.json_equal(math.nan, 0.0)


@pytest.mark.parametrize("bad", [object(), {1, object()}, [object()], np.array([object()], dtype=object)])
def test_unstorable_values_raise_naming_where(bad: object) -> None:
    with pytest.raises(UnsupportedValueError, match=r"/group@attr"):
        values.encode_attribute(bad, where="/group@attr")


@given(st.lists(st.one_of(st.text(), st.binary().filter(_utf8)), max_size=5))
def test_text_array_yields_python_str(items: list[str | bytes]) -> None:
    arr = values.text_array(items)
    assert arr.dtype == object
    assert all(type(v) is str for v in arr.reshape(-1))
    assert list(arr) == [v.decode("utf-8") if isinstance(v, bytes) else v for v in items]
