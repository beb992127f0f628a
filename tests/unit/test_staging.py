"""Staging folders: a live writer's folder is never swept, a dead writer's is; the swap without renameat2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hdmf.build import GroupBuilder

from hdmf_zarr import ZarrIO, staging
from hdmf_zarr.errors import StoreExistsError
from hdmf_zarr.staging import StagingFolder, remove_debris, staging_prefix
from hdmf_zarr.testing.builders import dataset


def _write(path: Path, name: str, mode: str = "w") -> None:
    root = GroupBuilder("root")
    dataset(root, name, np.arange(3.0))
    with ZarrIO(path, mode=mode) as io:
        io.write_builder(root, cache_spec=False)


def _names(path: Path) -> list[str]:
    with ZarrIO(path, mode="r") as io:
        return sorted(io.read_builder().datasets)


def test_only_dead_writers_staging_folders_are_swept(tmp_path: Path) -> None:
    target = tmp_path / "f.zarr"
    live = StagingFolder.begin(target)
    dead = tmp_path / f"{staging_prefix(target)}0123456789ab"  # nobody holds its lock
    dead.mkdir()
    replaced = tmp_path / f".{target.name}.replaced-0123456789ab"  # an old file moved aside: kept
    replaced.mkdir()
    unrelated = tmp_path / f"{staging_prefix(target)}not-an-id"
    unrelated.mkdir()
    assert remove_debris(target) == [dead]
    assert live.path.is_dir()
    assert replaced.is_dir()
    assert unrelated.is_dir()
    live.discard()
    assert not live.path.exists()


def test_an_appender_sweeps_a_killed_writers_staging_folder(tmp_path: Path) -> None:
    target = tmp_path / "f.zarr"
    _write(target, "first")
    dead = tmp_path / f"{staging_prefix(target)}0123456789ab"
    dead.mkdir()
    (dead / "zarr.json").write_text("{}")
    with ZarrIO(target, mode="a"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.zarr"]


def test_the_swap_without_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other systems: two renames; the result is the same and nothing is left beside the file."""
    monkeypatch.setattr(staging, "_renameat2", lambda *_args: False)
    target = tmp_path / "f.zarr"
    _write(target, "first")
    _write(target, "second")
    assert _names(target) == ["second"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.zarr"]
    with pytest.raises(StoreExistsError):
        _write(target, "third", mode="w-")
    assert _names(target) == ["second"]


def test_w_dash_refuses_a_file_created_during_the_write(tmp_path: Path) -> None:
    target = tmp_path / "f.zarr"
    io = ZarrIO(target, mode="w-")
    root = GroupBuilder("root")
    dataset(root, "mine", np.arange(3.0))
    io.write_builder(root, cache_spec=False)
    _write(target, "theirs")  # another writer publishes first
    with pytest.raises(StoreExistsError, match="created by someone else"):
        io.close()
    assert _names(target) == ["theirs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.zarr"]
