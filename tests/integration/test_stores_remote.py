"""NWB files in a real S3 endpoint (moto on 127.0.0.1), through obstore and through s3fs, and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pynwb
import pytest
from pynwb import TimeSeries

from content.cases import assert_equal, build
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import ReadOnlyStoreError, StoreExistsError
from support.servers import S3Server, start_http

pytestmark = pytest.mark.xdist_group("s3")
BACKENDS = ["obstore", "fsspec"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_write_append_read_on_s3(s3: S3Server, backend: str) -> None:
    url = f"s3://{s3.bucket}/{backend}/session.nwb.zarr"
    options = s3.storage_options(backend=backend)
    container, _ = build("nwb_ecephys")
    with NWBZarrIO(url, mode="w", storage_options=options) as io:
        io.write(container)
    with pytest.raises(StoreExistsError, match="Nothing was deleted"):
        NWBZarrIO(url, mode="w", storage_options=options)
    with NWBZarrIO(url, mode="a", storage_options=options) as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="added", data=np.arange(3.0), unit="u", rate=1.0))
        io.write(nwb)
    expected, _ = build("nwb_ecephys", expected=True)
    expected.add_acquisition(TimeSeries(name="added", data=np.arange(3.0), unit="u", rate=1.0))
    with NWBZarrIO(url, mode="r", storage_options=options) as io:
        assert_equal(expected, io.read())


def test_force_overwrite_on_s3_replaces_only_that_store(s3: S3Server) -> None:
    options = s3.storage_options()
    keep = f"s3://{s3.bucket}/keep/other.nwb.zarr"
    target = f"s3://{s3.bucket}/keep/target.nwb.zarr"
    for url in (keep, target):
        with NWBZarrIO(url, mode="w", storage_options=options) as io:
            io.write(build("nwb_ecephys")[0])
    with NWBZarrIO(target, mode="w", storage_options=options, force_overwrite=True) as io:
        io.write(build("nwb_ecephys")[0])
    with NWBZarrIO(keep, mode="r", storage_options=options) as io:
        assert io.read().identifier == "interop-ecephys"


def test_external_link_between_two_stores_in_one_bucket(s3: S3Server) -> None:
    """A file links a dataset of another file beside it; the relative source resolves in the bucket."""
    options = s3.storage_options()
    base = f"s3://{s3.bucket}/pair"
    with NWBZarrIO(f"{base}/a.nwb.zarr", mode="w", storage_options=options) as io:
        io.write(build("nwb_ecephys")[0])
    from hdmf_zarr import ZarrDataIO

    with NWBZarrIO(f"{base}/a.nwb.zarr", mode="r", storage_options=options) as src:
        source_data = src.read().acquisition["ts"].data
        nwb = build("nwb_ecephys")[0]
        nwb.add_acquisition(
            TimeSeries(name="external", data=ZarrDataIO(source_data, link_data=True), unit="m", rate=1.0)
        )
        with NWBZarrIO(f"{base}/b.nwb.zarr", mode="w", storage_options=options) as io:
            io.write(nwb)
    with NWBZarrIO(f"{base}/b.nwb.zarr", mode="r", storage_options=options) as io:
        np.testing.assert_array_equal(io.read().acquisition["external"].data[:], np.linspace(0.0, 1.0, 20))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "www"
    folder.mkdir()
    with NWBZarrIO(folder / "session.nwb.zarr", mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    yield from ((base, folder) for base in start_http(folder))


def test_http_is_read_only_and_readable(served: tuple[str, Path]) -> None:
    base, _ = served
    url = f"{base}/session.nwb.zarr"
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        NWBZarrIO(url, mode="a")
    expected, _ = build("nwb_ecephys", expected=True)
    with NWBZarrIO(url, mode="r") as io:
        assert_equal(expected, io.read())
    assert pynwb.read_nwb(url).identifier == "interop-ecephys"


def test_read_nwb_on_s3_url(s3: S3Server) -> None:
    url = f"s3://{s3.bucket}/readnwb/session.nwb.zarr"
    with NWBZarrIO(url, mode="w", storage_options=s3.storage_options()) as io:
        io.write(build("nwb_ecephys")[0])
    nwb = NWBZarrIO.read_nwb(url, storage_options=s3.storage_options())
    assert nwb.identifier == "interop-ecephys"
