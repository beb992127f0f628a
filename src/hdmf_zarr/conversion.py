"""Conversions between dialects and backends: Zarr v2 <-> v3, HDF5 <-> Zarr, chunk by chunk.

Layer: applications (above nwb). A conversion copies the source's builders as stored (no rebuild
through the installed schema), its specification cache verbatim, and its chunking and compression
(transfer/layout.py); arrays are copied block by block (bounded memory) and every object, attribute,
link and reference is carried over. The output appears at the destination only when complete
(transfer/staging.py). ``upgrade=True`` instead rebuilds every object through the installed schema
and caches that schema (hdmf's export).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from hdmf.backends.io import HDMFIO
from hdmf.build import GroupBuilder

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr import progress as _progress
from hdmf_zarr.errors import IncompleteConversionError, InvalidOptionError, ParallelWriteError, StoreError
from hdmf_zarr.store import StoreLike, describe_source, is_url
from hdmf_zarr.transfer import specs as spec_copy
from hdmf_zarr.transfer import staging
from hdmf_zarr.transfer.layout import (
    Compression,
    Layout,
    apply_zarr_layout,
    is_numeric_array,
    iter_datasets,
    parse_chunks,
    parse_compression,
)


def _is_hdf5(path: StoreLike) -> bool:
    if not isinstance(path, str | os.PathLike):
        return False
    p = Path(os.fspath(path))
    if p.is_file():
        with open(p, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    return p.suffix.lower() in (".nwb", ".h5", ".hdf5") and not p.exists()


def make_layout(chunks: str | int = "keep", compression: str | Compression = "auto") -> Layout:
    """The :class:`Layout` for the ``chunks``/``compression`` options of :func:`convert`."""
    parsed_chunks = parse_chunks(chunks) if isinstance(chunks, str) else int(chunks)
    parsed = parse_compression(compression) if isinstance(compression, str) else compression
    return Layout(chunks=parsed_chunks, compression=parsed)


def open_source(src: StoreLike, storage_options: dict[str, Any] | None = None) -> HDMFIO:
    """Open *src* (HDF5 or Zarr of either dialect) for reading, with its cached namespaces."""
    from hdmf_zarr.nwb import NWBZarrIO

    if _is_hdf5(src):
        from pynwb import NWBHDF5IO

        return NWBHDF5IO(os.fspath(src), mode="r", load_namespaces=True)  # type: ignore[arg-type]
    # Each chunk is read once: no decoded-chunk cache (it would hold up to its budget for nothing).
    return NWBZarrIO(src, mode="r", storage_options=storage_options, chunk_cache_bytes=0)


def source_spec_documents(src_io: HDMFIO) -> spec_copy.SpecDocuments:
    """Every specification document the source caches (every namespace, every version)."""
    from hdmf_zarr.io import ZarrIO

    if isinstance(src_io, ZarrIO):
        return spec_copy.zarr_documents(src_io.file)
    return spec_copy.hdf5_documents(src_io._file)


def check_links(root: GroupBuilder, *, where: str) -> None:
    """Refuse links into other files: a converted file could not resolve them (never drop them)."""
    source = root.source

    def walk(group: GroupBuilder) -> None:
        for name, link in group.links.items():
            target_root = paths.root_builder(link.builder)
            if target_root.source not in (None, source) and target_root is not root:
                raise IncompleteConversionError(
                    f"Cannot convert {where!r}: {paths.builder_path(group)}/{name} links to "
                    f"{paths.builder_path(link.builder)!r} in another file, {target_root.source!r}. "
                    "Converted files cannot follow links into files of another backend or location: "
                    "convert that file as well and re-create the link, or embed the data in the source "
                    "(e.g. export it with link_data=False) before converting."
                )
        for sub in group.groups.values():
            walk(sub)

    walk(root)


def _totals(root: GroupBuilder) -> tuple[int, int]:
    """(bytes of stored numeric arrays, number of datasets) of a builder tree, for progress bars."""
    nbytes = count = 0
    for builder in iter_datasets(root):
        count += 1
        data = builder.data
        data = getattr(data, "data", data)  # a DataIO
        if is_numeric_array(data):
            nbytes += int(data.dtype.itemsize) * math.prod(int(s) for s in data.shape)
    return nbytes, count


def convert(  # noqa: PLR0913 - each keyword is a documented conversion option
    src: StoreLike,
    dst: StoreLike,
    *,
    zarr_format: fmt.ZarrFormat | None = None,
    to_hdf5: bool = False,
    force_overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    chunks: str | int = "keep",
    compression: str | Compression = "auto",
    upgrade: bool = False,
    progress: bool = False,
    number_of_jobs: int = 1,
    client: Any = None,
) -> None:
    """Copy the HDMF/NWB file at *src* (Zarr of either dialect, or HDF5) into a new file at *dst*.

    *dst* is Zarr in the given dialect (default v3), or HDF5 with ``to_hdf5=True``. *storage_options*
    configure the side that is a URL (both sides, if both are). The output holds
    the source's objects as stored and caches the namespaces the source cached, so files with
    extensions convert without the extension installed and validate as their source does.
    ``chunks`` (keep, auto, or a chunk size like ``"4MiB"``) and ``compression`` (auto, keep, none,
    gzip, zstd, blosc-lz4, blosc-zstd, optionally ``:level``) set the layout of numeric datasets
    (transfer/layout.py). ``upgrade=True`` rebuilds every object through the installed schema and
    caches it instead. ``progress=True`` shows tqdm bars (datasets and bytes). Nothing appears at
    *dst* unless the conversion completes.
    ``number_of_jobs=N`` copies the arrays in N worker processes; ``client`` (a
    ``dask.distributed.Client``) copies them on that cluster's workers, which read regions of *src* and
    write them, shard/chunk-aligned, straight to *dst* (so both must be reachable from the workers).
    """
    parallel = _parallel_args(number_of_jobs, client, to_hdf5=to_hdf5)
    layout = make_layout(chunks, compression)
    src_options, dst_options = _split_options(src, dst, storage_options)
    _progress.at("")  # error messages name the node this conversion was writing, not an earlier one
    staging.refuse_existing(dst, force_overwrite=force_overwrite)
    reclaim = staging.reclaim_interrupted(dst, dst_options, force_overwrite=force_overwrite)
    src_io = open_source(src, src_options)
    try:
        where = getattr(src_io, "source", None) or str(src)
        builder = src_io.read_builder()
        check_links(builder, where=where)
        total_bytes, total_datasets = _totals(builder)
        reporter = progress_bars(progress, total_bytes=total_bytes, total_datasets=total_datasets)
        with (
            staging.staged(
                dst,
                force_overwrite=force_overwrite,
                storage_options=dst_options,
                hdf5=to_hdf5,
                reclaim=reclaim,
            ) as target,
            _progress.activate(reporter),
        ):
            if to_hdf5:
                _to_hdf5(src_io, builder, target, layout=layout, upgrade=upgrade)
            else:
                options = {
                    "zarr_format": zarr_format,
                    "storage_options": dst_options,
                    # Replacing a killed conversion's leftovers on an object store takes over its mark.
                    "force_overwrite": force_overwrite or reclaim,
                    "conversion_of": where,
                }
                _to_zarr(
                    src_io,
                    builder,
                    target,
                    layout=layout,
                    upgrade=upgrade,
                    options=options,
                    parallel=parallel,
                )
    finally:
        src_io.close()


def _split_options(
    src: StoreLike, dst: StoreLike, storage_options: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The storage options of the source and of the destination: each side that is a URL gets them
    (both, for a copy between two keys of one endpoint). Options with no URL to configure are refused."""
    if storage_options and not (is_url(src) or is_url(dst)):
        raise InvalidOptionError(
            f"storage_options {sorted(storage_options)!r} were given, but neither {describe_source(src)!r} "
            f"nor {describe_source(dst)!r} is a URL: they configure clients of s3://, gs:// and http(s):// "
            "stores and would be ignored. Drop them."
        )
    return (storage_options if is_url(src) else None), (storage_options if is_url(dst) else None)


