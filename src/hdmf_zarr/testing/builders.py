"""Builder trees that cover the HDMF data model, and a comparison of written and read-back builders.

Layer: testing (top). ``assert_builders_equal`` compares what was written with what was read: values
(NaN equal to NaN, text as ``str``, dates as ISO 8601), numeric dtypes, attributes, links and references
(by the in-store path of their target).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from hdmf.build import Builder, DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from hdmf.data_utils import DataIO

from hdmf_zarr import paths

# -- builder construction ---------------------------------------------------------------------------


def group(parent: GroupBuilder, name: str, **kwargs: Any) -> GroupBuilder:
    """Add and return a sub-group of *parent*."""
    child = GroupBuilder(name, **kwargs)
    parent.set_group(child)
    return child


def dataset(parent: GroupBuilder, name: str, data: Any, **kwargs: Any) -> DatasetBuilder:
    """Add and return a dataset of *parent*."""
    child = DatasetBuilder(name, data, **kwargs)
    parent.set_dataset(child)
    return child


def link(parent: GroupBuilder, name: str, target: Builder) -> LinkBuilder:
    """Add and return a (soft) link named *name* in *parent* to *target*."""
    child = LinkBuilder(target, name)
    parent.set_link(child)
    return child


NUMERIC_DTYPES: Final = (
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "bool",
)

UTC = dt.UTC


def numeric_tree() -> GroupBuilder:
    """Every numeric dtype as scalar, 1-D, N-D and empty datasets."""
    root = GroupBuilder("root")
    for dtype in NUMERIC_DTYPES:
        g = group(root, dtype)
        values = np.arange(24) % 2 if dtype == "bool" else np.arange(24)
        arr = values.astype(dtype)
        dataset(g, "scalar", arr[3], dtype=dtype)
        dataset(g, "vector", arr, dtype=dtype)
        dataset(g, "matrix", arr.reshape(4, 6), dtype=dtype)
        dataset(g, "cube", arr.reshape(2, 3, 4), dtype=dtype)
        dataset(g, "empty", np.zeros((0,), dtype=dtype), dtype=dtype)
        dataset(g, "empty2d", np.zeros((0, 3), dtype=dtype), dtype=dtype)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-300])
    dataset(root, "special_floats", special)
    dataset(root, "extremes_int64", np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max]))
    dataset(root, "extremes_uint64", np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64))
    return root


def text_tree() -> GroupBuilder:
    """Text (utf8), ascii/bytes and isodatetime datasets of every shape."""
    root = GroupBuilder("root")
    dataset(root, "text_scalar", "héllo wörld ✓", dtype="text")
    dataset(root, "text_vector", ["a", "", "ccc", "日本語"], dtype="text")
    dataset(root, "text_matrix", [["a", "b"], ["c", "d"]], dtype="utf8")
    dataset(root, "text_empty", [], dtype="text")
    dataset(root, "text_numpy", np.array(["x", "yy"]), dtype="text")
    dataset(root, "ascii_scalar", b"bytes", dtype="ascii")
    dataset(root, "ascii_vector", [b"a", b"bb"], dtype="ascii")
    dataset(root, "bytes_vector", [b"c", b"dd"], dtype="bytes")
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    dataset(root, "date_scalar", when, dtype="isodatetime")
    dataset(root, "date_vector", [when, when + dt.timedelta(days=1)], dtype="isodatetime")
    dataset(root, "inferred_text", ["no", "dtype"])
    return root


def attribute_tree() -> GroupBuilder:
    """Attributes of every storable kind on groups and datasets."""
    attrs: dict[str, Any] = {
        "int": 3,
        "negative": -7,
        "float": 2.5,
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": float("-inf"),
        "bool": True,
        "text": "unicode ✓",
        "empty_text": "",
        "bytes": b"raw",
        "np_int": np.int16(5),
        "np_uint": np.uint64(2**63),
        "np_float": np.float32(0.5),
        "np_bool": np.bool_(False),
        "np_str": np.str_("numpy text"),
        "list_int": [1, 2, 3],
        "list_float": [0.5, float("nan")],
        "list_text": ["a", "b"],
        "empty_list": [],
        "tuple": (1, 2),
        "array_1d": np.arange(4, dtype=np.int32),
        "array_2d": np.arange(6, dtype=np.float64).reshape(2, 3),
        "array_text": np.array(["x", "y"]),
        "array_bool": np.array([True, False]),
        "date": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    root = GroupBuilder("root", attributes=dict(attrs))
    g = group(root, "group", attributes=dict(attrs))
    dataset(g, "data", np.arange(3), attributes=dict(attrs))
    dataset(g, "scalar", 1.0, attributes=dict(attrs))
    return root


def reference_tree() -> GroupBuilder:
    """References in attributes, datasets (1-D and scalar) and compound fields; soft links."""
    root = GroupBuilder("root")
    target_group = group(root, "targets", attributes={"kind": "group target"})
    target_data = dataset(target_group, "values", np.arange(5.0))
    nested = group(target_group, "nested")
    root.set_attribute("ref_to_group", ReferenceBuilder(target_group))
    root.set_attribute("ref_to_data", ReferenceBuilder(target_data))
    holder = group(root, "holder", attributes={"ref": ReferenceBuilder(nested)})
    dataset(holder, "refs", [ReferenceBuilder(target_group), ReferenceBuilder(target_data)], dtype="object")
    dataset(holder, "ref_scalar", ReferenceBuilder(nested), dtype="object")
    dataset(
        holder,
        "compound",
        [(0, 2.5, "first", ReferenceBuilder(target_data)), (1, -1.0, "zweite ✓", ReferenceBuilder(nested))],
        dtype=[
            {"name": "idx", "dtype": "int32"},
            {"name": "value", "dtype": "float64"},
            {"name": "label", "dtype": "text"},
            {"name": "target", "dtype": "object"},
        ],
    )
    dataset(
        holder,
        "compound_plain",
        [(1, 0.5), (2, 1.5), (3, 2.5)],
        dtype=[{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "float32"}],
    )
    dataset(
        holder,
        "compound_text",
        [("x" * 600, 1), ("short", 2)],
        dtype=[{"name": "long", "dtype": "text"}, {"name": "n", "dtype": "uint8"}],
    )
    link(holder, "link_to_group", target_group)
    link(holder, "link_to_data", target_data)
    link(root, "link_to_nested", nested)
    return root


def dimension_tree() -> GroupBuilder:
    """Datasets carrying dimension labels."""
    root = GroupBuilder("root")
    dataset(root, "matrix", np.zeros((2, 3)), dimension_labels=("time", "channel"))
    dataset(root, "vector", np.arange(4), dimension_labels=("time",))
    return root


#: Builder trees that together cover the HDMF data model.
SAMPLE_TREES: Final[dict[str, Callable[[], GroupBuilder]]] = {
    "numeric": numeric_tree,
    "text": text_tree,
    "attributes": attribute_tree,
    "references": reference_tree,
    "dimensions": dimension_tree,
}

# -- comparison -------------------------------------------------------------------------------------


class _NaN:
    """Stands for every NaN after :func:`normalise`, so that NaN compares equal to NaN."""

    def __repr__(self) -> str:
        return "nan"


NAN: Final = _NaN()


def _target_path(value: Builder) -> str:
    target = value.builder if isinstance(value, ReferenceBuilder | LinkBuilder) else value
    return paths.builder_path(target)


def _read_all(value: Any) -> Any:
    shape = getattr(value, "shape", None)
    if shape is None or isinstance(value, np.ndarray | np.generic):
        return value
    return value[()] if tuple(shape) == () else value[...]


def _normalise_numpy(value: np.ndarray | np.generic) -> Any:
    if isinstance(value, np.void):
        names = value.dtype.names
        return tuple(normalise(value[n]) for n in names) if names else tuple(map(normalise, value.tolist()))
    if isinstance(value, np.generic):
        return normalise(value.item())
    if value.ndim == 0:
        return normalise(value[()])
    return [normalise(v) for v in value]


def normalise(value: Any) -> Any:
    """Return *value* as plain, comparable Python: nested lists, tuples for compound rows, str for text."""
    if isinstance(value, DataIO):
        return normalise(value.data)
    if isinstance(value, ReferenceBuilder | Builder):
        return ("reference", _target_path(value))
    value = _read_all(value)
    if isinstance(value, np.ndarray | np.generic):
        return _normalise_numpy(value)
    match value:
        case bytes():
            return value.decode("utf-8")
        case dt.datetime() | dt.date():
            return value.isoformat()
        case tuple():
            return tuple(normalise(v) for v in value)
        case list():
            return [normalise(v) for v in value]
        case float() if math.isnan(value):
            return NAN
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_values_equal(expected: Any, actual: Any, *, where: str) -> None:
    """Assert that a read-back value equals the written one (see :func:`normalise`)."""
    e, a = normalise(expected), normalise(actual)
    assert _equal(e, a), f"{where}: wrote {e!r}, read back {a!r}"


def _numeric_dtype(value: Any) -> np.dtype[Any] | None:
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf" and dtype.names is None:
        return dtype
    return None


def _assert_attributes(expected: Builder, actual: Builder, where: str) -> None:
    wanted = {k: v for k, v in expected.attributes.items() if v is not None}
    assert set(wanted) == set(actual.attributes), (
        f"{where}: attributes {sorted(wanted)} written, {sorted(actual.attributes)} read"
    )
    for key, value in wanted.items():
        assert_values_equal(value, actual.attributes[key], where=f"{where}@{key}")


def assert_dataset_builders_equal(expected: DatasetBuilder, actual: DatasetBuilder, *, where: str) -> None:
    """Assert two dataset builders hold equal data, numeric dtype and attributes."""
    _assert_attributes(expected, actual, where)
    data = expected.data.data if isinstance(expected.data, DataIO) else expected.data
    assert_values_equal(data, actual.data, where=where)
    wanted = _numeric_dtype(data)
    if wanted is not None and isinstance(expected.dtype, str | np.dtype | type(None)):
        got = _numeric_dtype(actual.data) or np.asarray(actual.data).dtype
        assert got == wanted, f"{where}: wrote dtype {wanted}, read back {got}"


def assert_builders_equal(expected: GroupBuilder, actual: GroupBuilder, *, where: str = "/") -> None:
    """Assert that *actual* (read back) holds what *expected* (written) holds, recursively."""
    _assert_attributes(expected, actual, where)
    for kind in ("groups", "datasets", "links"):
        e, a = getattr(expected, kind), getattr(actual, kind)
        assert set(e) == set(a), f"{where}: {kind} {sorted(e)} written, {sorted(a)} read"
    for name, sub in expected.groups.items():
        assert_builders_equal(sub, actual.groups[name], where=paths.join(where, name))
    for name, dset in expected.datasets.items():
        assert_dataset_builders_equal(dset, actual.datasets[name], where=paths.join(where, name))
    for name, lnk in expected.links.items():
        assert _target_path(lnk) == _target_path(actual.links[name]), (
            f"{paths.join(where, name)}: link to {_target_path(lnk)!r} written, "
            f"{_target_path(actual.links[name])!r} read"
        )
