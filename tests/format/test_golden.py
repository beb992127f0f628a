"""Golden stores written by the real hdmf-zarr 0.14.0 (Zarr v3) and 0.13.0 (Zarr v2), committed with what
the peer itself read back (``<case>.expected.json``). Regenerate with ``scripts/make_golden.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hdmf.common import get_manager

from content.cases import CASES, summary
from hdmf_zarr import NWBZarrIO, ZarrIO

HERE = Path(__file__).parent
STORES = sorted(
    (folder.name, case)
    for folder in HERE.iterdir()
    if folder.is_dir()
    for case in CASES
    if (folder / f"{case}.zarr").exists()
)


def test_every_golden_store_is_there() -> None:
    assert {folder for folder, _ in STORES} == {"v3_peer014", "v2_peer013"}
    assert len(STORES) == 2 * len(CASES)


@pytest.mark.parametrize(("folder", "case"), STORES)
def test_golden_store_reads_as_the_peer_read_it(folder: str, case: str) -> None:
    store = HERE / folder / f"{case}.zarr"
    expected = json.loads((HERE / folder / f"{case}.expected.json").read_text())
    kind = CASES[case][1]
    io = NWBZarrIO(store, mode="r") if kind == "nwb" else ZarrIO(store, mode="r", manager=get_manager())
    with io:
        got = json.loads(json.dumps(summary(io.read()), sort_keys=True))
    assert sorted(got) == sorted(expected)
    for key in sorted(expected):
        assert got[key] == expected[key], key
