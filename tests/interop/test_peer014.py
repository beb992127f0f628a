"""Both directions with the real hdmf-zarr 0.14.0 (Zarr v3): it writes, we read; we write, it reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hdmf.common import get_manager

from content.cases import CASES, assert_equal, build
from hdmf_zarr import NWBZarrIO, ZarrIO
from peers.venvs import run_peer

pytestmark = [pytest.mark.peer, pytest.mark.xdist_group("peer014")]
VERSION = "0.14.0"


def _open(path: Path, kind: str, mode: str = "r") -> ZarrIO:
    if kind == "nwb":
        return NWBZarrIO(path, mode=mode)
    return ZarrIO(path, mode=mode, manager=get_manager())


@pytest.mark.parametrize("case", sorted(CASES))
def test_peer_writes_we_read(case: str, peer_file: Callable[[str, str], Path]) -> None:
    path = peer_file(VERSION, case)
    expected, kind = build(case, expected=True)
    with _open(path, kind) as io:
        assert_equal(expected, io.read())


@pytest.mark.parametrize("case", sorted(CASES))
def test_we_write_peer_reads(case: str, tmp_path: Path) -> None:
    container, kind = build(case)
    path = tmp_path / f"{case}.zarr"
    with _open(path, kind, mode="w") as io:
        io.write(container)
    assert "equal" in run_peer(VERSION, "read_case.py", case, str(path))


def test_peer_reads_our_append(tmp_path: Path) -> None:
    """A file we appended to (r+/a) stays readable by the peer, new objects included."""
    import numpy as np
    from pynwb import TimeSeries

    container, _ = build("nwb_ecephys")
    path = tmp_path / "append.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(container)
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="added", data=np.arange(3.0), unit="u", rate=1.0))
        io.write(nwb)
    script = tmp_path / "check.py"
    script.write_text(
        "import sys\nfrom hdmf_zarr import NWBZarrIO\n"
        "nwb = NWBZarrIO(sys.argv[1], 'r').read()\n"
        "assert list(nwb.acquisition['added'].data[:]) == [0.0, 1.0, 2.0]\n"
        "assert nwb.acquisition['linked'].data[:].shape == (20,)\nprint('equal')\n"
    )
    import subprocess

    from peers.venvs import ensure_peer

    out = subprocess.run([str(ensure_peer(VERSION)), str(script), str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "equal" in out.stdout
