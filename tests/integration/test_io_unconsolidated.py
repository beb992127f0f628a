"""Stores without consolidated metadata open by listing (with a warning naming the cost); plain arrays and
bad zip files are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from content.cases import assert_equal, build
from hdmf_zarr import NWBZarrIO, ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import FormatError, NoConsolidatedMetadataWarning, StoreError, StoreNotFoundError
from support.servers import S3Server, upload_folder

CASE = "nwb_ecephys"


def _unconsolidated(path: Path, zarr_format: int) -> Path:
    with NWBZarrIO(path, mode="w", zarr_format=zarr_format) as io:  # type: ignore[arg-type]
        io.write(build(CASE)[0])
    if zarr_format == 3:
        root = json.loads((path / fmt.V3_METADATA_KEY).read_text())
        del root["consolidated_metadata"]
        (path / fmt.V3_METADATA_KEY).write_text(json.dumps(root))
    else:
        (path / fmt.V2_CONSOLIDATED_KEY).unlink()
    return path


def _read(path: Path | str, **kwargs: object) -> None:
    with pytest.warns(NoConsolidatedMetadataWarning, match="one request per group and array"):
        io = NWBZarrIO(path, mode="r", **kwargs)  # type: ignore[arg-type]
    with io:
        expected, _ = build(CASE, expected=True)
        assert_equal(expected, io.read())


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_a_store_without_consolidated_metadata_opens_by_listing(tmp_path: Path, zarr_format: int) -> None:
    path = _unconsolidated(tmp_path / "f.nwb.zarr", zarr_format)
    _read(path)
    _read(path, consolidated=False)
    with NWBZarrIO(path, mode="a") as io:  # what the warning advises: one write consolidates it
        io.write(io.read())
    with NWBZarrIO(path, mode="r") as io:  # no warning any more (our warnings are errors in tests)
        assert io.read().identifier == "interop-ecephys"


@pytest.mark.xdist_group("s3")
def test_a_store_without_consolidated_metadata_opens_on_s3(tmp_path: Path, s3: S3Server) -> None:
    path = _unconsolidated(tmp_path / "f.nwb.zarr", 3)
    upload_folder(s3, path, "unconsolidated/f.nwb.zarr")
    _read(f"s3://{s3.bucket}/unconsolidated/f.nwb.zarr", storage_options=s3.storage_options())


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_a_plain_array_is_refused_clearly(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "array.zarr"
    zarr.create_array(path, data=np.arange(3), zarr_format=zarr_format)  # type: ignore[arg-type]
    error = FormatError if zarr_format == 3 else StoreNotFoundError
    with pytest.raises(error, match=r"holds a Zarr (v2 )?array, not a group.*zarr\.open_array"):
        ZarrIO(path, mode="r")
    assert not ZarrIO.can_read(path)


def test_a_bad_zip_is_not_readable(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"not a zip at all")
    assert not ZarrIO.can_read(path)
    with pytest.raises(StoreError, match="not a readable zip file"):
        ZarrIO(path, mode="r")
