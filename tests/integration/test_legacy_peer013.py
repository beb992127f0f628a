# ruff: noqa: E501  (the peer scripts below are kept as they run, one statement per line)
"""hdmf_zarr.legacy against the real hdmf-zarr 0.13.0 (zarr-python 2): files it writes, read lazily and
safely; planted pickles in its files never run; v2 object arrays we write with zarr 3, read by it."""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import UnsafePickleError
from hdmf_zarr.legacy import (
    LegacyObjectArray,
    LegacyReference,
    V2Kind,
    open_v2_index,
    reference_record,
    v2write,
)
from peers.venvs import PEERS, TESTS, ensure_peer, run_peer

pytestmark = [pytest.mark.peer, pytest.mark.xdist_group("peer013")]
VERSION = "0.13.0"

# Written by 0.13 with its ZarrIO: every object-array kind, with the pickle (default) or JSON codec.
WRITE_RICH = """
import sys
import numcodecs
import numpy as np
from hdmf.build import DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from hdmf.common import get_manager
from hdmf.spec import DtypeSpec, RefSpec
from hdmf_zarr import ZarrIO
from hdmf_zarr.utils import ZarrDataIO

out, codec = sys.argv[1], sys.argv[2]
target = DatasetBuilder("target", data=np.arange(5, dtype=np.int32))
tg = GroupBuilder("tgroup", datasets={"target": target})
text3 = [DtypeSpec("a", "x", "text"), DtypeSpec("b", "x", "int32"), DtypeSpec("c", "x", "text")]
with_ref = [DtypeSpec("n", "x", "int32"), DtypeSpec("r", "x", RefSpec("X", "object")), DtypeSpec("t", "x", "text")]
d = {
    "cmp_str": DatasetBuilder("cmp_str", data=[("x", 1, "y"), ("zz", 2, "w")], dtype=text3),
    "cmp_ref": DatasetBuilder("cmp_ref", data=[(1, ReferenceBuilder(tg), "p"), (2, ReferenceBuilder(target), "q")],
                              dtype=with_ref),
    "refs": DatasetBuilder("refs", data=[ReferenceBuilder(tg), ReferenceBuilder(target)], dtype="object"),
    "text2d": DatasetBuilder("text2d", data=[["a", "b", "c"], ["d", "e", "f"]], dtype="text"),
    "chunked_text": DatasetBuilder(
        "chunked_text", data=ZarrDataIO(data=np.array([f"s{i}" for i in range(10)], dtype=object), chunks=(3,)),
        dtype="text"),
    "ascii": DatasetBuilder("ascii", data=[b"ab", b"cd"], dtype="ascii"),
    "iso": DatasetBuilder("iso", data="2020-01-01T00:00:00", dtype="isodatetime"),
}
if codec == "pickle":  # 0.13 cannot JSON-encode numpy records
    d["cmp_np"] = DatasetBuilder("cmp_np", data=np.array([("x", 1, "y")], dtype=[("a", "U4"), ("b", "<i4"), ("c", "U4")]),
                                 dtype=text3)
root = GroupBuilder("root", groups={"tgroup": tg}, datasets=d, attributes={"attr_ref": ReferenceBuilder(target)})
kw = {"object_codec_class": numcodecs.JSON} if codec == "json" else {}
with ZarrIO(out, mode="w", manager=get_manager(), **kw) as io:
    io.write_builder(root)
print("wrote", out)
"""

# Run by 0.13: print what its read_builder makes of a plain v2 group, as JSON.
READ_PLAIN = """
import json, sys
import numpy as np
from hdmf.build import Builder
from hdmf.common import get_manager
from hdmf_zarr import ZarrIO

def plain(v):
    if isinstance(v, Builder):
        return "->" + v.name
    if isinstance(v, (np.ndarray, list, tuple)) or type(v).__name__ in ("BuilderZarrReferenceDataset", "BuilderZarrTableDataset"):
        return [plain(x) for x in v]
    if isinstance(v, np.void):
        return [plain(x) for x in v.tolist()]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v

with ZarrIO(sys.argv[1], mode="r", manager=get_manager()) as io:
    b = io.read_builder()
    out = {name: plain(b[name].data[:]) for name in sorted(b.datasets)}
    out["@attrs"] = {k: plain(v) for k, v in b.attributes.items()}
    out["@links"] = {k: v.builder.name for k, v in b.links.items()}
print(json.dumps(out))
"""


