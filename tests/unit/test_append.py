"""Appended rows (read/append.py and the views of read/lazy.py) on real zarr arrays on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from hdmf_zarr.errors import ModeError
from hdmf_zarr.read.append import AppendSite, PendingAppends, compound_rows, text_rows
from hdmf_zarr.read.lazy import ContainerCompoundArray, NumericArray, TextArray


def _numeric(tmp_path: Path, values: list[float]) -> NumericArray:
    arr = zarr.create_array(str(tmp_path / "n.zarr"), shape=(len(values),), dtype="f8", chunks=(2,))
    arr[:] = values
    return NumericArray(arr._async_array)


def test_numeric_rows_wait_to_be_stored_and_read_at_once(tmp_path: Path) -> None:
    log = PendingAppends()
    arr = _numeric(tmp_path, [1.0, 2.0, 3.0])
    arr.attach(AppendSite("the dataset '/n'", log))
    arr.append([4.0], axis=0)
    arr.extend([5.0, 6.0])
    assert arr.shape == (6,)
    assert list(arr[:]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert arr[4] == 5.0
    assert zarr.open_array(str(tmp_path / "n.zarr")).shape == (3,)  # nothing stored yet
    changed = log.store(log.encode(lambda target: "/unused"))
    assert len(changed) == 1
    stored = zarr.open_array(str(tmp_path / "n.zarr"))
    assert list(stored[:]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert arr.shape == (6,)
    assert len(log) == 0


def test_a_read_only_view_refuses_rows(tmp_path: Path) -> None:
    arr = _numeric(tmp_path, [1.0])
    arr.attach(AppendSite("the dataset '/n' of 'f.zarr'", None))
    with pytest.raises(ModeError, match=r"'/n' of 'f.zarr': the file was opened read-only"):
        arr.append([2.0], axis=0)
    writable = _numeric(tmp_path / "w", [1.0])
    writable.attach(AppendSite("'/w'", PendingAppends()))
    with pytest.raises(ValueError, match=r"rows of shape \(2,\) to '/w'"):
        writable.append(np.ones((1, 2)), axis=0)


def test_text_rows_are_stored_as_text(tmp_path: Path) -> None:
    raw = zarr.create_array(str(tmp_path / "t.zarr"), shape=(1,), dtype=str, chunks=(4,))
    raw[:] = ["a"]
    log = PendingAppends()
    view = TextArray(NumericArray(raw._async_array))
    view.attach(AppendSite("'/t'", log))
    view.append("b")
    view.extend([b"c", "d"])
    assert list(view[:]) == ["a", "b", "c", "d"]
    with pytest.raises(TypeError, match="it holds text"):
        view.append(5)
    log.store(log.encode(lambda target: "/unused"))
    assert list(zarr.open_array(str(tmp_path / "t.zarr"))[:]) == ["a", "b", "c", "d"]


def test_compound_rows_store_references_as_paths(tmp_path: Path) -> None:
    dtype = np.dtype([("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "<U16")])
    raw = zarr.create_array(str(tmp_path / "c.zarr"), shape=(1,), dtype=dtype, chunks=(4,))
    raw[:] = np.array([(0, 5, "/acquisition/a")], dtype=dtype)
    targets = {"/acquisition/a": "A", "/acquisition/b": "B"}
    fields = [
        {"name": "idx_start", "dtype": "int32"},
        {"name": "count", "dtype": "int32"},
        {"name": "timeseries", "dtype": "object"},
    ]
    log = PendingAppends()
    view = ContainerCompoundArray(NumericArray(raw._async_array), fields, targets.get, targets.get)
    view.attach(AppendSite("'/c'", log))
    view.append((5, 3, "B"))
    rows = view[:]
    assert [tuple(r) for r in rows] == [(0, 5, "A"), (5, 3, "B")]
    log.store(log.encode({"A": "/acquisition/a", "B": "/acquisition/b"}.__getitem__))
    stored = zarr.open_array(str(tmp_path / "c.zarr"))[:]
    assert stored["timeseries"].tolist() == ["/acquisition/a", "/acquisition/b"]


def test_encoding_checks_what_the_stored_array_can_hold() -> None:
    dtype = np.dtype([("n", "<i4"), ("ref", "<U4")])
    with pytest.raises(ValueError, match="holds at most 4"):
        compound_rows([(1, "x")], dtype, {"ref"}, lambda t: "/too/long", "'/c'")
    with pytest.raises(ValueError, match="a row has the fields"):
        compound_rows([(1,)], dtype, {"ref"}, str, "'/c'")
    assert text_rows([b"\xc2\xb5V", "a"], np.dtype(object), "'/t'").tolist() == ["µV", "a"]
    with pytest.raises(TypeError, match="append a str"):
        text_rows([3], np.dtype(object), "'/t'")
