"""dtypes: spec tokens, numpy dtypes, stored tokens and compound field lists map consistently."""

from __future__ import annotations

import numpy as np
import pytest
from hdmf.build import GroupBuilder, ReferenceBuilder
from hdmf.spec import RefSpec
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hdmf_zarr import dtypes
from hdmf_zarr.dtypes import Kind
from hdmf_zarr.errors import UnsupportedValueError

numeric_tokens = st.sampled_from(sorted(dtypes.NUMERIC_TOKENS))
text_tokens = st.sampled_from(sorted(dtypes.TEXT_TOKENS))
reference_tokens = st.sampled_from(sorted(dtypes.REFERENCE_TOKENS))
numeric_numpy = hnp.scalar_dtypes().filter(lambda d: d.kind in "biuf" and d.itemsize <= 8)
field_tokens = st.one_of(numeric_tokens, text_tokens, reference_tokens)
compound_specs = st.lists(
    st.tuples(st.text(alphabet="abcxyz_", min_size=1, max_size=6), field_tokens),
    min_size=1,
    max_size=5,
    unique_by=lambda f: f[0],
).map(lambda fields: [{"name": n, "dtype": t} for n, t in fields])


@given(numeric_tokens)
def test_numeric_tokens_map_to_their_numpy_dtype(token: str) -> None:
    storage = dtypes.from_spec(token)
    assert storage is not None
    assert storage.kind is Kind.NUMERIC
    assert storage.numpy == np.dtype(dtypes.NUMERIC_TOKENS[token])


@given(st.one_of(numeric_tokens, text_tokens, reference_tokens))
def test_stored_token_reads_back_as_the_same_storage(token: str) -> None:
    storage = dtypes.from_spec(token)
    assert storage is not None
    assert dtypes.storage_from_token(storage.token, storage.numpy) == storage


@given(text_tokens)
def test_text_tokens_are_text_and_ascii_is_flagged(token: str) -> None:
    storage = dtypes.from_spec(token)
    assert storage is not None
    assert storage.kind is Kind.TEXT
    assert storage.ascii == (token in ("ascii", "bytes"))


@given(reference_tokens)
def test_reference_tokens_are_references(token: str) -> None:
    assert dtypes.from_spec(token) == dtypes.REFERENCE


def test_refspec_is_a_reference() -> None:
    assert dtypes.from_spec(RefSpec("Container", "object")) == dtypes.REFERENCE


@given(numeric_numpy)
def test_numpy_dtypes_and_arrays_infer_the_same_storage(dtype: np.dtype) -> None:  # type: ignore[type-arg]
    storage = dtypes.from_spec(dtype)
    assert storage == dtypes.numeric(dtype)
    assert dtypes.infer(np.zeros(3, dtype=dtype)) == storage


@given(compound_specs)
def test_compound_field_specs_round_trip(spec: list[dict[str, str]]) -> None:
    storage = dtypes.from_spec(spec)
    assert storage is not None
    assert storage.kind is Kind.COMPOUND
    assert dtypes.names_of(storage.fields) == [f["name"] for f in spec]
    assert dtypes.from_spec(dtypes.field_specs(storage)) == storage
    structured = dtypes.compound_numpy(storage)
    assert structured.names == tuple(f["name"] for f in spec)
    for f in storage.fields:
        sub = structured.fields[f.name][0]  # type: ignore[index]
        if f.storage.kind is Kind.NUMERIC:
            assert sub == f.storage.numpy
        else:
            assert sub.kind == "U"
            assert sub.itemsize // 4 >= 512  # v3 fixed_length_utf32 of at least 512 characters
    assert set(storage.reference_fields) == {f["name"] for f in spec if f["dtype"] in dtypes.REFERENCE_TOKENS}


@given(st.lists(st.text(), min_size=1, max_size=3))
def test_text_data_infers_text(items: list[str]) -> None:
    assert dtypes.infer(items) == dtypes.TEXT


@given(st.lists(st.binary(), min_size=1, max_size=3))
def test_bytes_data_infers_ascii(items: list[bytes]) -> None:
    assert dtypes.infer(items) == dtypes.ASCII


def test_references_and_bools_infer() -> None:
    target = GroupBuilder("g")
    assert dtypes.infer([ReferenceBuilder(target)]) == dtypes.REFERENCE
    assert dtypes.infer(ReferenceBuilder(target)) == dtypes.REFERENCE
    assert dtypes.infer([True, False]) == dtypes.numeric("bool")
    assert dtypes.infer([]) == dtypes.numeric("float64")
    assert dtypes.infer([[1, 2], [3, 4]]) == dtypes.numeric(np.asarray(1).dtype)


def test_compound_without_declared_dtype_is_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="declared dtype"):
        dtypes.infer([(1, 2.0)])


@pytest.mark.parametrize("bad", ["no-such-type", 3.5, [{"name": "x"}]])
def test_unknown_dtypes_are_refused(bad: object) -> None:
    with pytest.raises(UnsupportedValueError, match="dtype"):
        dtypes.from_spec(bad)
