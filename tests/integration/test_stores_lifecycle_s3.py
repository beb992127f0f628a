"""Write life cycle on S3 (moto on 127.0.0.1): the mark excludes writers (conditional put), shows
interrupted writes, and repair drops their leftovers; 'w' replaces only with force_overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import GroupBuilder

from hdmf_zarr import ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import InterruptedWriteWarning, StoreBusyError, StoreExistsError
from hdmf_zarr.testing.builders import dataset
from support.interrupt import all_succeeded, finish_appenders, run_writer, start_appenders, was_killed
from support.servers import S3Server

pytestmark = pytest.mark.xdist_group("s3")
BACKENDS = ["obstore", "fsspec"]


def _write(url: str, options: dict[str, object], name: str, mode: str = "w", **kwargs: object) -> None:
    with ZarrIO(url, mode=mode, storage_options=options, **kwargs) as io:  # type: ignore[arg-type]
        root = io.read_builder() if mode in ("a", "r+") else GroupBuilder("root")
        dataset(root, name, np.arange(4.0))
        io.write_builder(root, cache_spec=False)


def _names(url: str, options: dict[str, object]) -> list[str]:
    with ZarrIO(url, mode="r", storage_options=options) as io:
        return sorted(io.read_builder().datasets)


def _keys(s3: S3Server, prefix: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=prefix + "/")
    return sorted(item["Key"][len(prefix) + 1 :] for item in listed.get("Contents", []))


def test_the_mark_is_a_conditional_put_a_second_writer_waits_then_fails(s3: S3Server) -> None:
    url = f"s3://{s3.bucket}/busy/session.zarr"
    options = s3.storage_options(backend="obstore")
    _write(url, options, "first")
    with ZarrIO(url, mode="a", storage_options=options):
        assert fmt.WRITE_MARK_KEY in _keys(s3, "busy/session.zarr")
        with pytest.raises(StoreBusyError, match=r"being written: a write in mode 'a'"):
            ZarrIO(url, mode="a", storage_options=options, lock_timeout=0)
        with pytest.warns(InterruptedWriteWarning, match="still running or was interrupted"):
            assert _names(url, options) == ["first"]  # readers are not blocked
    assert fmt.WRITE_MARK_KEY not in _keys(s3, "busy/session.zarr")
    _write(url, options, "second", mode="a", lock_timeout=0)
    assert _names(url, options) == ["first", "second"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_append_on_s3_is_refused_then_repaired(s3: S3Server, backend: str) -> None:
    prefix = f"killed-{backend}/session.zarr"
    url = f"s3://{s3.bucket}/{prefix}"
    options = s3.storage_options(backend=backend)
    _write(url, options, "first")
    killed = run_writer(url, mode="a", name="second", kill_at=4, storage_options=json.dumps(options))
    assert was_killed(killed), killed.stderr
    assert any(k.startswith("second/") for k in _keys(s3, prefix))
    with pytest.warns(InterruptedWriteWarning):
        assert _names(url, options) == ["first"]
    with pytest.raises(StoreBusyError, match="repair=True"):
        ZarrIO(url, mode="a", storage_options=options, lock_timeout=0)
    _write(url, options, "third", mode="a", repair=True)
    assert _names(url, options) == ["first", "third"]
    keys = _keys(s3, prefix)
    assert not any(k.startswith("second/") for k in keys)
    assert fmt.WRITE_MARK_KEY not in keys


def test_w_on_s3_replaces_only_with_force_overwrite(s3: S3Server) -> None:
    url = f"s3://{s3.bucket}/replace/session.zarr"
    options = s3.storage_options()
    _write(url, options, "first")
    with pytest.raises(StoreExistsError, match="cannot swap a new file in atomically"):
        ZarrIO(url, mode="w", storage_options=options)
    assert _names(url, options) == ["first"]
    _write(url, options, "second", force_overwrite=True)
    assert _names(url, options) == ["second"]
    assert not any(k.startswith("first/") for k in _keys(s3, "replace/session.zarr"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_one_writer_takes_the_mark(s3: S3Server, backend: str) -> None:
    """The mark is created only if absent (If-None-Match: moto answers 412 to the second put)."""
    from hdmf_zarr.lifecycle import _put_mark, new_mark
    from hdmf_zarr.remote import open_url

    options = s3.storage_options(backend=backend)
    store = open_url(f"s3://{s3.bucket}/race-{backend}/s.zarr", options, read_only=False)
    first, second = new_mark("a"), new_mark("a")
    assert _put_mark(store, first, exclusive=True, where="test")
    s3.log.reset()
    assert not _put_mark(store, second, exclusive=True, where="test")
    # The second writer did put its mark (no check-then-write race), and the store refused it.
    assert s3.log.snapshot().get("PUT", 0) == 1


def test_concurrent_appenders_on_s3_lose_nothing(s3: S3Server, tmp_path: Path) -> None:
    """Two processes append to one S3 store, 3 trials, each append landing inside the other's write."""
    url = f"s3://{s3.bucket}/concurrent/session.zarr"
    options = s3.storage_options(backend="obstore")
    _write(url, options, "first")
    # The test checks that nothing is lost, not how fast: on a loaded machine (moto answers from this
    # process) the appenders get generous request limits; they wait up to 600 s for each other's mark.
    slow = json.dumps({**options, "timeout": 300})
    procs = start_appenders(url, tmp_path, trials=3, storage_options=slow)
    report = finish_appenders(procs)
    assert all_succeeded(procs), report
    expected = ["first", *(f"{role}{i}" for role in ("leader", "follower") for i in range(3))]
    assert _names(url, options) == sorted(expected), report
    assert fmt.WRITE_MARK_KEY not in _keys(s3, "concurrent/session.zarr")
