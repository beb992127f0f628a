"""Turn a builder tree into a write plan: node metadata documents plus the data to put in arrays.

Layer: write. Pure with respect to the store: nothing here writes. The plan is executed by
``write.execute`` serially today and is shaped so that data jobs can run in processes later.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import zarr
from hdmf.build import Builder, DatasetBuilder, GroupBuilder, ReferenceBuilder
from hdmf.data_utils import AbstractDataChunkIterator, DataIO
from hdmf.query import HDMFDataset

from hdmf_zarr import _format as fmt
from hdmf_zarr import dtypes, paths, values
from hdmf_zarr.dataio import ZarrDataIO, default_chunks, default_compressors
from hdmf_zarr.dtypes import Kind, Storage
from hdmf_zarr.errors import CaseCollisionWarning, FormatError, TextEncodingError, UnsupportedValueError
from hdmf_zarr.h5settings import is_h5py_dataset
from hdmf_zarr.references import Here, encode_link, encode_target, reference_target


class DataKind(enum.Enum):
    """What a dataset's data is, which decides how it is written."""

    VALUES = "values"  # in-memory values (numbers, text, references, compound rows)
    LEGACY_OBJECT = "legacy_object"  # a v2 object array (references, compounds) encoded by hdmf_zarr.legacy
    ITERATOR = "iterator"  # an AbstractDataChunkIterator, written chunk by chunk
    ARRAY_LIKE = "array_like"  # a large array-like (zarr, h5py, lazy view), copied block by block
    LINK = "link"  # an existing zarr array linked instead of copied


@dataclass(slots=True)
class ArrayPlan:
    """One array to create and fill."""

    path: str
    shape: tuple[int, ...]
    dtype: Any  # numpy dtype, or ``str`` for variable-length text
    storage: Storage
    attributes: dict[str, Any]
    kind: DataKind
    data: Any  # numpy array (VALUES), iterator, or array-like
    options: dict[str, Any] = field(default_factory=dict)  # zarr.create_array options
    dimension_names: tuple[str, ...] | None = None
    inline: bool = False  # a scalar stored as the fill value of a chunkless 0-d array (no chunk written)


@dataclass(slots=True)
class GroupPlan:
    path: str
    attributes: dict[str, Any]
    exists: bool = False


@dataclass(slots=True)
class WritePlan:
    groups: list[GroupPlan] = field(default_factory=list)
    arrays: list[ArrayPlan] = field(default_factory=list)
    links: dict[str, list[fmt.LinkRecord]] = field(default_factory=dict)  # group path -> records


@dataclass(slots=True)
class PlanContext:
    """What planning needs to know about the destination."""

    here: Here
    zarr_format: fmt.ZarrFormat
    is_written: Callable[[Builder], bool]
    link_data: bool = True
    existing_attrs: Callable[[str], Mapping[str, Any] | None] = lambda _path: None
    export_source: str | None = None  # the source of the file being exported (ZarrIO.export)
    #: Other locations of the destination store (a replacement written aside until close()).
    store_aliases: frozenset[str] = frozenset()


def plan_tree(root: GroupBuilder, ctx: PlanContext) -> WritePlan:
    """Return the plan that writes *root* and everything below it that is not written yet."""
    plan = WritePlan()
    _plan_group(root, paths.ROOT, ctx, plan)
    return plan


def _warn_case_collisions(builder: GroupBuilder, path: str, ctx: PlanContext) -> None:
    """Warn when a new child's key equals a sibling's but for letter case (docs/format.md#names)."""
    seen: dict[str, tuple[str, Builder]] = {}
    for name, child in [*builder.groups.items(), *builder.datasets.items()]:
        folded = paths.encode_name(name).casefold() if paths.is_valid_name(name) else name
        other = seen.setdefault(folded, (name, child))
        if other[1] is not child and not (ctx.is_written(child) and ctx.is_written(other[1])):
            warnings.warn(
                f"{path!r} in {ctx.here.store_url!r} holds {other[0]!r} and {name!r}, which differ only in "
                "letter case: on a case-insensitive filesystem (the macOS and Windows defaults) they are "
                "one folder, so this file cannot be stored or copied there intact. Rename one of them.",
                CaseCollisionWarning,
                stacklevel=2,
            )


