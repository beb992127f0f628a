"""Links and references follow relative stores by default; URLs and absolute paths only by consent."""

from __future__ import annotations

import pytest

from hdmf_zarr.errors import SourceNotAllowedError, UnresolvedReferenceError
from hdmf_zarr.references import allowed_store_source, is_relative_source, source_is_allowed

BASE = "/data/session/main.zarr"


@pytest.mark.parametrize("source", [".", "", "other.zarr", "../raw/other.zarr", "../../x.zarr"])
def test_relative_sources_are_followed_by_default(source: str) -> None:
    assert allowed_store_source(BASE, source, ())


@pytest.mark.parametrize(
    "source",
    [
        "http://127.0.0.1:8000/x.zarr",
        "https://example.org/x.zarr",
        "s3://bucket/x.zarr",
        "gs://bucket/x.zarr",
        "file:///data/x.zarr",
        "/etc",
        "/data/session/raw.zarr",
    ],
)
def test_urls_and_absolute_paths_need_consent(source: str) -> None:
    with pytest.raises(SourceNotAllowedError, match="allowed_sources") as info:
        allowed_store_source(BASE, source, ())
    assert source in str(info.value)
    assert isinstance(info.value, UnresolvedReferenceError)
    assert isinstance(info.value, PermissionError)
    assert allowed_store_source(BASE, source, ("*",))


def test_allow_list_matches_by_prefix_on_a_path_boundary() -> None:
    allowed = ("s3://bucket/data", "/data/session")
    assert allowed_store_source(BASE, "s3://bucket/data/x.zarr", allowed) == "s3://bucket/data/x.zarr"
    assert allowed_store_source(BASE, "/data/session/raw.zarr", allowed) == "/data/session/raw.zarr"
    for refused in ("s3://bucket/database/x.zarr", "s3://other/data/x.zarr", "/data/sessions2/x.zarr"):
        with pytest.raises(SourceNotAllowedError):
            allowed_store_source(BASE, refused, allowed)
    assert source_is_allowed("S3://bucket/data/", ("s3://bucket/data",))


def test_relative_means_no_scheme_and_no_root() -> None:
    assert is_relative_source("a/b.zarr")
    assert not is_relative_source("/a")
    assert not is_relative_source("\\\\server\\share")
    assert not is_relative_source("http://h/x")