def _run_script(tmp_path: Path, source: str, *args: str) -> str:
    script = tmp_path / "peer_script.py"
    script.write_text(source)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(dict(PEERS[VERSION].env))
    env["PYTHONPATH"] = str(TESTS)
    result = subprocess.run(
        [str(ensure_peer(VERSION)), str(script), *args], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module", params=["pickle", "json"])
def rich(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp(f"rich-{request.param}")
    out = folder / "rich.zarr"
    _run_script(folder, WRITE_RICH, str(out), request.param)
    return request.param, out


def test_peer_files_break_zarr3_consolidated_open(rich: tuple[str, Path]) -> None:
    """The reason for this package: zarr 3.4 cannot open these files' consolidated metadata."""
    _, path = rich
    with pytest.raises((ValueError, TypeError)):
        zarr.open_group(path, mode="r", zarr_format=2, use_consolidated=True)


def test_every_kind_reads(rich: tuple[str, Path]) -> None:
    codec, path = rich
    store = LocalStore(path, read_only=True)
    index = open_v2_index(store)
    kinds = {p: index.node(p).kind for p in index.children("/")}
    assert kinds["/refs"] is V2Kind.REFERENCE
    assert kinds["/cmp_ref"] is V2Kind.COMPOUND
    assert kinds["/cmp_str"] is V2Kind.COMPOUND
    assert kinds["/text2d"] is V2Kind.TEXT
    assert kinds["/ascii"] is V2Kind.BYTES
    assert kinds["/tgroup"] is V2Kind.GROUP
    assert index.node("/iso").scalar

    def read(p: str) -> Any:
        arr = index.node(p).array(store)
        assert isinstance(arr, LegacyObjectArray)
        return arr[...]

    refs = read("/refs")
    if codec == "pickle":
        assert all(isinstance(r, LegacyReference) for r in refs)
    assert [reference_record(r, where="/refs").path for r in refs] == ["/tgroup", "/tgroup/target"]
    cmp_ref = read("/cmp_ref")
    assert cmp_ref["n"].tolist() == [1, 2]
    assert cmp_ref["t"].tolist() == ["p", "q"]
    assert [reference_record(r, where="/cmp_ref").path for r in cmp_ref["r"]] == ["/tgroup", "/tgroup/target"]
    assert read("/cmp_str").tolist() == [("x", 1, "y"), ("zz", 2, "w")]
    if codec == "pickle":
        assert read("/cmp_np").tolist() == [("x", 1, "y")]
    assert read("/text2d").tolist() == [["a", "b", "c"], ["d", "e", "f"]]
    assert read("/chunked_text").tolist() == [f"s{i}" for i in range(10)]
    assert index.node("/chunked_text").array(store)[4:8].tolist() == ["s4", "s5", "s6", "s7"]
    assert read("/ascii").tolist() == [b"ab", b"cd"]
    assert read("/iso").tolist() == ["2020-01-01T00:00:00"]
    attr = index.node("/").attrs["attr_ref"]
    assert attr[fmt.V2_DTYPE_ATTR] == fmt.DTYPE_OBJECT


def test_zarrio_reads_compounds_0_13_itself_cannot(rich: tuple[str, Path]) -> None:
    """0.13 fails on its own JSON compound-with-reference datasets; we resolve them."""
    from hdmf.common import get_manager

    from hdmf_zarr import ZarrIO

    _, path = rich
    with ZarrIO(path, mode="r", manager=get_manager()) as io:
        root = io.read_builder()
        rows = root["cmp_ref"].data[:]
        assert [row[1].name for row in rows] == ["tgroup", "target"]
        assert [tuple(row) for row in root["cmp_str"].data[:]] == [("x", 1, "y"), ("zz", 2, "w")]


def test_nwb_file_from_the_peer(tmp_path: Path) -> None:
    path = tmp_path / "nwb.zarr"
    run_peer(VERSION, "write_case.py", "nwb_ecephys", str(path))
    store = LocalStore(path, read_only=True)
    index = open_v2_index(store)
    spec = index.node("/specifications/hdmf-common/1.10.0/namespace")
    assert spec.kind is V2Kind.JSON
    assert spec.scalar
    assert json.loads(spec.array(store)[0])["namespaces"][0]["name"] == "hdmf-common"
    group = index.node("/general/extracellular_ephys/electrodes/group").array(store)
    assert [reference_record(r, where="g").path for r in group[[0, 1]]] == [
        "/general/extracellular_ephys/shank0",
        "/general/extracellular_ephys/shank1",
    ]
    epochs = index.node("/intervals/epochs/timeseries").array(store)[...]
    assert epochs["count"].tolist() == [10, 10, 10]  # timestamps of ts within each epoch
    assert [reference_record(r, where="e").path for r in epochs["timeseries"]] == [
        "/acquisition/ts",
        "/acquisition/ts",
        "/acquisition/linked",
    ]
    assert index.node("/session_start_time").kind is V2Kind.BYTES


# -- planted payloads in a real 0.13 NWB file ----------------------------------------------------------


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _set_zarray(root: Path, path: str, **changes: Any) -> None:
    """Edit a .zarray and its copy in .zmetadata, as an attacker editing the file would."""
    doc = json.loads((root / path / ".zarray").read_text())
    doc.update(changes)
    (root / path / ".zarray").write_text(json.dumps(doc))
    consolidated = json.loads((root / ".zmetadata").read_text())
    consolidated["metadata"][f"{path}/.zarray"] = doc
    (root / ".zmetadata").write_text(json.dumps(consolidated))


def _blosc(root: Path, path: str) -> numcodecs.abc.Codec:
    return numcodecs.get_codec(json.loads((root / path / ".zarray").read_text())["compressor"])


@pytest.mark.parametrize("where", ["reference chunk", "compound chunk", "compound fill value"])
def test_planted_payload_in_a_peer_file_never_runs(tmp_path: Path, where: str) -> None:
    from hdmf_zarr import NWBZarrIO

    path = tmp_path / "evil.zarr"
    run_peer(VERSION, "write_case.py", "nwb_ecephys", str(path))
    marker = tmp_path / "pwned"
    if where == "reference chunk":
        target = "general/extracellular_ephys/electrodes/group"
        arr = np.empty(6, dtype=object)
        arr[:] = [_Payload(marker)] + [{"source": ".", "path": "/x"}] * 5
        (path / target / "0").write_bytes(_blosc(path, target).encode(pickle.dumps(arr, protocol=5)))
    else:
        target = "intervals/epochs/timeseries"
        rows = np.zeros(2, dtype=[("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "O")])
        rows["timeseries"][0] = _Payload(marker)
        if where == "compound chunk":
            (path / target / "0").write_bytes(_blosc(path, target).encode(pickle.dumps(rows, protocol=5)))
        else:
            (path / target / "0").unlink()  # every row now comes from the fill value
            _set_zarray(path, target, fill_value=base64.b64encode(pickle.dumps(_Payload(marker))).decode())

    def read_column() -> None:
        with NWBZarrIO(path, mode="r") as io:
            nwb = io.read()
            column = nwb.electrodes["group"] if "electrodes" in target else nwb.epochs.timeseries
            column.data[:]

    with pytest.raises(UnsafePickleError, match=f"/{target}") as info:
        read_column()
    assert "builtins.open" in str(info.value) or "io.open" in str(info.value)
    assert not marker.exists()


# -- v2 object arrays written with zarr 3, read by 0.13 -------------------------------------------------


def test_peer013_reads_what_the_helpers_write(tmp_path: Path) -> None:
    path = tmp_path / "ours.zarr"
    root = zarr.open_group(path, mode="w", zarr_format=2)
    target = root.create_array("target", data=np.arange(5, dtype=np.int32))
    target.attrs[fmt.V2_DTYPE_ATTR] = "int32"
    tgroup = root.create_group("tgroup")
    tgroup.create_array("inner", data=np.ones(2))
    text = root.create_array("text", shape=(2,), dtype=str, compressors=v2write.V2_COMPRESSOR)
    text[:] = np.array(["a", "é"])
    root["text"].attrs[fmt.V2_DTYPE_ATTR] = "str"
    store = root.store
    records = [fmt.ReferenceRecord(".", "/target"), fmt.ReferenceRecord(".", "/tgroup")]
    refs = np.empty(2, dtype=object)
    refs[:] = [r.to_v2_json() for r in records]
    v2write.write_object_array(store, "/refs", v2write.reference_array_meta(2), refs)
    rows = np.empty(2, dtype=[("n", "<i4"), ("r", "O"), ("t", "O")])
    rows["n"] = [7, 8]
    rows["r"] = [LegacyReference(records[1].to_v2_json()), records[0].to_v2_json()]  # dict subclass too
    rows["t"] = ["p", "q"]
    meta = v2write.compound_array_meta([("n", "int32"), ("r", "object"), ("t", "text")], 2)
    v2write.write_object_array(store, "/cmp", meta, rows)
    doc = np.empty(1, dtype=object)
    doc[0] = json.dumps({"groups": []})
    v2write.write_object_array(store, "/spec", v2write.spec_document_meta(), doc)
    root.attrs.update(
        {
            "attr_ref": v2write.reference_attribute(records[0]),
            fmt.V2_LINKS_ATTR: v2write.link_attribute([fmt.LinkRecord("lnk", ".", "/target")]),
        }
    )
    # No .zmetadata: zarr 3 cannot consolidate a group holding json2/pickle arrays; 0.13 reads without it.
    out = json.loads(_run_script(tmp_path, READ_PLAIN, str(path)).strip().splitlines()[-1])
    assert out["refs"] == ["->target", "->tgroup"]
    assert out["cmp"] == [[7, "->tgroup", "p"], [8, "->target", "q"]]
    assert out["text"] == ["a", "é"]
    assert json.loads(out["spec"][0]) == {"groups": []}
    assert out["@attrs"]["attr_ref"] == "->target"
    assert out["@links"] == {"lnk": "target"}
    # and we read our own writing back through the same legacy reader
    index = open_v2_index(LocalStore(path, read_only=True), use_consolidated=False)
    cmp = index.node("/cmp").array(LocalStore(path, read_only=True))[...]
    assert [reference_record(r, where="/cmp").path for r in cmp["r"]] == ["/tgroup", "/target"]
    raw = (path / "cmp" / "0").read_bytes()
    assert b"hdmf_zarr.legacy" not in numcodecs.get_codec(v2write.V2_COMPRESSOR.get_config()).decode(raw)
