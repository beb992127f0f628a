"""Conversion benchmark: a large HDF5 NWB ElectricalSeries to Zarr, ours vs hdmf-zarr 0.14 vs the raw floor.

A measurement, not a test: nothing is asserted. Run (once; it takes a while and needs ~4x the file size
free under the scratch folder):

    python benchmarks/convert.py [--rows 16000000] [--channels 64] [--scratch /tmp/hdmf_zarr_convbench]

Two sources are made first (int16 noise, ``rows x channels``; 16,000,000 x 64 = 2 GB): one chunked
(16384 x 64) with gzip level 4, one contiguous. For each source, one fresh process per contender:

- ``ours``: ``hdmf_zarr.convert(src, dst)`` (our venv, default options: the source's chunks kept, gzip
  data written as Blosc/LZ4, contiguous data uncompressed with our default chunks);
- ``peer014``: hdmf-zarr 0.14's ``NWBZarrIO.export`` from ``NWBHDF5IO`` (its cached venv);
- ``raw``: the floor: h5py -> zarr-python copy of the same array, block by block (64 MiB), into an array
  with exactly the chunks and codecs ours produced (our venv, no hdmf).

Dirty pages are flushed (``os.sync``) before each contender. Each worker prints one JSON line: wall
time of the conversion, peak RSS of the process (``ru_maxrss``)
and its RSS before the conversion. Results: ``benchmarks/results/<date>-convert[-<variants>].{jsonl,md}``
(the suffix when a subset ran).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BLOCK_BYTES = 64 << 20
SERIES = "acquisition/ElectricalSeries/data"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- sources ------------------------------------------------------------------------------------------


class _Noise:
    """A GenericDataChunkIterator of int16 noise, produced block by block (bounded memory)."""

    @staticmethod
    def make(rows: int, channels: int) -> Any:
        import numpy as np
        from hdmf.data_utils import GenericDataChunkIterator

        class Noise(GenericDataChunkIterator):
            def _get_data(self, selection: Any) -> Any:
                start = selection[0].start or 0
                rng = np.random.default_rng(start)
                n = (selection[0].stop or rows) - start
                return rng.normal(0, 300, size=(n, channels)).astype(np.int16)[:, selection[1]]

            def _get_maxshape(self) -> tuple[int, int]:
                return (rows, channels)

            def _get_dtype(self) -> Any:
                return np.dtype("int16")

        return Noise(buffer_gb=0.125, chunk_shape=(16384, channels))


def make_source(path: Path, rows: int, channels: int, *, gzip: bool) -> None:
    from datetime import UTC, datetime

    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("convert benchmark", "convbench", datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", "shank", "brain", device)
    for _ in range(channels):
        nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region(list(range(channels)), "all")
    data = _Noise.make(rows, channels)
    if gzip:
        wrapped = H5DataIO(data, chunks=(16384, channels), compression="gzip", compression_opts=4)
    else:
        wrapped = H5DataIO(data)  # contiguous
    nwb.add_acquisition(
        ElectricalSeries(name="ElectricalSeries", data=wrapped, electrodes=region, rate=30000.0)
    )
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)


# -- contenders (each in a fresh process) -------------------------------------------------------------


def run_ours(src: Path, dst: Path) -> None:
    import hdmf_zarr

    hdmf_zarr.convert(src, dst)


def run_peer(src: Path, dst: Path) -> None:
    from pynwb import NWBHDF5IO

    from hdmf_zarr.nwb import NWBZarrIO

    with NWBHDF5IO(str(src), "r") as reader, NWBZarrIO(str(dst), mode="w") as writer:
        writer.export(src_io=reader, write_args={"link_data": False})


def run_raw(src: Path, dst: Path, like: Path) -> None:
    import h5py
    import numpy as np
    import zarr

    template = zarr.open_array(like / SERIES, mode="r")
    with h5py.File(src, "r") as h5:
        ds = h5[SERIES]
        out = zarr.create_array(
            dst,
            shape=ds.shape,
            dtype=ds.dtype,
            chunks=template.chunks,
            compressors=template.compressors or None,
            filters=template.filters or None,
            fill_value=0,
        )
        chunk_rows = template.chunks[0]
        row_bytes = int(np.prod(ds.shape[1:])) * ds.dtype.itemsize
        rows = max(chunk_rows, BLOCK_BYTES // row_bytes // chunk_rows * chunk_rows)
        for start in range(0, ds.shape[0], rows):
            out[start : start + rows] = ds[start : start + rows]


def worker(args: argparse.Namespace) -> None:
    src, dst = Path(args.src), Path(args.dst)
    before = _current_rss_mib()
    t0 = time.perf_counter()
    if args.worker == "ours":
        run_ours(src, dst)
    elif args.worker == "peer014":
        run_peer(src, dst)
    else:
        run_raw(src, dst, Path(args.like))
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_rss_mib": _rss_mib(), "rss_before_mib": before}))


# -- driver -------------------------------------------------------------------------------------------


def _python(contender: str) -> str:
    if contender != "peer014":
        return sys.executable
    sys.path.insert(0, str(REPO / "tests"))
    from peers.venvs import ensure_peer

    return str(ensure_peer("0.14.0"))


def _env(contender: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if contender != "peer014":
        env["PYTHONPATH"] = str(REPO / "src")
    return env


def _size_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _run(contender: str, src: Path, dst: Path, like: Path | None) -> dict[str, Any]:
    os.sync()  # flush what the previous step wrote, so no contender pays for another's writeback
    cmd = [_python(contender), __file__, "--worker", contender, "--src", str(src), "--dst", str(dst)]
    if like is not None:
        cmd += ["--like", str(like)]
    done = subprocess.run(cmd, env=_env(contender), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"ok": False, "error": done.stderr.strip().splitlines()[-1:] or ["?"]}
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record.update(ok=True, out_mib=_size_mib(dst))
    return record


def _versions() -> dict[str, str]:
    import h5py
    import hdmf
    import numcodecs
    import pynwb
    import zarr

    import hdmf_zarr

    return {
        "hdmf_zarr": hdmf_zarr.__version__,
        "hdmf": hdmf.__version__,
        "pynwb": pynwb.__version__,
        "zarr": zarr.__version__,
        "numcodecs": numcodecs.__version__,
        "h5py": h5py.__version__,
        "python": sys.version.split()[0],
    }


def _table(results: dict[str, dict[str, dict[str, Any]]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Conversion benchmark, {meta['date']}",
        "",
        f"HDF5 NWB ElectricalSeries int16 {meta['rows']:,} x {meta['channels']} "
        f"({meta['array_mib']:.0f} MiB), one run per cell, each in a fresh process. Machine: "
        f"{os.cpu_count()} cores, shared with other jobs (load average at start {meta['load']}).",
        f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}.",
        "",
        "| source | contender | seconds | x raw floor | peer / contender | peak RSS MiB | output MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, row in results.items():
        raw = row.get("raw", {}).get("seconds")
        peer = row.get("peer014", {}).get("seconds")
        for contender, rec in row.items():
            if not rec.get("ok"):
                lines.append(f"| {variant} | {contender} | failed: {rec.get('error')} | | | | |")
                continue
            s = rec["seconds"]
            vs_raw = f"{s / raw:.2f}" if raw else ""
            vs_peer = f"{peer / s:.1f}" if peer else ""
            lines.append(
                f"| {variant} | {contender} | {s:.1f} | {vs_raw} | {vs_peer} | {rec['peak_rss_mib']:.0f} "
                f"| {rec['out_mib']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def driver(args: argparse.Namespace) -> None:
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    meta = {
        "date": date.today().isoformat(),
        "rows": args.rows,
        "channels": args.channels,
        "array_mib": args.rows * args.channels * 2 / 2**20,
        "load": os.getloadavg()[0],
        "versions": _versions(),
    }
    try:
        for variant in args.variants:
            src = scratch / f"{variant}.nwb"
            t0 = time.perf_counter()
            make_source(src, args.rows, args.channels, gzip=variant == "gzip")
            print(f"made {src} ({_size_mib(src):.0f} MiB) in {time.perf_counter() - t0:.0f} s", flush=True)
            row: dict[str, dict[str, Any]] = {}
            for contender in args.contenders:
                dst = scratch / f"{variant}-{contender}.zarr"
                like = scratch / f"{variant}-ours.zarr" if contender == "raw" else None
                row[contender] = _run(contender, src, dst, like)
                print(variant, contender, row[contender], flush=True)
            for contender in args.contenders:
                shutil.rmtree(scratch / f"{variant}-{contender}.zarr", ignore_errors=True)
            src.unlink()
            results[variant] = row
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    subset = "" if sorted(args.variants) == ["contiguous", "gzip"] else "-" + "-".join(args.variants)
    out = HERE / "results" / f"{meta['date']}-convert{subset}"
    with open(out.with_suffix(".jsonl"), "w") as fh:
        for variant, row in results.items():
            for contender, rec in row.items():
                fh.write(json.dumps({"variant": variant, "contender": contender, **rec, **meta}) + "\n")
    out.with_suffix(".md").write_text(_table(results, meta))
    print(out.with_suffix(".md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16_000_000)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument(
        "--scratch", default=os.environ.get("HDMF_ZARR_BENCH_SCRATCH", "/tmp/hdmf_zarr_convbench")
    )
    parser.add_argument("--variants", nargs="+", default=["gzip", "contiguous"])
    # ours first: raw copies into ours' chunks and codecs
    parser.add_argument("--contenders", nargs="+", default=["ours", "raw", "peer014"])
    parser.add_argument("--worker", choices=["ours", "peer014", "raw"])
    parser.add_argument("--src")
    parser.add_argument("--dst")
    parser.add_argument("--like")
    args = parser.parse_args()
    if args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
