"""The write life cycle: 'w' writes aside and swaps in on close; killed writes leave the old file intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hdmf_zarr import ZarrIO
from support.interrupt import run_writer, was_killed


def _names(path: Path) -> list[str]:
    with ZarrIO(path, mode="r") as io:
        return sorted(io.read_builder().datasets)


def _data(path: Path, name: str) -> np.ndarray:
    with ZarrIO(path, mode="r") as io:
        return np.asarray(io.read_builder().datasets[name].data[:])


def _tree_bytes(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("suffix", [".zarr", ".zip"])
def test_killed_w_keeps_the_old_file_and_the_next_writer_removes_its_debris(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"session{suffix}"
    assert run_writer(path, mode="w", name="first").returncode == 0
    before = _tree_bytes(path)
    killed = run_writer(path, mode="w", name="second", kill_at=4)
    assert was_killed(killed), killed.stderr
    assert _tree_bytes(path) == before
    assert _names(path) == ["first"]
    debris = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert len(debris) == 1
    assert debris[0].startswith(f".{path.name}.staging-")  # recognisable by its name
    assert run_writer(path, mode="w", name="third").returncode == 0
    assert _names(path) == ["third"]
    np.testing.assert_array_equal(_data(path, "third"), np.repeat(np.arange(8.0), 3).reshape(8, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_killed_new_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "new.zarr"
    assert was_killed(run_writer(path, mode="w-", name="first", kill_at=3))
    assert not path.exists()
    assert not ZarrIO.can_read(path)
    assert run_writer(path, mode="w-", name="first").returncode == 0
    assert _names(path) == ["first"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