def _plan_group(builder: GroupBuilder, path: str, ctx: PlanContext, plan: WritePlan) -> None:
    _warn_case_collisions(builder, path, ctx)
    for name, sub in builder.groups.items():
        _plan_group(sub, paths.child_key(path, name, kind="group", store=ctx.here.store_url), ctx, plan)
    for name, dset in builder.datasets.items():
        if not ctx.is_written(dset):
            _plan_dataset(
                dset, paths.child_key(path, name, kind="dataset", store=ctx.here.store_url), ctx, plan
            )
    for name in builder.links:
        paths.check_name(name, parent=path, kind="link", store=ctx.here.store_url)
    records = [encode_link(link, here=ctx.here) for link in builder.links.values()]
    attrs = encode_attributes(builder, ctx, path)
    existing = ctx.existing_attrs(path) if ctx.is_written(builder) else None
    if existing is not None:
        old_links = [fmt.LinkRecord.from_json(r, where=path) for r in existing.get(links_attr(ctx), [])]
        records = _merge_links(old_links, records)
        # Builders never carry the spec-cache location: an update of the root keeps the stored one.
        if fmt.SPECLOC_ATTR in existing:
            attrs[fmt.SPECLOC_ATTR] = existing[fmt.SPECLOC_ATTR]
    if records:
        attrs[links_attr(ctx)] = [r.to_json() for r in records]
    if existing is None or not values.json_equal(dict(existing), attrs):
        plan.groups.append(GroupPlan(path, attrs, exists=existing is not None))


def _merge_links(old: list[fmt.LinkRecord], new: list[fmt.LinkRecord]) -> list[fmt.LinkRecord]:
    merged = {r.name: r for r in old}
    merged.update({r.name: r for r in new})
    return list(merged.values())


def links_attr(ctx: PlanContext) -> str:
    return fmt.V2_LINKS_ATTR if ctx.zarr_format == 2 else fmt.LINKS_ATTR


def dtype_attr(ctx: PlanContext) -> str:
    return fmt.V2_DTYPE_ATTR if ctx.zarr_format == 2 else fmt.DTYPE_ATTR


def encode_attributes(builder: Builder, ctx: PlanContext, path: str) -> dict[str, Any]:
    """Return the builder's attributes as JSON, references as records (docs/format.md#attributes)."""
    out: dict[str, Any] = {}
    for key, value in builder.attributes.items():
        if value is None:
            continue
        where = f"{path}@{key}"
        stored = paths.encode_attr_name(key)  # a name the convention reserves is stored escaped
        if isinstance(value, ReferenceBuilder | Builder):
            record = encode_target(reference_target(value), referrer=builder, here=ctx.here)
            out[stored] = fmt.encode_reference_attr(record, ctx.zarr_format)
        else:
            out[stored] = _plain_value(values.encode_attribute(value, where=where), where=where)
    if path != paths.ROOT and paths.is_shortened(builder.name):
        out[fmt.NAME_ATTR] = builder.name  # the key keeps only a prefix of a name this long
    return out


def _plain_value(encoded: Any, *, where: str) -> Any:
    """Refuse a mapping that a reader would take for a stored object reference (docs/format.md#attributes)."""
    try:
        looks_like_reference = fmt.decode_reference_attr(encoded, where=where) is not None
    except FormatError:
        looks_like_reference = True
    if looks_like_reference:
        raise UnsupportedValueError(
            f"The attribute {where!r} holds the mapping {encoded!r}, which reads back as a stored object "
            f"reference (the keys {sorted(encoded)!r} are reserved there). Store a ReferenceBuilder for a "
            "reference, or rename the keys."
        )
    return encoded


# -- datasets ---------------------------------------------------------------------------------------


def _unwrap(data: Any) -> tuple[Any, dict[str, Any], bool | None]:
    """Return (inner data, zarr options, link_data) for data possibly wrapped in a DataIO.

    ``link_data`` is None when the data does not say (then the write's ``link_data`` decides).
    """
    if isinstance(data, ZarrDataIO):
        return data.data, data.io_settings, data.link_data
    if isinstance(data, DataIO):
        return data.data, {}, None
    if is_h5py_dataset(data):  # HDF5 -> Zarr: keep the dataset's chunking and compression
        return data, ZarrDataIO.from_h5py_dataset(data).io_settings, None
    return data, {}, None


