"""Both directions with the real hdmf-zarr 0.14.0 (Zarr v3): it writes, we read; we write, it reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from content.cases import CASES, assert_equal, build, reader_type_map
from hdmf_zarr import NWBZarrIO
from peers.caseio import open_io
from peers.venvs import run_ours, run_peer

pytestmark = [pytest.mark.peer, pytest.mark.xdist_group("peer014")]
VERSION = "0.14.0"


@pytest.mark.parametrize("case", sorted(CASES))
def test_peer_writes_we_read(case: str, peer_file: Callable[[str, str], Path]) -> None:
    path = peer_file(VERSION, case)
    assert (path / "zarr.json").exists()
    with open_io(case, path, "r") as io:
        actual = io.read()
        expected, _ = build(case, expected=True, type_map=reader_type_map(io))
        assert_equal(expected, actual)


def test_peer_written_extension_reads_from_cached_spec_in_a_fresh_process(
    peer_file: Callable[[str, str], Path],
) -> None:
    """No extension code runs in the reading process: its classes must come from the cached spec."""
    out = run_ours("read_case.py", "nwb_extension", str(peer_file(VERSION, "nwb_extension")))
    assert out.startswith("equal")
    assert json.loads(out.splitlines()[1])["root/ext:ExtSeries"]["gain"] == 2.5


def test_peer_written_full_file_validates_through_ours(peer_file: Callable[[str, str], Path]) -> None:
    """0.14's own reader reports OnePhotonSeries.binning as int64 (JSON attributes); ours restores uint8."""
    import pynwb

    assert pynwb.validate(path=str(peer_file(VERSION, "nwb_full"))) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_we_write_peer_reads(case: str, tmp_path: Path) -> None:
    container, _ = build(case)
    path = tmp_path / f"{case}.zarr"
    with open_io(case, path, "w") as io:
        io.write(container)
    assert (path / "zarr.json").exists()
    assert run_peer(VERSION, "read_case.py", case, str(path)).startswith("equal")


def test_peer_reads_our_append(tmp_path: Path) -> None:
    """A file we appended to (r+/a) stays readable by the peer: new objects, and rows of stored tables."""
    import numpy as np
    from pynwb import TimeSeries

    container, _ = build("nwb_ecephys")
    path = tmp_path / "append.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(container)
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="added", data=np.arange(3.0), unit="u", rate=1.0))
        nwb.add_trial(start_time=9.0, stop_time=9.5, outcome="late")
        nwb.add_unit(spike_times=[7.0, 8.0], electrodes=[2], quality="good")
        nwb.add_epoch(0.5, 1.5, ["late"], [nwb.acquisition["ts"]])
        io.write(nwb)
    script = tmp_path / "check.py"
    script.write_text(
        "import sys\nfrom hdmf_zarr import NWBZarrIO\n"
        "nwb = NWBZarrIO(sys.argv[1], 'r').read()\n"
        "assert list(nwb.acquisition['added'].data[:]) == [0.0, 1.0, 2.0]\n"
        "assert nwb.acquisition['linked'].data[:].shape == (20,)\n"
        "assert list(nwb.trials['outcome'][:]) == ['hit', 'miss', 'hit', 'late']\n"
        "assert list(nwb.units['spike_times'][4]) == [7.0, 8.0]\n"
        "assert nwb.epochs['timeseries'][2][0].timeseries.name == 'ts'\nprint('equal')\n"
    )
    import subprocess

    from peers.venvs import ensure_peer

    out = subprocess.run([str(ensure_peer(VERSION)), str(script), str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "equal" in out.stdout


def test_peer_reads_a_store_with_an_interrupted_write(tmp_path: Path) -> None:
    """The in-progress mark and an interrupted append's leftovers do not disturb hdmf-zarr 0.14."""
    import zarr

    from hdmf_zarr import _format as fmt
    from hdmf_zarr.lifecycle import new_mark

    case = "nwb_ecephys"
    path = tmp_path / f"{case}.zarr"
    with open_io(case, path, "w") as io:
        io.write(build(case)[0])
    (path / fmt.WRITE_MARK_KEY).write_text(json.dumps(new_mark("a").to_json()))
    zarr.open_group(path / "acquisition", mode="r+", use_consolidated=False).create_group("half_written")
    assert run_peer(VERSION, "read_case.py", case, str(path)).startswith("equal")
