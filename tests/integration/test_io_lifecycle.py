"""The write life cycle: 'w' writes aside and swaps in on close; killed writes leave the old file intact."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import GroupBuilder
from hdmf.data_utils import DataChunkIterator

from hdmf_zarr import ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.cli import main
from hdmf_zarr.errors import InterruptedWriteError, InterruptedWriteWarning, StoreBusyError
from hdmf_zarr.testing.builders import dataset
from support.interrupt import all_succeeded, finish_appenders, run_writer, start_appenders, was_killed


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


# -- interrupted appends: visible, refused by writers, repaired on request --------------------------
def _killed_append(tmp_path: Path) -> Path:
    path = tmp_path / "session.zarr"
    assert run_writer(path, mode="w", name="first").returncode == 0
    killed = run_writer(path, mode="a", name="second", kill_at=4)
    assert was_killed(killed), killed.stderr
    return path


def test_killed_append_is_visible_to_readers(tmp_path: Path) -> None:
    path = _killed_append(tmp_path)
    assert (path / fmt.WRITE_MARK_KEY).is_file()
    assert (path / "second").is_dir()  # what the killed write left
    with pytest.warns(InterruptedWriteWarning, match=r"mode 'a' started at .* was interrupted"):
        names = _names(path)
    assert names == ["first"]  # the last completed write, nothing of the killed one


def test_killed_append_is_refused_by_writers_unless_repaired(tmp_path: Path) -> None:
    path = _killed_append(tmp_path)
    with pytest.raises(InterruptedWriteError, match=r"interrupted write: a write in mode 'a' started at"):
        ZarrIO(path, mode="a")
    with pytest.raises(InterruptedWriteError, match="repair=True"):
        ZarrIO(path, mode="r+")
    assert (path / "second").is_dir()  # refusing changed nothing
    with ZarrIO(path, mode="a", repair=True) as io:
        root = io.read_builder()
        assert sorted(root.datasets) == ["first"]
        dataset(root, "third", np.arange(2.0))
        io.write_builder(root, cache_spec=False)
    assert not (path / "second").exists()
    assert not (path / fmt.WRITE_MARK_KEY).exists()
    assert _names(path) == ["first", "third"]
    with ZarrIO(path, mode="r", consolidated=False) as io:  # a listing sees no leftover either
        assert sorted(io.read_builder().datasets) == ["first", "third"]


def test_info_shows_the_write_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _killed_append(tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"state: interrupted \(a write in mode 'a' started at .* by process \d+", out), out
    assert "repair=True" in out
    with ZarrIO(path, mode="a", repair=True):
        assert main(["info", str(path)]) == 0
        assert "state: being written (a write in mode 'a'" in capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    assert "state: complete" in capsys.readouterr().out


def test_killed_first_write_in_place_holds_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fresh.zarr"
    assert was_killed(run_writer(path, mode="a", name="first", kill_at=3))
    with pytest.raises(InterruptedWriteError, match="holds no completed file"):
        ZarrIO(path, mode="r")
    assert not ZarrIO.can_read(path)
    assert main(["info", str(path)]) == 1
    assert "no completed write" in capsys.readouterr().out
    with pytest.raises(InterruptedWriteError):
        ZarrIO(path, mode="a")
    with ZarrIO(path, mode="a", repair=True) as io:
        root = GroupBuilder("root")
        dataset(root, "again", np.arange(3.0))
        io.write_builder(root, cache_spec=False)
    assert _names(path) == ["again"]
    assert sorted(p.name for p in path.iterdir()) == ["again", "zarr.json"]


def test_w_replaces_an_interrupted_store(tmp_path: Path) -> None:
    path = _killed_append(tmp_path)
    assert run_writer(path, mode="w", name="fresh").returncode == 0
    assert _names(path) == ["fresh"]
    assert not (path / fmt.WRITE_MARK_KEY).exists()


def test_a_failed_append_leaves_no_leftovers_and_no_mark(tmp_path: Path) -> None:
    path = tmp_path / "session.zarr"
    assert run_writer(path, mode="w", name="first").returncode == 0

    def rows() -> Iterator[np.ndarray]:
        yield np.zeros(3)
        raise OSError("the acquisition system went away")

    with ZarrIO(path, mode="a") as io:
        root = io.read_builder()
        dataset(root, "broken", DataChunkIterator(rows(), buffer_size=1))
        with pytest.raises(OSError, match="went away"):
            io.write_builder(root, cache_spec=False)
        root = io.read_builder()
        del root.datasets["broken"]  # the user drops it and writes something else in the same session
        dataset(root, "fine", np.arange(2.0))
        io.write_builder(root, cache_spec=False)
    assert _names(path) == ["fine", "first"]
    assert not (path / "broken").exists()
    assert not (path / fmt.WRITE_MARK_KEY).exists()


# -- writers exclude each other ---------------------------------------------------------------------
def test_a_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "session.zarr"
    assert run_writer(path, mode="w", name="first").returncode == 0
    with ZarrIO(path, mode="a"):
        with pytest.raises(StoreBusyError, match="being written by another process"):
            ZarrIO(path, mode="a", lock_timeout=0)
        with ZarrIO(path, mode="r") as reader:  # readers are never blocked, and see no interruption
            assert sorted(reader.read_builder().datasets) == ["first"]
    with ZarrIO(path, mode="a", lock_timeout=0):
        pass


def test_concurrent_appenders_lose_nothing(tmp_path: Path) -> None:
    """Two processes append at once, 10 trials, each append landing inside the other's write."""
    path = tmp_path / "session.zarr"
    assert run_writer(path, mode="w", name="first").returncode == 0
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = start_appenders(path, sync, trials=10)
    report = finish_appenders(procs)
    assert all_succeeded(procs), report
    expected = ["first", *(f"{role}{i}" for role in ("leader", "follower") for i in range(10))]
    assert _names(path) == sorted(expected), report
    assert not (path / fmt.WRITE_MARK_KEY).exists()
