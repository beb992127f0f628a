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
@pytest.mark.filterwarnings("ignore::hdmf_zarr.errors.NoConsolidatedMetadataWarning")  # a hand-made store
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


# Pickles made with numpy 1.26.4 (python 3.11) of what hdmf-zarr <= 0.13 stored: reference arrays of
# hdmf_zarr.utils.ZarrReference, compound rows with a reference field, a compound fill value, and a
# numeric array (protocol 5 uses numpy.core.numeric._frombuffer). numpy 1.x names numpy.core.*.
NUMPY_126_PICKLES = {
    ("refs", 2): (
        "gAJjbnVtcHkuY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0cnVjdApxAGNudW1weQpuZGFycmF5CnEBSwCFcQJjX2NvZGVjcwpl"
        "bmNvZGUKcQNYAQAAAGJxBFgGAAAAbGF0aW4xcQWGcQZScQeHcQhScQkoSwFLAoVxCmNudW1weQpkdHlwZQpxC1gCAAAATzhx"
        "DImIh3ENUnEOKEsDWAEAAAB8cQ9OTk5K/////0r/////Sz90cRBiiV1xEShjaGRtZl96YXJyLnV0aWxzClphcnJSZWZlcmVu"
        "Y2UKcRIpgXETKFgGAAAAc291cmNlcRRYAQAAAC5xFVgEAAAAcGF0aHEWWAIAAAAvYXEXWAkAAABvYmplY3RfaWRxGFgCAAAA"
        "bzFxGVgQAAAAc291cmNlX29iamVjdF9pZHEaWAIAAABzMXEbdU5ldHEcYi4="
    ),
    ("refs", 5): (
        "gAWV9QAAAAAAAACMFW51bXB5LmNvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOU"
        "SwCFlEMBYpSHlFKUKEsBSwKFlGgDjAVkdHlwZZSTlIwCTziUiYiHlFKUKEsDjAF8lE5OTkr/////Sv////9LP3SUYoldlCiM"
        "D2hkbWZfemFyci51dGlsc5SMDVphcnJSZWZlcmVuY2WUk5QpgZQojAZzb3VyY2WUjAEulIwEcGF0aJSMAi9hlIwJb2JqZWN0"
        "X2lklIwCbzGUjBBzb3VyY2Vfb2JqZWN0X2lklIwCczGUdU5ldJRiLg=="
    ),
    ("rows", 2): (
        "gAJjbnVtcHkuY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0cnVjdApxAGNudW1weQpuZGFycmF5CnEBSwCFcQJjX2NvZGVjcwpl"
        "bmNvZGUKcQNYAQAAAGJxBFgGAAAAbGF0aW4xcQWGcQZScQeHcQhScQkoSwFLAoVxCmNudW1weQpkdHlwZQpxC1gDAAAAVjE2"
        "cQyJiIdxDVJxDihLA1gBAAAAfHEPTlgJAAAAaWR4X3N0YXJ0cRBYBQAAAGNvdW50cRFYCgAAAHRpbWVzZXJpZXNxEodxE31x"
        "FChoEGgLWAIAAABpNHEViYiHcRZScRcoSwNYAQAAADxxGE5OTkr/////Sv////9LAHRxGWJLAIZxGmgRaBdLBIZxG2gSaAtY"
        "AgAAAE84cRyJiIdxHVJxHihLA2gPTk5OSv////9K/////0s/dHEfYksIhnEgdUsQSwFLG3RxIWKJXXEiKEsASwVjaGRtZl96"
        "YXJyLnV0aWxzClphcnJSZWZlcmVuY2UKcSMpgXEkKFgGAAAAc291cmNlcSVYAQAAAC5xJlgEAAAAcGF0aHEnWAIAAAAvYXEo"
        "WAkAAABvYmplY3RfaWRxKVgCAAAAbzFxKlgQAAAAc291cmNlX29iamVjdF9pZHErWAIAAABzMXEsdYdxLUsFSwdoIymBcS4o"
        "aCVoJmgnWAIAAAAvYnEvaClOaCtOdYdxMGV0cTFiLg=="
    ),
    ("rows", 5): (
        "gAWVlgEAAAAAAACMFW51bXB5LmNvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOU"
        "SwCFlEMBYpSHlFKUKEsBSwKFlGgDjAVkdHlwZZSTlIwDVjE2lImIh5RSlChLA4wBfJROjAlpZHhfc3RhcnSUjAVjb3VudJSM"
        "CnRpbWVzZXJpZXOUh5R9lChoEWgMjAJpNJSJiIeUUpQoSwOMATyUTk5OSv////9K/////0sAdJRiSwCGlGgSaBhLBIaUaBNo"
        "DIwCTziUiYiHlFKUKEsDaBBOTk5K/////0r/////Sz90lGJLCIaUdUsQSwFLG3SUYoldlChLAEsFjA9oZG1mX3phcnIudXRp"
        "bHOUjA1aYXJyUmVmZXJlbmNllJOUKYGUKIwGc291cmNllIwBLpSMBHBhdGiUjAIvYZSMCW9iamVjdF9pZJSMAm8xlIwQc291"
        "cmNlX29iamVjdF9pZJSMAnMxlHWHlEsFSwdoJimBlChoKGgpaCqMAi9ilGgsTmguTnWHlGV0lGIu"
    ),
    ("fill", 2): (
        "gAJjbnVtcHkuY29yZS5tdWx0aWFycmF5CnNjYWxhcgpxAGNudW1weQpkdHlwZQpxAVgDAAAAVjE2cQKJiIdxA1JxBChLA1gB"
        "AAAAfHEFTlgJAAAAaWR4X3N0YXJ0cQZYBQAAAGNvdW50cQdYCgAAAHRpbWVzZXJpZXNxCIdxCX1xCihoBmgBWAIAAABpNHEL"
        "iYiHcQxScQ0oSwNYAQAAADxxDk5OTkr/////Sv////9LAHRxD2JLAIZxEGgHaA1LBIZxEWgIaAFYAgAAAE84cRKJiIdxE1Jx"
        "FChLA2gFTk5OSv////9K/////0s/dHEVYksIhnEWdUsQSwFLG3RxF2JjbnVtcHkuY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0"
        "cnVjdApxGGNudW1weQpuZGFycmF5CnEZSwCFcRpjX2NvZGVjcwplbmNvZGUKcRtYAQAAAGJxHFgGAAAAbGF0aW4xcR2GcR5S"
        "cR+HcSBScSEoSwEpaASJXXEiSwBLAEsAh3EjYXRxJGKGcSVScSYu"
    ),
    ("fill", 5): (
        "gAWVHgEAAAAAAACMFW51bXB5LmNvcmUubXVsdGlhcnJheZSMBnNjYWxhcpSTlIwFbnVtcHmUjAVkdHlwZZSTlIwDVjE2lImI"
        "h5RSlChLA4wBfJROjAlpZHhfc3RhcnSUjAVjb3VudJSMCnRpbWVzZXJpZXOUh5R9lChoCmgFjAJpNJSJiIeUUpQoSwOMATyU"
        "Tk5OSv////9K/////0sAdJRiSwCGlGgLaBFLBIaUaAxoBYwCTziUiYiHlFKUKEsDaAlOTk5K/////0r/////Sz90lGJLCIaU"
        "dUsQSwFLG3SUYmgAjAxfcmVjb25zdHJ1Y3SUk5RoA4wHbmRhcnJheZSTlEsAhZRDAWKUh5RSlChLASloCIldlEsASwBLAIeU"
        "YXSUYoaUUpQu"
    ),
    ("numbers", 2): (
        "gAJjbnVtcHkuY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0cnVjdApxAGNudW1weQpuZGFycmF5CnEBSwCFcQJjX2NvZGVjcwpl"
        "bmNvZGUKcQNYAQAAAGJxBFgGAAAAbGF0aW4xcQWGcQZScQeHcQhScQkoSwFLA4VxCmNudW1weQpkdHlwZQpxC1gCAAAAZjhx"
        "DImIh3ENUnEOKEsDWAEAAAA8cQ9OTk5K/////0r/////SwB0cRBiiWgDWBkAAAAAAAAAAAAAAAAAAAAAAMOwPwAAAAAAAABA"
        "cRFoBYZxElJxE3RxFGIu"
    ),
    ("numbers", 5): (
        "gAWViwAAAAAAAACMEm51bXB5LmNvcmUubnVtZXJpY5SMC19mcm9tYnVmZmVylJOUKJYYAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "8D8AAAAAAAAAQJSMBW51bXB5lIwFZHR5cGWUk5SMAmY4lImIh5RSlChLA4wBPJROTk5K/////0r/////SwB0lGJLA4WUjAFD"
        "lHSUUpQu"
    ),
}


