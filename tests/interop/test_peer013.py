"""Both directions with the real hdmf-zarr 0.13.0 (Zarr v2, zarr-python 2): legacy files read lazily and
safely; files written with ``zarr_format=2`` read by 0.13; appends keep the dialect; conversions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pynwb import TimeSeries

import hdmf_zarr
from content.cases import CASES, NOT_FOR_PEER013, assert_equal, build, reader_type_map
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.legacy import LegacyObjectArray
from peers.caseio import open_io
from peers.venvs import run_ours, run_peer

pytestmark = [pytest.mark.peer, pytest.mark.xdist_group("peer013")]
VERSION = "0.13.0"


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_FOR_PEER013))
def test_peer013_writes_we_read(case: str, peer_file: Callable[[str, str], Path]) -> None:
    path = peer_file(VERSION, case)
    assert (path / ".zmetadata").exists()
    with open_io(case, path, "r") as io:
        actual = io.read()
        expected, _ = build(case, expected=True, type_map=reader_type_map(io))
        assert_equal(expected, actual)


def test_peer013_written_extension_reads_from_cached_spec_in_a_fresh_process(
    peer_file: Callable[[str, str], Path],
) -> None:
    """No extension code runs in the reading process: its classes must come from the json2 cached spec."""
    out = run_ours("read_case.py", "nwb_extension", str(peer_file(VERSION, "nwb_extension")))
    assert out.startswith("equal")
    assert json.loads(out.splitlines()[1])["root/ext:ExtSeries"]["calibration"] == [0.5, 1.0, 1.5]


# 0.13 cannot JSON-encode numpy records (the extension's compound of text): that case is pickle only.
@pytest.mark.parametrize("case", ["hdmf_common", "nwb_ecephys"])
def test_peer013_json_codec_files_we_read(case: str, tmp_path: Path) -> None:
    """0.13 writes reference datasets and compounds with numcodecs.JSON when asked (object_codec_class)."""
    path = tmp_path / f"{case}.zarr"
    run_peer(VERSION, "write_case.py", case, str(path), "--codec", "json")
    if case == "nwb_ecephys":
        zarray = json.loads((path / "intervals" / "epochs" / "timeseries" / ".zarray").read_text())
        assert zarray["filters"][0]["id"] == "json2"
    assert run_ours("read_case.py", case, str(path)).startswith("equal")


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_FOR_PEER013))
def test_we_write_v2_peer013_reads(case: str, tmp_path: Path) -> None:
    container, _ = build(case)
    path = tmp_path / f"{case}.zarr"
    with open_io(case, path, "w", zarr_format=2) as io:
        io.write(container)
    assert (path / ".zgroup").exists()
    assert not (path / "zarr.json").exists()
    assert run_peer(VERSION, "read_case.py", case, str(path)).startswith("equal")


def test_legacy_reference_datasets_are_lazy(peer_file: Callable[[str, str], Path]) -> None:
    """Opening decodes no object array; indexing decodes only the chunks it touches."""
    path = peer_file(VERSION, "nwb_ecephys")
    with NWBZarrIO(path, mode="r") as io:
        nwb = io.read()
        group_column = nwb.electrodes["group"].data
        raw = getattr(group_column, "dataset", group_column)
        assert isinstance(raw, LegacyObjectArray)
        assert raw.meta.object_codec == "pickle"
        assert nwb.electrodes["group"][3].name == "shank1"


def test_append_keeps_v2_and_peer013_reads_it(tmp_path: Path, peer_file: Callable[[str, str], Path]) -> None:
    import shutil

    path = tmp_path / "append.zarr"
    shutil.copytree(peer_file(VERSION, "nwb_ecephys"), path)
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="added", data=np.arange(4.0), unit="u", rate=1.0))
        io.write(nwb)
    assert (path / "acquisition" / "added" / "data" / ".zarray").exists()
    assert not (path / "zarr.json").exists()
    with NWBZarrIO(path, mode="r") as io:
        np.testing.assert_array_equal(io.read().acquisition["added"].data[:], np.arange(4.0))


def test_convert_v2_to_v3_and_back(tmp_path: Path, peer_file: Callable[[str, str], Path]) -> None:
    v3 = tmp_path / "v3.zarr"
    hdmf_zarr.convert_to_v3(peer_file(VERSION, "nwb_ecephys"), v3)
    assert (v3 / "zarr.json").exists()
    expected, _ = build("nwb_ecephys", expected=True)
    with NWBZarrIO(v3, mode="r") as io:
        assert_equal(expected, io.read())
    assert "equal" in run_peer("0.14.0", "read_case.py", "nwb_ecephys", str(v3))
    v2 = tmp_path / "v2.zarr"
    hdmf_zarr.convert_to_v2(v3, v2)
    assert "equal" in run_peer(VERSION, "read_case.py", "nwb_ecephys", str(v2))
