"""_format: LinkRecord/ReferenceRecord to_json/from_json round trip; attribute encodings of both dialects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import FormatError

text = st.text(min_size=1, max_size=12)
optional = st.one_of(st.none(), text)
links = st.builds(
    fmt.LinkRecord, name=text, source=text, path=text, object_id=optional, source_object_id=optional
)
references = st.builds(
    fmt.ReferenceRecord, source=text, path=text, object_id=optional, source_object_id=optional
)


@given(links)
def test_link_record_round_trip(record: fmt.LinkRecord) -> None:
    stored = json.loads(json.dumps(record.to_json()))
    assert fmt.LinkRecord.from_json(stored, where="/g") == record


@given(references)
def test_reference_record_v2_round_trip(record: fmt.ReferenceRecord) -> None:
    stored = json.loads(json.dumps(record.to_v2_json()))
    assert fmt.ReferenceRecord.from_json(stored, where="/g@a") == record


@given(references)
def test_reference_record_v3_keeps_source_and_path(record: fmt.ReferenceRecord) -> None:
    back = fmt.ReferenceRecord.from_json(json.loads(json.dumps(record.to_json())), where="/g@a")
    assert (back.source, back.path) == (record.source, record.path)


@given(references, st.sampled_from([2, 3]))
def test_reference_attribute_round_trip_in_both_dialects(
    record: fmt.ReferenceRecord, zarr_format: int
) -> None:
    encoded = fmt.encode_reference_attr(record, zarr_format)  # type: ignore[arg-type]
    decoded = fmt.decode_reference_attr(json.loads(json.dumps(encoded)), where="/g@a")
    assert decoded is not None
    assert (decoded.source, decoded.path) == (record.source, record.path)


@given(st.one_of(st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(text, st.integers())))
def test_plain_values_are_not_references(value: object) -> None:
    assert fmt.decode_reference_attr(value, where="/g@a") is None


def test_missing_source_means_this_store() -> None:
    assert fmt.LinkRecord.from_json({"name": "n", "path": "/p"}, where="/g").source == fmt.SAME_STORE_SOURCE


@pytest.mark.parametrize(
    "bad", [{"name": "n"}, {"path": "/p"}, {"name": 3, "path": "/p"}, ["name", "path"], "text"]
)
def test_malformed_link_records_raise_naming_where(bad: object) -> None:
    with pytest.raises(FormatError, match="/the/group"):
        fmt.LinkRecord.from_json(bad, where="/the/group")


def test_malformed_reference_raises_naming_where() -> None:
    with pytest.raises(FormatError, match="/g@attr"):
        fmt.decode_reference_attr({fmt.REFERENCE_KEY: {"source": "."}}, where="/g@attr")


marks = st.builds(
    fmt.WriteMarkRecord,
    mode=st.sampled_from(["a", "r+", "w", "w-"]),
    started=text,
    host=text,
    pid=st.integers(min_value=1, max_value=2**22),
    token=text,
    writer=text,
    conversion_of=optional,
)


@given(marks)
def test_write_mark_round_trip_and_names_a_conversion(record: fmt.WriteMarkRecord) -> None:
    stored = json.loads(json.dumps(record.to_json()))
    assert fmt.WriteMarkRecord.from_json(stored, where="s.zarr") == record
    assert ("conversion_of" in stored) == (record.conversion_of is not None)
    assert record.describe().startswith("a conversion of" if record.conversion_of is not None else "a write")
