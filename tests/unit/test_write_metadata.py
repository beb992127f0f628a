"""Array metadata made by the writer equals zarr's own reading of the same document, attributes apart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.core.sync import sync

from hdmf_zarr import dtypes
from hdmf_zarr.dataio import default_compressors
from hdmf_zarr.write.execute import array_metadata
from hdmf_zarr.write.plan import ArrayPlan, DataKind

attributes = st.dictionaries(
    st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.lists(st.floats(0, 1)))
)


def _plan(path: str, attrs: dict[str, Any], shape: tuple[int, ...] = (100,)) -> ArrayPlan:
    options = {"chunks": shape, "compressors": default_compressors(), "fill_value": 0.0}
    data = np.zeros(shape)
    return ArrayPlan(
        path, shape, data.dtype, dtypes.numeric(data.dtype), attrs, DataKind.VALUES, data, options
    )


@settings(max_examples=30, deadline=None)
@given(first=attributes, second=attributes, zarr_format=st.sampled_from([2, 3]))
def test_alike_arrays_get_their_own_attributes(
    first: dict[str, Any], second: dict[str, Any], zarr_format: Any
) -> None:
    a = sync(array_metadata(_plan("/a", first), zarr_format))
    b = sync(array_metadata(_plan("/b", second), zarr_format))
    kind = ArrayV2Metadata if zarr_format == 2 else ArrayV3Metadata
    for meta, attrs in ((a, first), (b, second)):
        assert meta.attributes == attrs
        assert meta == kind.from_dict(meta.to_dict())  # the same record zarr reads from the document
    a.attributes["changed"] = 1  # zarr's update_attributes changes the dict in place
    assert "changed" not in b.attributes
    assert "changed" not in first


@pytest.mark.parametrize("shape", [(3,), (4, 5)])
def test_other_shapes_are_other_records(shape: tuple[int, ...]) -> None:
    a = sync(array_metadata(_plan("/a", {}), 3))
    b = sync(array_metadata(_plan("/b", {}, shape), 3))
    assert a.shape == (100,)
    assert b.shape == shape
