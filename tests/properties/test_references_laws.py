"""references: resolve_store_source inverts relative_store_source (local paths and URLs)."""

from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr import _format as fmt
from hdmf_zarr.references import relative_store_source, resolve_store_source

segment = st.text(alphabet="abcdefgh_.-0123", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
parts = st.lists(segment, min_size=1, max_size=4)
local_paths = parts.map(lambda p: "/" + "/".join(p))
schemes = st.sampled_from(["s3", "gs", "https", "memory"])
authorities = st.sampled_from(["bucket", "other-bucket", "host:9000"])


@given(local_paths, local_paths)
def test_local_sources_invert(here: str, there: str) -> None:
    source = relative_store_source(here, there)
    assert not posixpath.isabs(source) or source == there
    assert resolve_store_source(here, source) == posixpath.normpath(there)


@given(local_paths)
def test_same_store_is_dot(here: str) -> None:
    assert relative_store_source(here, here) == fmt.SAME_STORE_SOURCE
    assert resolve_store_source(here, fmt.SAME_STORE_SOURCE) == here
    assert resolve_store_source(here, "") == here


@given(schemes, authorities, parts, parts)
def test_url_sources_in_one_bucket_are_relative_and_invert(
    scheme: str, auth: str, here: list[str], there: list[str]
) -> None:
    base = f"{scheme}://{auth}/" + "/".join(here)
    target = f"{scheme}://{auth}/" + "/".join(there)
    source = relative_store_source(base, target)
    assert "://" not in source or base == target
    assert resolve_store_source(base, source) == target


@given(schemes, parts, parts)
def test_url_sources_across_buckets_stay_absolute(scheme: str, here: list[str], there: list[str]) -> None:
    base = f"{scheme}://bucket/" + "/".join(here)
    target = f"{scheme}://other-bucket/" + "/".join(there)
    assert relative_store_source(base, target) == target
    assert resolve_store_source(base, target) == target


@given(local_paths, schemes, parts)
def test_local_to_url_stays_absolute(here: str, scheme: str, there: list[str]) -> None:
    target = f"{scheme}://bucket/" + "/".join(there)
    assert relative_store_source(here, target) == target
    assert resolve_store_source(here, target) == target


def test_side_by_side_stores() -> None:
    assert relative_store_source("/data/a.zarr", "/data/b.zarr") == "../b.zarr"
    assert resolve_store_source("/data/a.zarr", "../b.zarr") == "/data/b.zarr"