@pytest.mark.parametrize("protocol", [2, 5])
def test_numpy_1_pickles_decode(protocol: int) -> None:
    def load(name: str) -> object:
        return safe_loads(base64.b64decode(NUMPY_126_PICKLES[name, protocol]), where=f"/{name}")

    refs = load("refs")
    assert isinstance(refs, np.ndarray)
    assert isinstance(refs[0], LegacyReference)
    assert refs[0] == {"source": ".", "path": "/a", "object_id": "o1", "source_object_id": "s1"}
    assert refs[1] is None
    rows = load("rows")
    assert isinstance(rows, np.ndarray)
    assert rows.dtype.names == ("idx_start", "count", "timeseries")
    assert rows["count"].tolist() == [5, 7]
    assert [r["path"] for r in rows["timeseries"]] == ["/a", "/b"]
    fill = load("fill")
    assert isinstance(fill, np.void)
    assert fill["count"] == 0
    assert fill["timeseries"] == 0  # np.zeros puts 0 in object fields
    assert np.array_equal(load("numbers"), np.arange(3.0))  # type: ignore[arg-type]


def _peer_reference(monkeypatch: pytest.MonkeyPatch) -> type:
    import sys
    import types

    peer_utils = types.ModuleType("hdmf_zarr.utils")

    class ZarrReference(dict):  # type: ignore[type-arg]
        pass

    ZarrReference.__module__ = "hdmf_zarr.utils"
    ZarrReference.__qualname__ = "ZarrReference"
    peer_utils.ZarrReference = ZarrReference  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hdmf_zarr.utils", peer_utils)
    return ZarrReference


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_of_legacy_values_decodes(protocol: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Protocols 0-2 name copy_reg, __builtin__ and _codecs; they decode to the same values."""
    ref_cls = _peer_reference(monkeypatch)
    refs = np.empty(3, dtype=object)
    refs[:] = [ref_cls(source=".", path="/a"), None, ref_cls(source="../x.zarr", path="/b")]
    rows = np.empty(2, dtype=[("n", "<i4"), ("r", "O"), ("t", "O")])
    rows["n"] = [1, 2]
    rows["r"] = [refs[0], refs[2]]
    rows["t"] = ["é", "b"]
    values = [refs, rows, np.float64(0.5), b"raw\x00bytes", bytearray(b"ba"), {1, 2}, 1 + 2j, (b"", "")]
    blobs = [pickle.dumps(v, protocol=protocol) for v in values]
    monkeypatch.delitem(__import__("sys").modules, "hdmf_zarr.utils")
    back = [safe_loads(b, where="/p") for b in blobs]
    assert [dict(r) if r is not None else None for r in back[0]] == [
        {"source": ".", "path": "/a"},
        None,
        {"source": "../x.zarr", "path": "/b"},
    ]
    assert all(isinstance(r, LegacyReference) for r in back[0] if r is not None)
    assert back[1]["t"].tolist() == ["é", "b"]
    assert [r["path"] for r in back[1]["r"]] == ["/a", "/b"]
    assert back[2:] == values[2:]


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (b"cos\nsystem\n(S'touch /tmp/x'\ntR.", "os.system"),
        (b"csubprocess\ncall\n(S'true'\ntR.", "subprocess.call"),
        (b"cbuiltins\neval\n(S'1'\ntR.", "builtins.eval"),
        (b"c__builtin__\ngetattr\n(c__builtin__\ndict\nS'x'\ntR.", "__builtin__.getattr"),
        (b"cnumpy\nload\n(S'x'\ntR.", "numpy.load"),
        (b"cnumpy.dtypes\nStringDType\n)R.", "numpy.dtypes.StringDType"),
        (b"c_codecs\nencode\n(S'x'\nS'zlib'\ntR.", "_codecs.encode"),
        (b"cbuiltins\nbytes\n(I99999999999\ntR.", "bytes"),
        (b"ccopyreg\n_reconstructor\n(cbuiltins\nlist\ncbuiltins\nlist\nNtR.", "list"),
    ],
)
def test_refused_globals_are_named(payload: bytes, refused: str) -> None:
    with pytest.raises(UnsafePickleError, match=refused.replace(".", r"\.")) as info:
        safe_loads(payload, where="/acquisition/x/data")
    assert "/acquisition/x/data" in str(info.value) or refused in str(info.value)


def test_persistent_ids_are_refused() -> None:
    with pytest.raises(UnsafePickleError, match="persistent id"):
        safe_loads(b"P1\n.", where="/d")


def test_garbage_is_a_decoding_error_naming_the_dataset() -> None:
    with pytest.raises(UnsafePickleError, match="/general/x"):
        safe_loads(b"\x80\x05not a pickle", where="/general/x")
