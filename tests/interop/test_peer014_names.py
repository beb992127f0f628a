"""hdmf-zarr 0.14 reads our files with plain names exactly as we do; escaped names never break its reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import GroupBuilder

from hdmf_zarr import _format as fmt
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.testing.builders import dataset, group, link
from peers.venvs import run_ours, run_peer

pytestmark = [pytest.mark.peer, pytest.mark.xdist_group("peer014")]
VERSION = "0.14.0"
#: Unusual names that are still plain: stored as themselves, as hdmf-zarr 0.14 stores them.
PLAIN_NAMES = ["with space", "ünïcødé", "50%", "%2E", "!foo", "a!b", "__dunder", "x" * 248, ".hidden"]


def _views(path: Path) -> tuple[dict[str, object], dict[str, object]]:
    ours = json.loads(run_ours("builder_names.py", str(path)))
    peer = json.loads(run_peer(VERSION, "builder_names.py", str(path)))
    return ours, peer


def test_peer_reads_plain_names_as_we_do(tmp_path: Path) -> None:
    root = GroupBuilder("root", attributes={"top": 1, "!bar": 2, "c!d": 3})
    for name in PLAIN_NAMES:
        grp = group(root, name, attributes={"name": name})
        dataset(grp, name, np.arange(3))
        link(grp, f"link {name}", grp.datasets[name])
    path = tmp_path / "plain.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_builder(root, cache_spec=False)
    ours, peer = _views(path)
    assert ours == peer
    assert {f"/{name}/{name}" for name in PLAIN_NAMES} <= set(peer)


def test_peer_opens_a_file_with_escaped_names(tmp_path: Path) -> None:
    """Escaped node and attribute names are ordinary names to the peer: the file is never broken."""
    root = GroupBuilder("root", attributes=dict.fromkeys(fmt.RESERVED_ATTR_NAMES, 1))
    dataset(group(root, ".."), "zarr.json", [1, 2], attributes={fmt.DTYPE_ATTR: "mine"})
    path = tmp_path / "escaped.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_builder(root, cache_spec=False)
    ours, peer = _views(path)
    assert "/../zarr.json" in ours
    assert "/!../!zarr.json" in peer
    assert ours[""]["attributes"] == sorted(fmt.RESERVED_ATTR_NAMES)  # type: ignore[index]
    assert peer[""]["attributes"] == sorted(fmt.NAME_ESCAPE + n for n in fmt.RESERVED_ATTR_NAMES)  # type: ignore[index]
