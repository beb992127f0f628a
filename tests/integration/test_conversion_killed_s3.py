"""A conversion to S3 killed with SIGKILL mid-way (moto on 127.0.0.1): readers are told the prefix holds no
completed file and how to finish it, ``hdmf-zarr info`` says what happened, and a retry leaves exactly the
objects of one complete file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hdmf_zarr
from hdmf_zarr import NWBZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.cli import main
from hdmf_zarr.errors import InterruptedWriteError, StoreBusyError, StoreExistsError
from hdmf_zarr.lifecycle import process_running
from support.interrupt import conversion_nwbfile, conversion_source, stalled_conversion
from support.servers import S3Server

pytestmark = pytest.mark.xdist_group("s3")


@pytest.fixture
def hdf5_source(tmp_path: Path) -> Path:
    return conversion_source(tmp_path / "src.nwb", "killed", series=2)


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Without --storage-options, the CLI's S3 client takes the endpoint and keys from the environment."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    return s3


def _keys(s3: S3Server, prefix: str) -> list[str]:
    paginator = s3.client().get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=s3.bucket, Prefix=prefix + "/"):
        keys.extend(item["Key"][len(prefix) + 1 :] for item in page.get("Contents", []))
    return sorted(keys)


def _kill_mid_conversion(
    source: Path, url: str, options: dict[str, object], marker: Path, zarr_format: int = 3
) -> None:
    child = stalled_conversion(source, url, marker, storage_options=options, zarr_format=zarr_format)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timed assertion
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the conversion ended before it stored any data: {child.communicate()[1]}")
            assert time.monotonic() < deadline, "the conversion never started storing data"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL


def _assert_complete(url: str, options: dict[str, object]) -> None:
    expected = conversion_nwbfile("killed", series=2)
    with NWBZarrIO(url, "r", storage_options=options) as io:
        read = io.read()
        for name in ("ts", "ts2"):
            np.testing.assert_array_equal(read.acquisition[name].data[:], expected.acquisition[name].data)


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_a_killed_conversion_to_s3_is_never_read_as_complete_and_a_retry_replaces_it(
    s3_env: S3Server, hdf5_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], zarr_format: int
) -> None:
    s3, options = s3_env, s3_env.storage_options()
    prefix = f"killed-v{zarr_format}/out.nwb.zarr"
    url = f"s3://{s3.bucket}/{prefix}"
    _kill_mid_conversion(hdf5_source, url, options, tmp_path / "marker", zarr_format)
    left = _keys(s3, prefix)
    assert fmt.WRITE_MARK_KEY in left  # put first ...
    root_documents = {fmt.V3_METADATA_KEY, fmt.V2_GROUP_KEY, fmt.V2_ATTRS_KEY, fmt.V2_CONSOLIDATED_KEY}
    assert not root_documents & set(left)  # ... and the root documents (written last) never came
    assert any(key.startswith("acquisition/") for key in left)  # the killed run had stored data

    # (a) A reader is told what happened and what to do, and gets no partial file.
    with pytest.raises(InterruptedWriteError) as raised:
        NWBZarrIO(url, "r", storage_options=options)
    message = str(raised.value)
    assert f"a conversion of {str(hdf5_source)!r}" in message
    assert "was interrupted before it finished (its process is gone)" in message
    assert "Run the same conversion again" in message

    # (c) hdmf-zarr info says so too.
    assert main(["info", url]) == 1
    out = capsys.readouterr().out
    assert "no completed write" in out
    assert f"state: interrupted (a conversion of {str(hdf5_source)!r}" in out
    assert "run the same conversion again: it replaces what the interrupted one left" in out

    # (b) The same conversion again, without --force, completes; no object of the killed run is left.
    assert main(["convert", str(hdf5_source), url, "--zarr-format", str(zarr_format)]) == 0
    _assert_complete(url, options)
    clean = f"clean-v{zarr_format}/out.nwb.zarr"
    hdmf_zarr.convert(
        hdf5_source, f"s3://{s3.bucket}/{clean}", storage_options=options, zarr_format=zarr_format
    )
    assert _keys(s3, prefix) == _keys(s3, clean)
    assert fmt.WRITE_MARK_KEY not in _keys(s3, prefix)


def _foreign_leftovers(s3: S3Server, prefix: str, *, host: str = "another-host", pid: int = 4242) -> None:
    """What a conversion killed on another machine leaves: its mark and some chunks, no root document."""
    mark = fmt.WriteMarkRecord("w-", "2026-11-30T12:00:00+00:00", host, pid, "t", "hdmf_zarr", "x.nwb")
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{fmt.WRITE_MARK_KEY}", Body=json.dumps(mark.to_json()))
    client.put_object(Bucket=s3.bucket, Key=f"{prefix}/acquisition/ts/data/c/0/0", Body=b"partial")


def test_leftovers_of_a_conversion_that_may_still_run_are_replaced_only_with_force(
    s3_env: S3Server, hdf5_source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, options = s3_env, s3_env.storage_options()
    prefix = "foreign/out.nwb.zarr"
    url = f"s3://{s3.bucket}/{prefix}"
    _foreign_leftovers(s3, prefix)
    assert main(["info", url]) == 1
    out = capsys.readouterr().out
    assert "state: being written or interrupted (a conversion of 'x.nwb'" in out
    assert "if it is no longer running, run the same conversion again with --force" in out
    with pytest.raises(StoreExistsError, match=r"another-host.*Nothing was deleted.*--force"):
        hdmf_zarr.convert(hdf5_source, url, storage_options=options)
    assert len(_keys(s3, prefix)) == 2  # untouched
    assert main(["convert", str(hdf5_source), url, "--force"]) == 0
    _assert_complete(url, options)
    hdmf_zarr.convert(hdf5_source, f"s3://{s3.bucket}/clean2/out.nwb.zarr", storage_options=options)
    assert _keys(s3, prefix) == _keys(s3, "clean2/out.nwb.zarr")  # the foreign chunk was replaced


def test_a_conversion_still_running_here_is_never_taken_over(s3_env: S3Server, hdf5_source: Path) -> None:
    s3, options = s3_env, s3_env.storage_options()
    prefix = "running/out.nwb.zarr"
    url = f"s3://{s3.bucket}/{prefix}"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        _foreign_leftovers(s3, prefix, host=socket.gethostname(), pid=sleeper.pid)
        for force in (False, True):
            with pytest.raises(StoreBusyError, match=r"still running.*Nothing was deleted"):
                hdmf_zarr.convert(hdf5_source, url, storage_options=options, force_overwrite=force)
        assert len(_keys(s3, prefix)) == 2  # untouched
    finally:
        sleeper.kill()
        sleeper.wait()
    hdmf_zarr.convert(hdf5_source, url, storage_options=options)  # its process is gone: replaced
    _assert_complete(url, options)


def test_process_running_knows_only_this_hosts_processes() -> None:
    here = socket.gethostname()
    mark = fmt.WriteMarkRecord("w-", "now", here, os.getpid(), "t", "hdmf_zarr")
    assert process_running(mark) is True
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = fmt.WriteMarkRecord("w-", "now", here, int(child.stdout), "t", "hdmf_zarr")
    assert process_running(gone) is False  # exited and reaped (a reused id would read as running: safe)
    elsewhere = fmt.WriteMarkRecord("w-", "now", "another-host", os.getpid(), "t", "hdmf_zarr")
    assert process_running(elsewhere) is None