def progress_bars(show: bool | None, *, total_bytes: int, total_datasets: int) -> _progress.Reporter | None:
    """The reporter a conversion shows (None: no bars); see progress.py."""
    return _progress.bars(show, total_bytes=total_bytes, total_datasets=total_datasets, desc="convert")


def _parallel_args(number_of_jobs: int, client: Any, *, to_hdf5: bool) -> dict[str, Any]:
    """The parallel write arguments of a conversion (checked by the writer; HDF5 is written serially)."""
    args: dict[str, Any] = {}
    if number_of_jobs != 1:
        args["number_of_jobs"] = number_of_jobs
    if client is not None:
        args["client"] = client
    if args and to_hdf5:
        raise ParallelWriteError(
            "number_of_jobs and client apply to Zarr destinations; an HDF5 file is written by one process. "
            "Drop them (or --jobs/--scheduler) for --to-hdf5."
        )
    return args


def _to_zarr(
    src_io: HDMFIO,
    builder: GroupBuilder,
    target: StoreLike,
    *,
    layout: Layout,
    upgrade: bool,
    options: dict[str, Any],
    parallel: dict[str, Any],
) -> None:
    from hdmf_zarr.nwb import NWBZarrIO

    mode = "w" if options.get("force_overwrite") else "w-"  # a conversion replaces a file only when asked
    with NWBZarrIO(target, mode=mode, manager=src_io.manager, **options) as dst_io:
        if upgrade:
            dst_io.export(src_io=src_io, write_args={"link_data": False, **parallel}, clear_cache=True)
            return
        apply_zarr_layout(builder, layout, zarr_format=options.get("zarr_format") or fmt.DEFAULT_ZARR_FORMAT)
        dst_io.write_builder(
            builder, link_data=False, spec_documents=source_spec_documents(src_io), **parallel
        )


def _to_hdf5(
    src_io: HDMFIO, builder: GroupBuilder, target: StoreLike, *, layout: Layout, upgrade: bool
) -> None:
    from hdmf_zarr.transfer.hdf5 import apply_hdf5_layout, write_hdf5

    if not isinstance(target, str | os.PathLike):
        raise StoreError(f"An HDF5 destination must be a file path, not {target!r}.")
    if upgrade:
        from pynwb import NWBHDF5IO

        with NWBHDF5IO(os.fspath(target), mode="w", manager=src_io.manager) as dst_io:
            dst_io.export(src_io=src_io, write_args={"link_data": False})
        return
    apply_hdf5_layout(builder, layout)
    write_hdf5(
        builder,
        target,
        manager=src_io.manager,
        source=str(src_io.source),
        specs=source_spec_documents(src_io),
    )


def convert_to_v3(src: StoreLike, dst: StoreLike, **kwargs: Any) -> None:
    """Rewrite a Zarr v2 (hdmf-zarr <= 0.13) file in the v3 dialect, chunk by chunk."""
    convert(src, dst, zarr_format=3, **kwargs)


def convert_to_v2(src: StoreLike, dst: StoreLike, **kwargs: Any) -> None:
    """Rewrite a file in the v2 dialect that hdmf-zarr 0.13 reads."""
    convert(src, dst, zarr_format=2, **kwargs)
