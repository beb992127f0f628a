"""Opening and reading a file from S3 costs a bounded, small number of requests and never lists.

The counts come from a WSGI middleware in front of a real S3 endpoint (moto) that also adds 20 ms
to every request, so that requests made one after another would show up as time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from content.cases import build
from hdmf_zarr import NWBZarrIO
from support.servers import S3Server

pytestmark = pytest.mark.xdist_group("s3")

#: The root document, nothing per scalar (their values are in the metadata), and the small arrays pynwb
#: reads while constructing (table ids, file_create_date, experimenter, ...): 11 for this file (24 before
#: scalars were marked _VALUE_IN_FILL).
MAX_GETS = 12


def _spec_documents(url: str, storage_options: dict[str, object]) -> int:
    """How many cached spec documents the file holds: each is one chunk, fetched concurrently at open."""
    from hdmf_zarr.transfer.specs import zarr_documents

    with NWBZarrIO(url, mode="r", storage_options=storage_options) as io:
        return sum(len(docs) for docs in zarr_documents(io.file).values())


def test_open_and_read_from_s3_is_a_handful_of_gets_and_no_list(s3: S3Server, tmp_path: Path) -> None:
    url = f"s3://{s3.bucket}/requests/session.nwb.zarr"
    with NWBZarrIO(url, mode="w", storage_options=s3.storage_options()) as io:
        io.write(build("nwb_ecephys")[0])
    documents = _spec_documents(url, s3.storage_options())
    s3.log.reset(latency_ms=20)
    with NWBZarrIO(url, mode="r", storage_options=s3.storage_options(backend="obstore")) as io:
        nwb = io.read()
        assert nwb.identifier == "interop-ecephys"
    counts = s3.log.snapshot()
    assert counts.get("LIST", 0) == 0, counts
    # The spec documents are stored once, compressed, as chunks (docs/format.md#specification-cache).
    assert 0 < counts.get("GET", 0) <= MAX_GETS + documents, counts
    assert set(counts) <= {"GET", "HEAD"}, counts


def test_reading_a_slice_fetches_only_its_chunks(s3: S3Server) -> None:
    import numpy as np

    from hdmf_zarr import ZarrDataIO

    url = f"s3://{s3.bucket}/requests/slice.nwb.zarr"
    nwb = build("nwb_ecephys")[0]
    from pynwb import TimeSeries

    nwb.add_acquisition(
        TimeSeries(name="long", data=ZarrDataIO(np.arange(10_000.0), chunks=(1_000,)), unit="u", rate=1.0)
    )
    with NWBZarrIO(url, mode="w", storage_options=s3.storage_options()) as io:
        io.write(nwb)
    with NWBZarrIO(url, mode="r", storage_options=s3.storage_options()) as io:
        data = io.read().acquisition["long"].data
        s3.log.reset()
        np.testing.assert_array_equal(data[2_500:3_500], np.arange(2_500.0, 3_500.0))
        assert s3.log.snapshot() == {"GET": 2}  # chunks 2 and 3, nothing else
