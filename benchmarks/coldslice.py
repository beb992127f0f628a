"""Where the cold 1-s slice of the medium file goes: ours, HDF5, and the same work done bare.

A separate driver (the issue's "show the floor with a profile"). Each measurement is a fresh process,
interleaved (ours, HDF5, bare, ours, ...), on the medium files that ``worker.py`` writes:

    python benchmarks/coldslice.py [--reps 15] [--scratch /tmp/hdmf_zarr_coldslice]

- ``ours``: ``NWBZarrIO`` open + ``read()``, then ``data[1_000_000:1_030_000, :]`` timed (wall, CPU of all
  threads, page faults of the process), as the benchmark's ``slice_cold``.
- ``hdf5``: the same through ``NWBHDF5IO``.
- ``bare``: the same values from ours' chunk files with no hdmf, zarr or hdmf_zarr code: numpy and
  numcodecs only, timed step by step: (1) the result (``np.empty`` and its pages faulted in, as any
  reader's result must be), (2) reading the four chunk files (``os.read``), (3) decoding them with
  numcodecs' blosc (whole chunks into the result, the two partly wanted ones into one scratch chunk,
  then copied), (4) the total. Ours cannot be cheaper than this by much: it does the same reads and
  decodes (it decodes only the wanted blosc blocks of the partial chunks, read/bloscblocks.py).

Results: ``results/<date>-coldslice.{jsonl,md}``. Leave five minutes after mass deletions (README).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SLICE = (1_000_000, 1_030_000)
CHANNELS = 64
KINDS = ("ours", "hdf5", "bare")
_MADV_POPULATE_WRITE = 23


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _populated(shape: tuple[int, ...], dtype: object) -> object:
    """np.empty with its pages faulted in by one madvise where Linux offers it (else page by page later)."""
    import numpy as np

    out = np.empty(shape, dtype=dtype)
    page = os.sysconf("SC_PAGE_SIZE")
    first = -(-out.ctypes.data // page) * page
    end = (out.ctypes.data + out.nbytes) // page * page
    if sys.platform.startswith("linux") and end > first:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.madvise(first, end - first, _MADV_POPULATE_WRITE)
    return out


def measure_io(kind: str, path: str) -> dict[str, float]:
    if kind == "ours":
        from hdmf_zarr import NWBZarrIO as IO
    else:
        from pynwb import NWBHDF5IO as IO
    io = IO(path, mode="r")
    data = io.read().acquisition["ElectricalSeries"].data
    lo, hi = SLICE
    f0, t0, c0 = _faults(), time.perf_counter(), time.process_time()
    values = data[lo:hi, :]
    t1, c1, f1 = time.perf_counter(), time.process_time(), _faults()
    assert values.shape == (hi - lo, CHANNELS)
    return {"total_ms": 1e3 * (t1 - t0), "cpu_ms": 1e3 * (c1 - c0), "faults": f1 - f0}


def measure_bare(path: str) -> dict[str, float]:
    import numpy as np
    from numcodecs import blosc

    folder = Path(path) / "acquisition" / "ElectricalSeries" / "data"
    meta = json.loads((folder / "zarr.json").read_text())
    rows = meta["chunk_grid"]["configuration"]["chunk_shape"][0]
    sep = meta["chunk_key_encoding"]["configuration"]["separator"]
    lo, hi = SLICE
    keys = range(lo // rows, (hi - 1) // rows + 1)

    def read(into: list[bytearray] | None = None) -> list[bytes] | list[memoryview]:
        """The chunk files as new bytes, or read into the given buffers (one per file)."""
        raws: list = []
        for i, k in enumerate(keys):
            fd = os.open(folder / f"c{sep}{k}{sep}0", os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                if into is None:
                    raws.append(os.read(fd, size))
                else:
                    raws.append(memoryview(into[i])[: os.readv(fd, [memoryview(into[i])[:size]])])
            finally:
                os.close(fd)
        return raws

    def decode(raws: list[bytes] | list[memoryview], out: np.ndarray, scratch: np.ndarray) -> None:
        for k, raw in zip(keys, raws, strict=True):
            a, b = max(lo, k * rows), min(hi, (k + 1) * rows)
            target = out[a - lo : b - lo]
            if b - a == rows:
                blosc.decompress(raw, target)
            else:
                blosc.decompress(raw, scratch)
                target[...] = scratch[a - k * rows : b - k * rows]

    f0, t0 = _faults(), time.perf_counter()
    out = _populated((hi - lo, CHANNELS), np.int16)
    t1 = time.perf_counter()
    raws = read()
    t2 = time.perf_counter()
    scratch = np.empty((rows, CHANNELS), np.int16)
    decode(raws, out, scratch)
    t3, f3 = time.perf_counter(), _faults()
    # The same reads and decodes again, into memory this process has touched (buffers made outside the
    # timing) and with blosc's threads started: their cost without first-touch faults and set-up.
    buffers = [bytearray(len(raw)) for raw in raws]  # zero-filled: their pages are touched
    t4 = time.perf_counter()
    raws = read(buffers)
    t5 = time.perf_counter()
    decode(raws, out, scratch)
    t6 = time.perf_counter()
    return {
        "total_ms": 1e3 * (t3 - t0),
        "result_ms": 1e3 * (t1 - t0),
        "read_files_ms": 1e3 * (t2 - t1),
        "decode_ms": 1e3 * (t3 - t2),
        "read_files_again_ms": 1e3 * (t5 - t4),
        "decode_again_ms": 1e3 * (t6 - t5),
        "faults": f3 - f0,
    }


def _write(python: str, backend: str, path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [python, str(HERE / "worker.py"), "--backend", backend, "--workload", "medium"]
    subprocess.run(
        [*cmd, "--phase", "write", "--path", str(path)], check=True, env=env, stdout=subprocess.DEVNULL
    )


def _report(records: list[dict[str, object]]) -> str:
    def med(kind: str, field: str) -> float:
        return statistics.median(float(r["result"][field]) for r in records if r["kind"] == kind)  # type: ignore[index]

    lines = [
        "# Cold 1-s slice of the medium file: ours, HDF5, and the same work done bare",
        "",
        f"Medians of {sum(r['kind'] == 'ours' for r in records)} fresh processes per column, interleaved; "
        f"{records[0]['date']}, commit {records[0]['commit']}, {os.cpu_count()} CPUs "
        "(`python benchmarks/coldslice.py`).",
        "",
        "| | ours | HDF5 | bare (numpy + numcodecs) | ours/HDF5 | bare/HDF5 | ours/bare |",
        "|---|---|---|---|---|---|---|",
    ]
    o, h, b = (med(k, "total_ms") for k in KINDS)
    lines.append(f"| wall, ms | {o:.2f} | {h:.2f} | {b:.2f} | {o / h:.2f} | {b / h:.2f} | {o / b:.2f} |")
    fo, fh, fb = (med(k, "faults") for k in KINDS)
    floor = med("bare", "result_ms") + med("bare", "read_files_again_ms") + med("bare", "decode_again_ms")
    lines.append(f"| page faults | {fo:.0f} | {fh:.0f} | {fb:.0f} | | | |")
    lines += [
        "",
        "Bare, step by step (ms): "
        + ", ".join(
            f"{name} {med('bare', field):.2f}"
            for name, field in (
                ("result faulted in", "result_ms"),
                ("four chunk files read", "read_files_ms"),
                ("decoded", "decode_ms"),
                ("then, in the same process: read again", "read_files_again_ms"),
                ("decoded again", "decode_again_ms"),
            )
        )
        + ".",
        "",
        "A floor for a reader of this compressed file: the result faulted in (HDF5 pays it too) plus "
        "reading and decoding the chunks done warm, "
        f"{med('bare', 'result_ms'):.2f} + {med('bare', 'read_files_again_ms'):.2f} + "
        f"{med('bare', 'decode_again_ms'):.2f} = {floor:.2f} ms ({floor / h:.2f} x HDF5; the bare decode "
        "decodes the two partial chunks whole, ours only their wanted blosc blocks); "
        "a cold process also pays first-touch faults on the memory it reads into and blosc's set-up.",
        "",
        "Each column's spread (min-max, ms): "
        + ", ".join(
            f"{k} {min(float(r['result']['total_ms']) for r in records if r['kind'] == k):.2f}-"  # type: ignore[index]
            f"{max(float(r['result']['total_ms']) for r in records if r['kind'] == k):.2f}"  # type: ignore[index]
            for k in KINDS
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


def drive(args: argparse.Namespace) -> None:
    python = os.environ.get("HDMF_ZARR_BENCH_PYTHON", sys.executable)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    paths = {"ours": scratch / "medium.nwb.zarr", "hdf5": scratch / "medium.nwb"}
    for backend, path in paths.items():
        if not path.exists():
            _write(python, backend, path)
    paths["bare"] = paths["ours"]
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    records = []
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for rep in range(1, args.reps + 1):
        for kind in KINDS:
            done = subprocess.run(
                [python, __file__, "--measure", kind, str(paths[kind])],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            records.append({"kind": kind, "rep": rep, "date": date, "commit": commit, "result": result})
    out = HERE / "results" / f"{date}-coldslice"
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = _report(records)
    out.with_suffix(".md").write_text(report)
    print(report)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--scratch", default=os.environ.get("HDMF_ZARR_BENCH_SCRATCH", "/tmp/hdmf_zarr_coldslice")
    )
    parser.add_argument("--keep", action="store_true", help="keep the written files (for another run)")
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is None:
        drive(args)
    elif args.measure == "bare":
        print(json.dumps(measure_bare(args.path)))
    else:
        print(json.dumps(measure_io(args.measure, args.path)))


if __name__ == "__main__":
    main()
