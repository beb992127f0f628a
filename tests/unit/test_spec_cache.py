"""spec_cache: version ordering and the document reader."""

from __future__ import annotations

import pytest
from hdmf.common import get_type_map

from hdmf_zarr.errors import FormatError
from hdmf_zarr.spec_cache import DocumentReader, newest_version, spec_documents


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["2.9.0", "2.11.0"], "2.11.0"),
        (["2.11.0", "2.9.0"], "2.11.0"),
        (["1.0.0", "1.0.0rc1"], "1.0.0"),
        (["unversioned", "0.1.0"], "0.1.0"),
        (["None"], "None"),
        (["10.0", "9.99.99"], "10.0"),
    ],
)
def test_newest_version_is_by_version_order(names: list[str], expected: str) -> None:
    assert newest_version(names) == expected


def test_no_version_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        newest_version([])


def test_documents_of_hdmf_common() -> None:
    docs = spec_documents(get_type_map().namespace_catalog)
    versions = dict(docs.keys())
    assert "hdmf-common" in versions
    common = docs[("hdmf-common", versions["hdmf-common"])]
    assert "namespace" in common
    assert any(name.startswith(("base", "table")) for name in common)


def test_a_missing_document_names_the_cache() -> None:
    reader = DocumentReader({"namespace": '{"namespaces": []}'}, source="/file.zarr/specifications/ns")
    assert reader.read_namespace("namespace") == []
    with pytest.raises(FormatError, match=r"specifications/ns.*'types'"):
        reader.read_spec("types")
