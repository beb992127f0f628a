"""Plan datasets in the Zarr v2 dialect that hdmf-zarr 0.13 reads (docs/format.md#zarr-v2-dialect).

Layer: write. Scalars are shape-[1] arrays tagged ``zarr_dtype: "scalar"``; text is ``vlen-utf8``
(``vlen-bytes`` for ascii); references are JSON object arrays of four-key records; compounds with text
or reference fields are pickled rows of plain values (0.13 reads nothing else for them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdmf.build import Builder, ReferenceBuilder
from zarr.core.dtype import VariableLengthBytes

from hdmf_zarr import _format as fmt
from hdmf_zarr import dtypes, values
from hdmf_zarr.dataio import default_chunks
from hdmf_zarr.dtypes import Kind, Storage
from hdmf_zarr.legacy.v2write import JSON_CODEC, PICKLE_CODEC, V2_COMPRESSOR, object_array_meta
from hdmf_zarr.write.plan import ArrayPlan, DataKind, PlanContext, target_record, to_values


def _record(value: Any, *, builder: Builder, ctx: PlanContext, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    return target_record(value, builder=builder, ctx=ctx, where=where).to_v2_json()


def _legacy_plan(path: str, arr: np.ndarray, attrs: dict[str, Any], *, dtype: Any, codec: Any) -> ArrayPlan:
    shape = tuple(arr.shape)
    chunks = default_chunks(shape, 64) if shape else ()
    meta = object_array_meta(shape, chunks, dtype=dtype, codec=codec, attributes=attrs)
    return ArrayPlan(
        path, shape, object, dtypes.REFERENCE, attrs, DataKind.LEGACY_OBJECT, arr, {"legacy": meta}
    )


def _references(
    data: Any, attrs: dict[str, Any], *, builder: Builder, ctx: PlanContext, path: str
) -> ArrayPlan:
    # A scalar reference (a ReferenceBuilder is a dict: never iterate it) is one element, with shape [1]
    # and zarr_dtype "object", as 0.13 writes it; v2 cannot tell it from a one-element array.
    scalar = isinstance(data, ReferenceBuilder | Builder) or not (
        isinstance(data, list | tuple | np.ndarray) or hasattr(data, "__len__")
    )
    items = [data] if scalar else data
    records = np.empty(len(items), dtype=object)
    records[:] = [_record(v, builder=builder, ctx=ctx, where=path) for v in items]
    attrs[fmt.V2_DTYPE_ATTR] = fmt.DTYPE_OBJECT
    return _legacy_plan(path, records, attrs, dtype="|O", codec=JSON_CODEC)


def _compound(
    data: Any, storage: Storage, attrs: dict[str, Any], *, builder: Builder, ctx: PlanContext, path: str
) -> ArrayPlan:
    """A compound with text or reference fields: pickled rows (0.13 reads nothing else for them)."""
    rows = to_values(data, storage, builder=builder, ctx=ctx, where=path)  # numbers, text and target paths
    rows = rows.reshape(1) if rows.ndim == 0 else rows
    out = np.empty(rows.shape, dtype=[(f.name, _field_numpy(f)) for f in storage.fields])
    for f in storage.fields:
        column = rows[f.name]
        if f.storage.kind is Kind.REFERENCE:
            refs = np.empty(column.shape, dtype=object)
            refs[:] = [
                fmt.ReferenceRecord(fmt.SAME_STORE_SOURCE, str(p)).to_v2_json() if p else None for p in column
            ]
            out[f.name] = refs
        elif f.storage.kind is Kind.TEXT:
            text = np.empty(column.shape, dtype=object)
            text[:] = [str(v) for v in column]
            out[f.name] = text
        else:
            out[f.name] = column
    attrs.pop(fmt.REFERENCE_FIELDS_ATTR, None)  # a v3 attribute; v2 marks reference fields in zarr_dtype
    attrs[fmt.V2_DTYPE_ATTR] = [
        {"name": spec["name"], "dtype": fmt.DTYPE_OBJECT if spec["dtype"] == "object" else spec["dtype"]}
        for spec in dtypes.field_specs(storage)
    ]
    zdtype = [
        [f.name, "|O" if f.storage.kind is not Kind.NUMERIC else out.dtype[f.name].str]
        for f in storage.fields
    ]
    return _legacy_plan(path, out, attrs, dtype=zdtype, codec=PICKLE_CODEC)


def _field_numpy(f: dtypes.Field) -> Any:
    return f.storage.numpy if f.storage.kind is Kind.NUMERIC else object


def plan_v2_dataset(
    data: Any,
    storage: Storage,
    *,
    builder: Builder,
    ctx: PlanContext,
    path: str,
    attrs: dict[str, Any],
    options: dict[str, Any],
) -> ArrayPlan:
    """The plan that writes one in-memory dataset in the v2 dialect."""
    if storage.kind is Kind.REFERENCE:
        return _references(data, attrs, builder=builder, ctx=ctx, path=path)
    if storage.kind is Kind.COMPOUND:
        if any(f.storage.kind is not Kind.NUMERIC for f in storage.fields):
            return _compound(data, storage, attrs, builder=builder, ctx=ctx, path=path)
        attrs.pop(fmt.REFERENCE_FIELDS_ATTR, None)  # numbers only: a plain struct array
        attrs[fmt.V2_DTYPE_ATTR] = dtypes.field_specs(storage)  # as 0.13 writes a struct of numbers
    arr = to_values(data, storage, builder=builder, ctx=ctx, where=path)
    if arr.ndim == 0:
        arr = arr.reshape(1)
        attrs[fmt.V2_DTYPE_ATTR] = fmt.DTYPE_SCALAR_V2
    zdtype: Any = arr.dtype
    if storage.kind is Kind.TEXT:
        zdtype = VariableLengthBytes() if storage.ascii else str  # v2: vlen-bytes / vlen-utf8
        if storage.ascii:
            arr = np.asarray(
                [values.as_text(v).encode("utf-8") for v in arr.reshape(-1)], dtype=object
            ).reshape(arr.shape)
    opts = dict(options)
    if opts.get("chunks") in (None, True):
        itemsize = arr.dtype.itemsize if arr.dtype.kind != "O" else 64
        opts["chunks"] = default_chunks(arr.shape, itemsize)
    opts.setdefault("compressors", V2_COMPRESSOR)
    return ArrayPlan(path, tuple(arr.shape), zdtype, storage, attrs, DataKind.VALUES, arr, opts)
