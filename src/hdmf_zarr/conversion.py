"""Conversions between dialects and backends: Zarr v2 <-> v3, HDF5 <-> Zarr, chunk by chunk.

Layer: applications (above nwb). Each conversion is an ``export`` from a reading IO into a writing IO,
so arrays are copied block by block (memory-bounded) and every object, attribute, link and
reference is carried over.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hdmf.backends.io import HDMFIO

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import ParallelWriteError, StoreError, StoreExistsError
from hdmf_zarr.store import StoreLike


def _is_hdf5(path: StoreLike) -> bool:
    if not isinstance(path, str | os.PathLike):
        return False
    p = Path(os.fspath(path))
    if p.is_file():
        with open(p, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    return p.suffix.lower() in (".nwb", ".h5", ".hdf5") and not p.exists()


def convert(  # noqa: PLR0913 (keyword-only options, one per CLI option)
    src: StoreLike,
    dst: StoreLike,
    *,
    zarr_format: fmt.ZarrFormat | None = None,
    to_hdf5: bool = False,
    force_overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    number_of_jobs: int = 1,
    client: Any = None,
) -> None:
    """Copy the HDMF/NWB file at *src* (Zarr of either dialect, or HDF5) into a new file at *dst*.

    *dst* is Zarr in the given dialect (default v3), or HDF5 with ``to_hdf5=True``. Namespaces cached
    in *src* are used, so files with extensions convert without the extension installed.
    ``number_of_jobs=N`` copies the arrays in N worker processes; ``client`` (a
    ``dask.distributed.Client``) copies them on that cluster's workers, which read regions of *src* and
    write them, shard/chunk-aligned, straight to *dst* (so both must be reachable from the workers).
    """
    parallel = _parallel_args(number_of_jobs, client, to_hdf5=to_hdf5)
    from hdmf_zarr.nwb import NWBZarrIO

    src_io: HDMFIO
    if _is_hdf5(src):
        from pynwb import NWBHDF5IO

        src_io = NWBHDF5IO(os.fspath(src), mode="r", load_namespaces=True)  # type: ignore[arg-type]
    else:
        src_io = NWBZarrIO(src, mode="r", storage_options=storage_options)
    try:
        if to_hdf5:
            _export_to_hdf5(src_io, dst, force_overwrite=force_overwrite)
            return
        try:
            dst_io = NWBZarrIO(
                dst,
                mode="w" if force_overwrite else "w-",  # a conversion replaces a file only when asked
                manager=src_io.manager,
                force_overwrite=force_overwrite,
                zarr_format=zarr_format,
                storage_options=storage_options,
            )
        except StoreExistsError as exc:
            raise StoreExistsError(f"{exc} Pass force_overwrite=True (--force) to replace it.") from exc
        with dst_io:
            dst_io.export(src_io=src_io, write_args={"link_data": False, **parallel})
    finally:
        src_io.close()


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


def _export_to_hdf5(src_io: HDMFIO, dst: StoreLike, *, force_overwrite: bool) -> None:
    from pynwb import NWBHDF5IO

    if not isinstance(dst, str | os.PathLike):
        raise StoreError(f"An HDF5 destination must be a file path, not {dst!r}.")
    target = Path(os.fspath(dst))
    if target.exists() and not force_overwrite:
        raise StoreError(
            f"{str(target)!r} exists; pass force_overwrite=True to replace it. Nothing was changed."
        )
    with NWBHDF5IO(os.fspath(target), mode="w", manager=src_io.manager) as dst_io:
        dst_io.export(src_io=src_io, write_args={"link_data": False})


def convert_to_v3(src: StoreLike, dst: StoreLike, **kwargs: Any) -> None:
    """Rewrite a Zarr v2 (hdmf-zarr <= 0.13) file in the v3 dialect, chunk by chunk."""
    convert(src, dst, zarr_format=3, **kwargs)


def convert_to_v2(src: StoreLike, dst: StoreLike, **kwargs: Any) -> None:
    """Rewrite a file in the v2 dialect that hdmf-zarr 0.13 reads."""
    convert(src, dst, zarr_format=2, **kwargs)