def _plan_dataset(builder: DatasetBuilder, path: str, ctx: PlanContext, plan: WritePlan) -> None:
    data, options, link_data = _unwrap(builder.data)
    if ctx.zarr_format == 2 and "compressors" not in options:
        from hdmf_zarr.legacy.v2write import V2_COMPRESSOR

        options = {**options, "compressors": V2_COMPRESSOR}  # what hdmf-zarr 0.13 wrote by default
    attrs = encode_attributes(builder, ctx, path)
    # A ZarrDataIO's own link_data wins (link_data=False copies), as H5DataIO's does in HDF5IO.
    if link_data is None:  # a zarr array of this or another store is linked, as h5py datasets are in HDF5IO
        link_data = ctx.link_data and isinstance(data, zarr.Array)
    if isinstance(data, zarr.Array) and link_data and _planned_as_link(data, builder, path, ctx, plan):
        return
    dims = tuple(builder.dimension_labels) if getattr(builder, "dimension_labels", None) else None
    if dims:
        attrs[fmt.DIMENSIONS_ATTR] = list(dims)
    if isinstance(data, AbstractDataChunkIterator):
        plan.arrays.append(_iterator_plan(builder, data, path, attrs, options, dims, ctx))
        return
    storage = _storage_for(builder, data)
    attrs[dtype_attr(ctx)] = storage.token
    if storage.kind is Kind.COMPOUND and storage.reference_fields:
        attrs[fmt.REFERENCE_FIELDS_ATTR] = list(storage.reference_fields)
    if _is_large_array_like(data) and storage.kind is Kind.NUMERIC:
        plan.arrays.append(_array_like_plan(data, storage, path, attrs, options, dims))
        return
    if ctx.zarr_format == 2:
        from hdmf_zarr.write.v2 import plan_v2_dataset

        plan.arrays.append(
            plan_v2_dataset(data, storage, builder=builder, ctx=ctx, path=path, attrs=attrs, options=options)
        )
        return
    values_ = to_values(data, storage, builder=builder, ctx=ctx, where=path)
    plan.arrays.append(_values_plan(values_, storage, path, attrs, options, dims))


_OWN_ARRAY: Final = fmt.LinkRecord(name="", source=fmt.SAME_STORE_SOURCE, path="")


def _planned_as_link(
    data: zarr.Array, builder: DatasetBuilder, path: str, ctx: PlanContext, plan: WritePlan
) -> bool:
    """Plan *data* at *path* as a link (or leave the array that is already there); False: copy it."""
    record = _link_to_array(data, builder, path, ctx)
    if record is None:
        return False
    if record is not _OWN_ARRAY:
        plan.links.setdefault(paths.parent(path), []).append(record)
    return True


def _link_to_array(
    data: zarr.Array, builder: DatasetBuilder, path: str, ctx: PlanContext
) -> fmt.LinkRecord | None:
    """The link that stands for *data* at *path*, None to copy it, or ``_OWN_ARRAY`` to leave it.

    As HDF5IO does for h5py datasets: an array of this file (or of the file being exported) at another
    path becomes a soft link, the one at the same path is copied on export (left alone otherwise), and
    an array of another store becomes an external link.
    """
    from hdmf_zarr.references import relative_store_source
    from hdmf_zarr.store import describe_source

    target_url = describe_source(data.store)
    target = paths.normalise(data.path)
    here = ctx.here
    if target_url == here.store_url or target_url in ctx.store_aliases:
        same = target == path
        return (
            _OWN_ARRAY
            if same
            else fmt.LinkRecord(name=builder.name, source=fmt.SAME_STORE_SOURCE, path=target)
        )
    # Exporting: hdmf's HDMFIO makes a source that is not an http(s)/s3 URL absolute, so both
    # spellings are compared.
    exporting = ctx.export_source is not None
    if exporting and target == path:
        return None  # the exported dataset's own data
    if exporting and ctx.export_source in (target_url, os.path.abspath(target_url)):
        return fmt.LinkRecord(name=builder.name, source=fmt.SAME_STORE_SOURCE, path=target)
    source = relative_store_source(here.store_url, target_url)
    return fmt.LinkRecord(name=builder.name, source=source, path=target)


def _storage_for(builder: DatasetBuilder, data: Any) -> Storage:
    declared = dtypes.from_spec(builder.dtype)
    if declared is not None:
        if declared.kind is Kind.NUMERIC and _looks_like_text(data):
            return dtypes.TEXT  # a text spec resolved to a numeric default by hdmf; trust the data
        return declared
    return dtypes.infer(data)


def _looks_like_text(data: Any) -> bool:
    sample = dtypes.first_element(data)
    return isinstance(sample, str | bytes) and not isinstance(data, np.ndarray | zarr.Array)


