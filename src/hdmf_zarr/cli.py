"""The ``hdmf-zarr`` command: ``convert``, ``info`` and ``validate``. A thin shell over the library.

Layer: applications.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import zarr

from hdmf_zarr.conversion import convert
from hdmf_zarr.errors import HdmfZarrError, InterruptedWriteError, InterruptedWriteWarning, ParallelWriteError
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.progress import current_node, wants_bars
from hdmf_zarr.store import write_state_of
from hdmf_zarr.transfer.layout import describe_codecs
from hdmf_zarr.transfer.specs import cached_versions


def _state_line(path: str, options: dict[str, Any] | None) -> str:
    state, mark = write_state_of(path, options)
    if mark is None:
        return f"  state: {state}"
    return f"  state: {state} ({mark.describe()}){_advice(state, mark)}"


def _advice(state: str, mark: Any) -> str:
    if state == "being written":
        return ""
    if mark.conversion_of is None:
        return "; repair with ZarrIO(path, mode='a', repair=True)"
    if state == "interrupted":
        return "; run the same conversion again: it replaces what the interrupted one left"
    return "; if it is no longer running, run the same conversion again with --force"


def _info(path: str, options: dict[str, Any] | None) -> int:
    state_line = _state_line(path, options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InterruptedWriteWarning)  # the state line says it
        try:
            io = ZarrIO(path, mode="r", storage_options=options)
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
        cached = ", ".join(f"{ns} {version}" for ns, version in cached_versions(root)) or "none"
        print(f"  cached namespaces: {cached}")
        groups = arrays = 0
        for name, node in sorted(root.members(max_depth=None)):
            if name.startswith("specifications"):
                continue
            if isinstance(node, zarr.Array):
                arrays += 1
                print(
                    f"  /{name}  {node.dtype}  shape={node.shape}  chunks={node.chunks}  "
                    f"codecs={describe_codecs(node)}"
                )
            else:
                groups += 1
        print(f"{groups} groups, {arrays} datasets (specification cache not listed)")
    return 0


def _validate(path: str, options: dict[str, Any] | None) -> int:
    import pynwb

    from hdmf_zarr.nwb import NWBZarrIO

    with NWBZarrIO(path, mode="r", storage_options=options) as io:
        errors = pynwb.validate(io=io)
    for error in errors:
        print(error)
    print(f"{path}: {len(errors)} validation error(s)")
    return 1 if errors else 0


def _add_convert(sub: Any) -> None:
    p = sub.add_parser("convert", help="copy a file between HDF5 and Zarr, or between Zarr dialects")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--zarr-format", type=int, choices=(2, 3), default=None)
    p.add_argument("--to-hdf5", action="store_true", help="write DST as an HDF5 (.nwb) file")
    p.add_argument(
        "--force", action="store_true", help="replace DST if it exists (once the new file is complete)"
    )
    p.add_argument(
        "--chunks",
        default="keep",
        help="keep (the source's chunk shape, default), auto (this package's default), or a chunk size "
        "such as 4MiB",
    )
    p.add_argument(
        "--compression",
        default="auto",
        help="auto (default: compressed data as Blosc/LZ4, uncompressed stays uncompressed), keep (gzip "
        "stays gzip), none, gzip, zstd, blosc-lz4, blosc-zstd; a codec takes ':level' (gzip:6)",
    )
    p.add_argument(
        "--upgrade",
        action="store_true",
        help="rebuild every object with the installed schema and cache it (default: keep the source's)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="copy the arrays in N worker processes")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="copy the arrays on the workers of this Dask scheduler (they must reach SRC and DST)",
    )
    bars = p.add_mutually_exclusive_group()
    bars.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="show progress bars"
    )
    bars.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress bars")


def _convert(args: argparse.Namespace) -> int:
    with _scheduler_client(args.scheduler) as client:
        convert(
            args.src,
            args.dst,
            zarr_format=args.zarr_format,
            to_hdf5=args.to_hdf5,
            force_overwrite=args.force,
            chunks=args.chunks,
            compression=args.compression,
            upgrade=args.upgrade,
            storage_options=args.storage_options,
            progress=wants_bars(args.progress),
            number_of_jobs=args.jobs,
            client=client,
        )
    print(f"wrote {args.dst}")
    return 0


def _storage_options(text: str) -> dict[str, Any]:
    """The JSON object of --storage-options (argparse turns the error into a usage message)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not JSON ({exc}): give an object such as '{{\"anon\": true}}'"
        ) from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"give a JSON object such as '{{\"anon\": true}}', not {text!r}")
    return value


def _one_line(args: argparse.Namespace, exc: BaseException) -> str:
    """``hdmf-zarr CMD: FILE: [at NODE: ]Type: message`` on one line (--debug shows the traceback)."""
    where = f"{args.src} -> {args.dst}" if args.command == "convert" else args.path
    message = " ".join(str(exc).split()) or type(exc).__name__
    node = current_node() if args.command == "convert" else None
    at = f"at {node}: " if node and node not in message else ""
    kind = "" if isinstance(exc, HdmfZarrError | OSError) else f"{type(exc).__name__}: "
    return f"hdmf-zarr {args.command}: {where}: {at}{kind}{message} (--debug shows the traceback)"


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
    parser.add_argument("--debug", action="store_true", help="on error, show the full traceback")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_convert(sub)
    p_info = sub.add_parser("info", help="print the dialect, the datasets, their chunks and codecs")
    p_info.add_argument("path")
    p_validate = sub.add_parser("validate", help="validate an NWB Zarr file against its cached schema")
    p_validate.add_argument("path")
    for command in (p_info, p_validate, sub.choices["convert"]):
        command.add_argument(
            "--storage-options",
            type=_storage_options,
            default=None,
            metavar="JSON",
            help="options of the s3://, gs:// or http(s):// client, as for storage_options= "
            '(e.g. \'{"endpoint_url": "http://127.0.0.1:9000", "anon": true}\'); for convert, they '
            "configure whichever of SRC and DST is a URL",
        )
        # --debug also after the command
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            return _convert(args)
        if args.command == "info":
            return _info(args.path, args.storage_options)
        return _validate(args.path, args.storage_options)
    except Exception as exc:  # every failure becomes one line and exit code 2, unless --debug
        if args.debug:
            raise
        print(_one_line(args, exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
