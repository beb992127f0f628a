"""Reading a legacy file never runs code from it: planted pickles are refused, naming the dataset."""

from __future__ import annotations

import base64
import json
import os
import pickle
from pathlib import Path

import numcodecs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.errors import UnsafePickleError
from hdmf_zarr.legacy import LegacyReference, safe_loads
from hdmf_zarr.legacy.unpickle import RestrictedUnpickler


class _Payload:
    """Unpickling this calls open(..., 'w'): it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _planted_object_array(marker: Path) -> bytes:
    arr = np.empty(2, dtype=object)
    arr[0] = _Payload(marker)
    arr[1] = {"source": ".", "path": "/x"}
    return pickle.dumps(arr, protocol=5)


def test_planted_payload_in_a_chunk_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(UnsafePickleError, match=r"/general/electrodes/group.*builtins\.open|io\.open"):
        safe_loads(_planted_object_array(marker), where="/general/electrodes/group")
    assert not marker.exists()


def test_the_payload_is_real(tmp_path: Path) -> None:
    # Guard against a test that cannot fail: the general unpickler does create the file.
    marker = tmp_path / "real"
    pickle.loads(_planted_object_array(marker))
    assert marker.exists()


def test_legacy_reference_dicts_map_to_our_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pickles of the peer's ZarrReference (a dict subclass in hdmf_zarr.utils) decode to our type."""
    import sys
    import types

    peer_utils = types.ModuleType("hdmf_zarr.utils")

    class ZarrReference(dict):  # type: ignore[type-arg]  # stands in for the peer's class
        pass

    ZarrReference.__module__ = "hdmf_zarr.utils"
    ZarrReference.__qualname__ = "ZarrReference"
    peer_utils.ZarrReference = ZarrReference  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hdmf_zarr.utils", peer_utils)
    refs = np.empty(1, dtype=object)
    refs[0] = ZarrReference(source=".", path="/a", object_id=None, source_object_id="x")
    data = pickle.dumps(refs, protocol=5)
    monkeypatch.delitem(sys.modules, "hdmf_zarr.utils")
    value = safe_loads(data, where="/d")[0]
    assert isinstance(value, LegacyReference)
    assert value == {"source": ".", "path": "/a", "object_id": None, "source_object_id": "x"}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_plain_values_round_trip(value: object) -> None:
    assert safe_loads(pickle.dumps(value, protocol=5), where="/p") == value


def test_numpy_object_and_structured_arrays_round_trip() -> None:
    refs = np.empty(2, dtype=object)
    refs[:] = [{"source": ".", "path": "/a"}, None]
    back = safe_loads(pickle.dumps(refs, protocol=5), where="/r")
    assert list(back) == list(refs)
    rows = np.array([(1, 2, {"path": "/t"})], dtype=[("a", "<i4"), ("b", "<i4"), ("t", "O")])
    back = safe_loads(pickle.dumps(rows, protocol=5), where="/c")
    assert back.dtype == rows.dtype
    assert back[0]["t"] == {"path": "/t"}


@pytest.mark.parametrize("where", ["reference dataset", "compound chunk", "fill value"])
def test_planted_payload_in_a_v2_store_is_never_run(tmp_path: Path, where: str) -> None:
    """A v2 store whose reference chunk, compound chunk or base64 fill value carries a payload."""
    import zarr

    from hdmf_zarr import ZarrIO
    from hdmf_zarr.errors import HdmfZarrError

    marker = tmp_path / "pwned"
    store = tmp_path / "evil.zarr"
    (store / "d").mkdir(parents=True)
    blosc = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1)
    dtype: object = "|O"
    fill: object = 0
    chunk = _planted_object_array(marker)
    attrs = {"zarr_dtype": "object"}
    if where in ("compound chunk", "fill value"):  # zarr 2 base64-pickles fills of structured dtypes only
        dtype = [["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]]
        rows = np.empty(2, dtype=[("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "O")])
        rows["timeseries"][0] = _Payload(marker)
        chunk = pickle.dumps(rows, protocol=5)
        attrs = {
            "zarr_dtype": [
                {"name": "idx_start", "dtype": "int32"},
                {"name": "count", "dtype": "int32"},
                {"name": "timeseries", "dtype": "object"},
            ]
        }
    if where == "fill value":
        fill = base64.b64encode(pickle.dumps(_Payload(marker), protocol=5)).decode()
    else:
        (store / "d" / "0").write_bytes(blosc.encode(chunk))
    zarray = {
        "chunks": [2],
        "compressor": blosc.get_config(),
        "dtype": dtype,
        "fill_value": fill,
        "filters": [{"id": "pickle", "protocol": 5}],
        "order": "C",
        "shape": [2],
        "zarr_format": 2,
    }
    (store / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (store / "d" / ".zarray").write_text(json.dumps(zarray))
    (store / "d" / ".zattrs").write_text(json.dumps(attrs))
    assert zarr.open_group(store, mode="r", zarr_format=2, use_consolidated=False) is not None
    with ZarrIO(store, mode="r") as io:
        builder = io.read_builder()  # opening reads metadata only
        data = builder["d"].data
        with pytest.raises(HdmfZarrError, match="/d"):
            data[0]
    assert not marker.exists()
    assert not os.path.exists(marker)


def test_unpickler_has_no_general_fallback() -> None:
    with pytest.raises(UnsafePickleError, match=r"os\.system|posix\.system"):
        RestrictedUnpickler(pickle.dumps(os.system), where="/x").load()
