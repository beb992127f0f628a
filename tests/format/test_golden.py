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
# The cases frozen as golden stores (scripts/make_golden.py writes the same list); the extension's
# classes come from the spec cached in its store. The full file (nwb_full) is exchanged live only.
GOLDEN_CASES = ("hdmf_common", "nwb_ecephys", "nwb_extension")
DIALECTS = ("v2_peer013", "v3_peer014")
STORES = [(folder, case) for folder in DIALECTS for case in GOLDEN_CASES]


def test_every_golden_store_is_there() -> None:
    assert set(GOLDEN_CASES) <= set(CASES)
    for folder, case in STORES:
        assert (HERE / folder / f"{case}.zarr").is_dir(), f"missing golden store {folder}/{case}.zarr"
        assert (HERE / folder / f"{case}.expected.json").is_file(), f"missing {folder}/{case}.expected.json"


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
