"""The ``hdmf-zarr`` command: ``convert``, ``info`` and ``validate``. A thin shell over the library.

Layer: applications.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import zarr

from hdmf_zarr.conversion import convert
from hdmf_zarr.errors import HdmfZarrError, InterruptedWriteError, InterruptedWriteWarning, ParallelWriteError
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.store import write_state_of


def _state_line(path: str) -> str:
    state, mark = write_state_of(path)
    if mark is None:
        return f"  state: {state}"
    advice = "; repair with ZarrIO(path, mode='a', repair=True)" if state != "being written" else ""
    return f"  state: {state} ({mark.describe()}){advice}"


def _info(path: str) -> int:
    state_line = _state_line(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InterruptedWriteWarning)  # the state line says it
        try:
            io = ZarrIO(path, mode="r")
        except InterruptedWriteError:
            print(f"{path}: no completed write")
            print(state_line)
            return 1
    with io:
        root = io.file
        consolidated = root.metadata.consolidated_metadata is not None
        print(f"{path}: Zarr v{root.metadata.zarr_format} HDMF file, consolidated metadata: {consolidated}")
        print(state_line)
        for key in ("namespace", "neurodata_type", "data_type", "nwb_version", "object_id"):
            if key in root.attrs:
                print(f"  {key}: {root.attrs[key]}")
        groups = arrays = 0
        for name, node in sorted(root.members(max_depth=None)):
            if name.startswith("specifications"):
                continue
            if isinstance(node, zarr.Array):
                arrays += 1
                print(f"  /{name}  {node.dtype}  shape={node.shape}  chunks={node.chunks}")
            else:
                groups += 1
        print(f"{groups} groups, {arrays} datasets (specification cache not listed)")
    return 0


def _validate(path: str) -> int:
    import pynwb

    from hdmf_zarr.nwb import NWBZarrIO

    with NWBZarrIO(path, mode="r") as io:
        errors = pynwb.validate(io=io)
    for error in errors:
        print(error)
    print(f"{path}: {len(errors)} validation error(s)")
    return 1 if errors else 0


@contextlib.contextmanager
def _scheduler_client(address: str | None) -> Iterator[Any]:
    """A Dask client connected to *address* for the command's duration (None without --scheduler)."""
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ParallelWriteError("--scheduler needs Dask: pip install 'hdmf_zarr[parallel]'.") from exc
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:  # distributed raises OSError (TimeoutError) when nothing answers
        raise ParallelWriteError(f"No Dask scheduler answers at {address!r}: {exc}") from exc
    with client:
        yield client


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hdmf-zarr", description="Convert, inspect and validate NWB Zarr files."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_convert = sub.add_parser("convert", help="copy a file between HDF5 and Zarr, or between Zarr dialects")
    p_convert.add_argument("src")
    p_convert.add_argument("dst")
    p_convert.add_argument("--zarr-format", type=int, choices=(2, 3), default=None)
    p_convert.add_argument("--to-hdf5", action="store_true", help="write DST as an HDF5 (.nwb) file")
    p_convert.add_argument("--force", action="store_true", help="replace DST if it exists")
    p_convert.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="copy the arrays in N worker processes"
    )
    p_convert.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="copy the arrays on the workers of this Dask scheduler (they must reach SRC and DST)",
    )
    p_info = sub.add_parser("info", help="print the dialect and the datasets of a Zarr file")
    p_info.add_argument("path")
    p_validate = sub.add_parser("validate", help="validate an NWB Zarr file against its cached schema")
    p_validate.add_argument("path")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            with _scheduler_client(args.scheduler) as client:
                convert(
                    args.src,
                    args.dst,
                    zarr_format=args.zarr_format,
                    to_hdf5=args.to_hdf5,
                    force_overwrite=args.force,
                    number_of_jobs=args.jobs,
                    client=client,
                )
            print(f"wrote {args.dst}")
            return 0
        if args.command == "info":
            return _info(args.path)
        return _validate(args.path)
    except (HdmfZarrError, OSError) as exc:
        print(f"hdmf-zarr {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