def _is_large_array_like(data: Any) -> bool:
    if isinstance(data, np.ndarray | list | tuple | str | bytes) or np.isscalar(data):
        return False
    return hasattr(data, "shape") and hasattr(data, "dtype") and hasattr(data, "__getitem__")


def to_values(data: Any, storage: Storage, *, builder: Builder, ctx: PlanContext, where: str) -> np.ndarray:
    """Return *data* as the numpy array that is stored (references as paths, text as str objects)."""
    match storage.kind:
        case Kind.REFERENCE:
            return _reference_paths(data, builder=builder, ctx=ctx, where=where)
        case Kind.TEXT:
            try:
                return values.text_array(_materialise(data))
            except UnicodeDecodeError as exc:
                raise TextEncodingError(
                    f"Dataset {where!r} holds bytes that are not UTF-8 ({exc}); Zarr text is UTF-8. "
                    "Decode them first (e.g. bytes.decode('latin-1')) or store them as uint8."
                ) from exc
        case Kind.COMPOUND:
            return _compound_rows(data, storage, builder=builder, ctx=ctx, where=where)
    assert storage.numpy is not None
    arr = np.asarray(_materialise(data))
    if arr.dtype.kind in "OUS" and storage.numpy.kind != "O":
        raise UnsupportedValueError(
            f"Dataset {where!r} is declared {storage.numpy} but holds {arr.dtype} values such as "
            f"{dtypes.first_element(arr)!r}; convert the data or fix the spec dtype."
        )
    return arr.astype(storage.numpy, copy=False)


def _materialise(data: Any) -> Any:
    if isinstance(data, HDMFDataset):
        return data[:]
    if isinstance(data, zarr.Array):
        return data[...]
    if hasattr(data, "shape") and hasattr(data, "__getitem__") and not isinstance(data, np.ndarray | list):
        return data[()] if data.shape == () else data[:]
    return data


def _target_path(value: Any, *, builder: Builder, ctx: PlanContext, where: str) -> str:
    if value is None:
        return ""
    return target_record(value, builder=builder, ctx=ctx, where=where).path


def target_record(value: Any, *, builder: Builder, ctx: PlanContext, where: str) -> fmt.ReferenceRecord:
    """The record of one element of a reference dataset; the target must be in the same store."""
    if not isinstance(value, ReferenceBuilder | Builder):
        raise UnsupportedValueError(f"Dataset {where!r} holds references, but one element is {value!r}.")
    record = encode_target(reference_target(value), referrer=builder, here=ctx.here)
    if record.source != fmt.SAME_STORE_SOURCE:
        raise UnsupportedValueError(
            f"Dataset {where!r} refers to {record.path!r} in another store ({record.source!r}); "
            "references in datasets must point into the same file. "
            "Export with link_data=False to copy the target in."
        )
    return record


def _reference_paths(data: Any, *, builder: Builder, ctx: PlanContext, where: str) -> np.ndarray:
    if isinstance(data, ReferenceBuilder | Builder):
        return np.asarray(_target_path(data, builder=builder, ctx=ctx, where=where), dtype=object)
    items = list(data)
    out = np.empty(len(items), dtype=object)
    out[:] = [_target_path(v, builder=builder, ctx=ctx, where=where) for v in items]
    return out


def _compound_rows(
    data: Any, storage: Storage, *, builder: Builder, ctx: PlanContext, where: str
) -> np.ndarray:
    rows = _materialise(data)
    scalar = isinstance(rows, tuple | np.void) or (isinstance(rows, np.ndarray) and rows.ndim == 0)
    row_list: Iterable[Any] = [rows] if scalar else rows
    converted: list[tuple[Any, ...]] = []
    for row in row_list:
        cells = tuple(row.item() if isinstance(row, np.ndarray) else row)
        converted.append(
            tuple(
                _cell(cell, f, builder=builder, ctx=ctx, where=where)
                for cell, f in zip(cells, storage.fields, strict=True)
            )
        )
    width = max(
        [fmt.COMPOUND_STRING_MIN_CHARS] + [len(c) for row in converted for c in row if isinstance(c, str)]
    )
    arr = np.array(converted, dtype=dtypes.compound_numpy(storage, text_chars=width))
    return arr.reshape(()) if scalar else arr


def _cell(value: Any, f: dtypes.Field, *, builder: Builder, ctx: PlanContext, where: str) -> Any:
    match f.storage.kind:
        case Kind.REFERENCE:
            return _target_path(value, builder=builder, ctx=ctx, where=f"{where}.{f.name}")
        case Kind.TEXT:
            return values.as_text(value)
    return value


