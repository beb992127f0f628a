"""storage_options: every option is honoured by the client that opens the URL, or refused; none is dropped.

Time limits (``timeout``, ``connect_timeout``, ``read_timeout``, ``retries``) reach obstore and s3fs
alike: a server that accepts connections and never answers is tried exactly ``retries + 1`` times.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.build import GroupBuilder
from zarr.storage import LocalStore

from hdmf_zarr.errors import InvalidOptionError
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.remote_options import (
    DEFAULT_RETRY_SECONDS,
    DEFAULT_S3FS_RETRIES,
    fsspec_options,
    obstore_options,
)
from hdmf_zarr.testing.builders import dataset
from support.servers import S3Server, start_http

pytestmark = pytest.mark.xdist_group("s3")
BACKENDS = ["obstore", "fsspec"]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections, counts them and never answers."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.connections:
            conn.close()
        self._sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def _options(endpoint: str, backend: str, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "key": "testing",
        "secret": "testing",
        "region": "us-east-1",
        "backend": backend,
        **extra,
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("retries", [0, 2])
def test_retries_and_timeouts_reach_the_client(silent: SilentServer, backend: str, retries: int) -> None:
    options = _options(f"http://127.0.0.1:{silent.port}", backend, read_timeout=1, retries=retries)
    with pytest.raises(Exception, match=r"127\.0\.0\.1") as info:
        ZarrIO("s3://bucket/file.zarr", mode="r", storage_options=options)
    assert not isinstance(info.value, InvalidOptionError)
    # Each attempt is one connection, cut by read_timeout. Opening asks for two documents at once (the
    # root document and the write mark, lifecycle.py), so each attempt of each may open one.
    assert retries + 1 <= len(silent.connections) <= 2 * (retries + 1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"bogus": 1}, "bogus"),
        ({"timeout_s": 3}, "timeout_s"),
        ({"client_kwargs": {"verify": False, "region_name": "us-east-1"}}, "verify"),
        ({"config_kwargs": {"signature_version": "s3v4"}}, "signature_version"),
    ],
)
def test_options_the_client_cannot_honour_are_refused(
    s3: S3Server, backend: str, extra: dict[str, Any], named: str
) -> None:
    if backend == "fsspec" and named in ("verify", "signature_version"):
        pytest.skip("s3fs passes client_kwargs and config_kwargs to botocore, which honours these")
    options = {**s3.storage_options(backend=backend), **extra}
    with pytest.raises(InvalidOptionError, match=rf"{named}.*not understood by (obstore|s3fs)"):
        ZarrIO(f"s3://{s3.bucket}/refused/f.zarr", mode="w", storage_options=options)
    assert s3.log.snapshot() == {}  # refused before any request


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "extra", [{"timeout": 0}, {"timeout": "5"}, {"connect_timeout": -1}, {"retries": -1}, {"retries": 1.5}]
)
def test_unusable_time_limits_are_refused(s3: S3Server, backend: str, extra: dict[str, Any]) -> None:
    options = {**s3.storage_options(backend=backend), **extra}
    with pytest.raises(InvalidOptionError, match=rf"storage_options\['{next(iter(extra))}'\] must be"):
        ZarrIO(f"s3://{s3.bucket}/limits/f.zarr", mode="w", storage_options=options)


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_limits_and_s3fs_options_work_against_a_live_server(s3: S3Server, backend: str) -> None:
    extra: dict[str, Any] = {"timeout": 30, "connect_timeout": 5, "retries": 3}
    if backend == "fsspec":
        extra["default_fill_cache"] = False  # an s3fs option: s3fs takes it
    options = {**s3.storage_options(backend=backend), **extra}
    url = f"s3://{s3.bucket}/limits-{backend}/f.zarr"
    root = GroupBuilder("root")
    dataset(root, "data", np.arange(5))
    with ZarrIO(url, mode="w", storage_options=options) as io:
        io.write_builder(root, cache_spec=False)
    with ZarrIO(url, mode="r", storage_options=options) as io:
        np.testing.assert_array_equal(io.read_builder().datasets["data"].data[:], np.arange(5))


def test_gcs_and_http_take_only_time_limits() -> None:
    with pytest.raises(InvalidOptionError, match=r"\['key'\].*not understood by obstore"):
        obstore_options("gs://bucket/f.zarr", "gs", {"key": "x"})
    mapped = obstore_options("https://host/f.zarr", "https", {"timeout": 2})
    assert mapped.client_options == {"timeout": dt.timedelta(seconds=2)}
    assert mapped.retry_config == {"retry_timeout": dt.timedelta(seconds=2)}


def test_obstore_gives_up_retrying_after_a_bounded_time_by_default() -> None:
    mapped = obstore_options("s3://bucket/f.zarr", "s3", {"endpoint_url": "http://127.0.0.1:9"})
    assert mapped.retry_config == {"retry_timeout": dt.timedelta(seconds=DEFAULT_RETRY_SECONDS)}
    assert mapped.client_options == {"allow_http": True}


def test_s3fs_time_limits_become_botocore_config() -> None:
    out = fsspec_options(
        "s3://b/f.zarr", "s3", {"timeout": 4, "read_timeout": 9, "retries": 2, "region": "r"}
    )
    assert out == {
        "client_kwargs": {"region_name": "r"},
        "config_kwargs": {
            "connect_timeout": 4.0,
            "read_timeout": 9.0,
            "retries": {"total_max_attempts": 3, "mode": "standard"},
        },
    }


@pytest.mark.parametrize("kind", ["folder", "zip", "store"])
def test_storage_options_for_a_local_target_are_refused(tmp_path: Path, kind: str) -> None:
    target: Any = {
        "folder": tmp_path / "f.zarr",
        "zip": tmp_path / "f.zip",
        "store": LocalStore(tmp_path / "s.zarr"),
    }[kind]
    with pytest.raises(InvalidOptionError, match=r"storage_options \['anon'\] were given for .* not a URL"):
        ZarrIO(target, mode="w", storage_options={"anon": True})
    assert not (tmp_path / "f.zarr").exists()


def test_s3fs_retries_are_bounded_by_default() -> None:
    out = fsspec_options("s3://b/f.zarr", "s3", {"anon": True})
    assert out["config_kwargs"]["retries"] == {
        "total_max_attempts": DEFAULT_S3FS_RETRIES + 1,
        "mode": "standard",
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_http_takes_time_limits_and_refuses_s3_options(tmp_path: Path, backend: str) -> None:
    root = GroupBuilder("root")
    dataset(root, "data", np.arange(4))
    with ZarrIO(tmp_path / "served.zarr", mode="w") as io:
        io.write_builder(root, cache_spec=False)
    for base in start_http(tmp_path):
        url = f"{base}/served.zarr"
        with ZarrIO(url, mode="r", storage_options={"backend": backend, "timeout": 20}) as io:
            np.testing.assert_array_equal(io.read_builder().datasets["data"].data[:], np.arange(4))
        if backend == "obstore":
            with pytest.raises(InvalidOptionError, match=r"\['anon'\].*not understood by obstore"):
                ZarrIO(url, mode="r", storage_options={"anon": True})