def _values_plan(
    arr: np.ndarray,
    storage: Storage,
    path: str,
    attrs: dict[str, Any],
    options: dict[str, Any],
    dims: tuple[str, ...] | None,
) -> ArrayPlan:
    zdtype: Any = str if storage.kind in (Kind.TEXT, Kind.REFERENCE) else arr.dtype
    opts = _default_options(arr.shape, arr.dtype.itemsize if arr.dtype.kind != "O" else 16, options, storage)
    inline = arr.ndim == 0 and "fill_value" not in options and storage.kind is not Kind.COMPOUND
    if inline:
        # A 0-d array whose only chunk is absent reads as its fill value: one document, no chunk object,
        # and (marked so) no request on read.
        opts["fill_value"] = arr.item()
        attrs = {**attrs, fmt.VALUE_IN_FILL_ATTR: True}
    return ArrayPlan(path, tuple(arr.shape), zdtype, storage, attrs, DataKind.VALUES, arr, opts, dims, inline)


def _array_like_plan(
    data: Any,
    storage: Storage,
    path: str,
    attrs: dict[str, Any],
    options: dict[str, Any],
    dims: tuple[str, ...] | None,
) -> ArrayPlan:
    assert storage.numpy is not None
    shape = tuple(int(s) for s in data.shape)
    opts = _default_options(shape, storage.numpy.itemsize, options, storage)
    return ArrayPlan(path, shape, storage.numpy, storage, attrs, DataKind.ARRAY_LIKE, data, opts, dims)


def _iterator_plan(
    builder: DatasetBuilder,
    it: AbstractDataChunkIterator,
    path: str,
    attrs: dict[str, Any],
    options: dict[str, Any],
    dims: tuple[str, ...] | None,
    ctx: PlanContext,
) -> ArrayPlan:
    declared = dtypes.from_spec(builder.dtype)
    it_dtype = np.dtype(it.dtype) if it.dtype is not None else None
    storage = (
        declared
        if declared is not None and declared.kind is not Kind.NUMERIC
        else (dtypes.from_spec(it_dtype) if it_dtype is not None else declared) or dtypes.numeric("float64")
    )
    attrs[dtype_attr(ctx)] = storage.token
    shape = _iterator_shape(it)
    chunk_hint = it.recommended_chunk_shape()
    if chunk_hint is not None and "chunks" not in options:
        options = {**options, "chunks": tuple(int(c) for c in chunk_hint)}
    itemsize = storage.numpy.itemsize if storage.numpy is not None else 16
    opts = _default_options(shape, itemsize, options, storage)
    zdtype: Any = storage.numpy if storage.kind is Kind.NUMERIC else str
    return ArrayPlan(path, shape, zdtype, storage, attrs, DataKind.ITERATOR, it, opts, dims)


def _iterator_shape(it: AbstractDataChunkIterator) -> tuple[int, ...]:
    """The shape to create an iterator's array with; it grows as chunks arrive past it."""
    shape = it.recommended_data_shape()
    if shape is None:  # the iterator does not know yet (nothing buffered): start empty where unbounded
        maxshape = it.maxshape
        shape = tuple(0 if m is None else m for m in maxshape) if maxshape is not None else (0,)
    return tuple(int(s) for s in shape)


def _default_options(
    shape: tuple[int, ...], itemsize: int, options: dict[str, Any], storage: Storage
) -> dict[str, Any]:
    opts = dict(options)
    if opts.get("chunks") in (None, True):
        opts["chunks"] = default_chunks(shape, itemsize)
    if "compressors" not in opts:
        opts["compressors"] = default_compressors() if storage.kind is Kind.NUMERIC else "auto"
    if "fill_value" not in opts and storage.kind in (Kind.TEXT, Kind.REFERENCE):
        opts["fill_value"] = ""
    return opts


def is_scalar_value(data: Any) -> bool:
    """Whether *data* is a single value (stored as a 0-d array)."""
    return isinstance(data, str | bytes | int | float | bool | np.generic | dt.date | ReferenceBuilder)


def plan_subtree(builder: GroupBuilder | DatasetBuilder, path: str, ctx: PlanContext) -> WritePlan:
    """Return the plan that writes one group (with what is unwritten below it) or one dataset at *path*."""
    plan = WritePlan()
    if isinstance(builder, GroupBuilder):
        _plan_group(builder, path, ctx, plan)
    else:
        _plan_dataset(builder, path, ctx, plan)
    return plan
