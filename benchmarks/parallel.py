"""Iterator writes at scale and parallel writes: measurements, not tests (see benchmarks/README.md).

Driver:  python benchmarks/parallel.py [--rows N] [--reps N] [--workloads iterator,jobs]
                                       [--backends ours,peer014,hdf5] [--quick]
Worker:  python benchmarks/parallel.py --worker --backend B --workload W --phase P --path PATH ...

Workloads:
- iterator: an ElectricalSeries int16 ROWS x 64 written through a GenericDataChunkIterator with 100 MB
  buffers of noise (``default_rng(start row)``, standard normal x 300); phases ``produce`` (iterate the
  buffers alone, the floor of any write), ``write`` (wall time and peak RSS growth) and ``read`` (a fresh
  process reads the written series back in 1,000,000-row blocks) for ours, hdmf-zarr 0.14 (its cached
  venv) and HDF5 (pynwb's NWBHDF5IO, h5py defaults).
- jobs: a CPU-bound GenericDataChunkIterator (each 8 MB buffer costs about 0.5 s of numpy work) written
  by ours with number_of_jobs 1 and 2 (worker processes started with "spawn", our default), and by 0.14.

Every figure comes from a fresh process; the driver writes results/<date>-parallel.{jsonl,md}.
Top-level imports stay light: spawned workers re-import this file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from hdmf.data_utils import GenericDataChunkIterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COLS = 64


class NoiseIterator(GenericDataChunkIterator):
    """int16 noise, reproducible per buffer (seeded by the buffer's first row)."""

    def __init__(self, rows: int, **kwargs):
        self._rows = rows
        self._kwargs = kwargs
        super().__init__(**kwargs)

    def _get_data(self, selection):
        rows = selection[0].stop - selection[0].start
        rng = np.random.default_rng(selection[0].start)
        noise = rng.standard_normal((rows, COLS), dtype=np.float32) * 300
        return noise.astype(np.int16)[:, selection[1]]

    def _get_maxshape(self):
        return (self._rows, COLS)

    def _get_dtype(self):
        return np.dtype("int16")

    def _to_dict(self):
        return {"rows": self._rows, **self._kwargs}

    @classmethod
    def _from_dict(cls, dictionary):
        return cls(**dictionary)


class BusyIterator(NoiseIterator):
    """Noise that costs CPU to make: ``work`` rounds of elementwise numpy per buffer."""

    def __init__(self, rows: int, work: int = 40, **kwargs):
        self._work = work
        super().__init__(rows, **kwargs)

    def _get_data(self, selection):
        x = super()._get_data(selection).astype(np.float32)
        for _ in range(self._work):
            x = np.sin(x) * np.float32(300)
        return x.astype(np.int16)

    def _to_dict(self):
        return {**super()._to_dict(), "work": self._work}


def cpu_split():
    """CPU time (user + system) of this process, and of its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def cpu_seconds():
    """CPU time (user + system) of this process and of its finished children (the worker processes)."""
    return sum(cpu_split())


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_iterator(args):
    if args.workload == "jobs":
        return BusyIterator(
            args.rows, work=args.work, buffer_shape=(65_536, COLS), chunk_shape=(16_384, COLS)
        )
    return NoiseIterator(args.rows, buffer_gb=0.1)


def nwb_with(data):
    from pynwb import NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("parallel benchmark", "bench-parallel", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", "shank", "here", device)
    for _ in range(COLS):
        nwb.add_electrode(group=group, location="here")
    region = nwb.create_electrode_table_region(list(range(COLS)), "all")
    nwb.add_acquisition(ElectricalSeries(name="es", data=data, electrodes=region, rate=30_000.0))
    return nwb


def io_for(backend, path):
    if backend == "hdf5":
        from pynwb import NWBHDF5IO

        return NWBHDF5IO(path, mode="w")
    from hdmf_zarr.nwb import NWBZarrIO

    return NWBZarrIO(path, mode="w")


def disk_mib(path):
    p = Path(path)
    if p.is_file():
        return p.stat().st_size / 2**20
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20


def phase_produce(args):
    it = make_iterator(args)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    total = 0
    for chunk in it:
        total += chunk.data.nbytes
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - cpu0, "bytes": total}


def phase_write(args):
    it = make_iterator(args)
    nwb = nwb_with(it)
    before = rss_mib()
    kwargs = {"number_of_jobs": args.jobs} if args.jobs > 1 else {}
    (own0, kids0), t0 = cpu_split(), time.perf_counter()
    with io_for(args.backend, args.path) as io:
        io.write(nwb, **kwargs)
    seconds = time.perf_counter() - t0
    own, kids = cpu_split()
    return {
        "seconds": seconds,
        "cpu_seconds": own + kids - own0 - kids0,
        "parent_cpu_seconds": own - own0,
        "workers_cpu_seconds": kids - kids0,
        "peak_rss_growth_mib": rss_mib() - before,
        "disk_mib": disk_mib(args.path),
    }


#: Rows per block of the blockwise full read (the at-scale table of the performance issue).
READ_BLOCK_ROWS = 1_000_000


def io_for_read(backend, path):
    if backend == "hdf5":
        from pynwb import NWBHDF5IO

        return NWBHDF5IO(path, mode="r")
    from hdmf_zarr.nwb import NWBZarrIO

    return NWBZarrIO(path, mode="r")


def phase_read(args):
    """Open the written file and read the whole series in blocks of READ_BLOCK_ROWS rows (open excluded)."""
    with io_for_read(args.backend, args.path) as io:
        data = io.read().acquisition["es"].data
        rows = data.shape[0]
        checksum = 0
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        for start in range(0, rows, READ_BLOCK_ROWS):
            block = np.asarray(data[start : start + READ_BLOCK_ROWS])
            checksum += int(block[::4096, 0].sum())
        seconds = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
    return {"seconds": seconds, "cpu_seconds": cpu, "checksum": checksum}


def versions():
    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()}
    for name in ("hdmf", "pynwb", "zarr", "numcodecs", "h5py", "numpy", "hdmf_zarr", "zarrs"):
        try:
            out[name] = __import__(name).__version__
        except (ImportError, AttributeError):
            pass
    return out


def worker_main(args):
    record = {"backend": args.backend, "workload": args.workload, "phase": args.phase, "jobs": args.jobs}
    record["work"] = args.work
    try:
        phases = {"produce": phase_produce, "write": phase_write, "read": phase_read}
        result = phases[args.phase](args)
        record.update(ok=True, result=result)
    except Exception as exc:
        import traceback

        record.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    record["versions"] = versions()
    print(json.dumps(record))


# -- driver ------------------------------------------------------------------------------------------


def python_for(backend):
    if backend == "peer014":
        sys.path.insert(0, str(REPO / "tests"))
        from peers.venvs import ensure_peer

        return str(ensure_peer("0.14.0"))
    return os.environ.get("HDMF_ZARR_BENCH_PYTHON", sys.executable)


def run_worker(backend, workload, phase, path, args, jobs=1, keep=False):
    env = dict(os.environ)
    if backend == "ours":
        env["PYTHONPATH"] = str(REPO / "src")
    else:
        env.pop("PYTHONPATH", None)
    cmd = [python_for(backend), str(Path(__file__).resolve()), "--worker", "--backend", backend]
    cmd += ["--workload", workload, "--phase", phase, "--path", str(path), "--rows", str(args.rows)]
    cmd += ["--jobs", str(jobs), "--work", str(args.work)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd="/tmp")
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = {
            "backend": backend,
            "workload": workload,
            "phase": phase,
            "ok": False,
            "error": proc.stderr[-2000:],
        }
    record["process_seconds"] = time.perf_counter() - t0
    record["rows"] = args.rows
    if path.exists() and not keep:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return record


def plan_runs(args):
    runs = []
    backends = args.backends.split(",")
    if "iterator" in args.workloads:
        runs.append(("ours", "iterator", "produce", 1))
        for b in backends:
            runs += [(b, "iterator", "write", 1), (b, "iterator", "read", 1)]
    if "jobs" in args.workloads:
        runs.append(("ours", "jobs", "produce", 1))
        runs += [("ours", "jobs", "write", 1), ("ours", "jobs", "write", 2)]
        if "peer014" in backends:
            runs += [("peer014", "jobs", "write", 1), ("peer014", "jobs", "write", 2)]
    return runs


def median(records, **key):
    values = [r["result"] for r in records if r.get("ok") and all(r.get(k) == v for k, v in key.items())]
    if not values:
        return None
    return {k: statistics.median(v[k] for v in values) for k in values[0]}


def read_table(records, nbytes):
    """The blockwise full read rows of the iterator workload."""
    lines = [
        "",
        f"Blockwise full read ({READ_BLOCK_ROWS:,}-row blocks, fresh process, open excluded):",
        "",
        "| backend | read s | CPU s | read MB/s |",
        "|---|---|---|---|",
    ]
    for backend in ("ours", "peer014", "hdf5"):
        m = median(records, workload="iterator", phase="read", backend=backend)
        if m:
            rate = nbytes / 1e6 / m["seconds"]
            lines.append(f"| {backend} | {m['seconds']:.2f} | {m['cpu_seconds']:.2f} | {rate:.0f} |")
    ours, hdf5 = (median(records, workload="iterator", phase="read", backend=b) for b in ("ours", "hdf5"))
    if ours and hdf5:
        lines += ["", f"ours / HDF5 blockwise read: {ours['seconds'] / hdf5['seconds']:.2f}"]
    return [*lines, ""]


def report(records, out):
    rows = records[0]["rows"] if records else 0
    lines = [f"# Parallel and iterator writes ({dt.date.today()})", ""]
    vers = next((r["versions"] for r in records if r.get("backend") == "ours" and "versions" in r), {})
    lines.append(f"Versions (ours): {json.dumps({k: v for k, v in vers.items() if k != 'load'})}")
    loads = [r["versions"]["load"][0] for r in records if "versions" in r]
    if loads:
        lines.append(
            f"1-minute load average during the runs: {min(loads):.1f} to {max(loads):.1f} on 2 cores "
            "(a shared machine: other jobs ran at the same time)."
        )
    lines.append("")
    produce = median(records, workload="iterator", phase="produce")
    if produce:
        gb = produce["bytes"] / 1e9
        lines += [
            f"## Iterator write: int16 {rows:,} x 64 ({gb:.2f} GB), 100 MB buffers of noise",
            "",
            f"Producing the buffers alone: {produce['seconds']:.1f} s wall, "
            f"{produce.get('cpu_seconds', float('nan')):.1f} s CPU",
            "",
            "| backend | write s | write minus produce s | CPU s | CPU minus produce CPU s "
            "| peak RSS growth MiB | disk MiB |",
            "|---|---|---|---|---|---|---|",
        ]
        for backend in ("ours", "peer014", "hdf5"):
            m = median(records, workload="iterator", phase="write", backend=backend)
            if m:
                cpu = m.get("cpu_seconds", float("nan"))
                lines.append(
                    f"| {backend} | {m['seconds']:.1f} | {m['seconds'] - produce['seconds']:.1f} | "
                    f"{cpu:.1f} | {cpu - produce.get('cpu_seconds', float('nan')):.1f} | "
                    f"{m['peak_rss_growth_mib']:.0f} | {m['disk_mib']:.0f} |"
                )
        ours, hdf5 = (
            median(records, workload="iterator", phase="write", backend=b) for b in ("ours", "hdf5")
        )
        if ours and hdf5:
            lines += ["", f"ours / HDF5 write: {ours['seconds'] / hdf5['seconds']:.2f}"]
        lines += read_table(records, produce["bytes"])
    busy = median(records, workload="jobs", phase="produce")
    if busy:
        lines += [
            "## number_of_jobs with a CPU-bound iterator",
            "",
            f"Work per buffer: {next((r.get('work') for r in records if r.get('work')), '?')} rounds "
            "(--work). number_of_jobs=N: this process and N-1 workers (CPU s: this process + workers).",
            "",
            f"Producing the buffers alone (one process): {busy['seconds']:.1f} s wall, "
            f"{busy.get('cpu_seconds', float('nan')):.1f} s CPU",
            "",
            "| backend | jobs | write s | CPU s (all processes) | CPU s this + workers | speed-up vs 1 job "
            "| jobs x CPU(1 job) / CPU: speed-up on idle cores |",
            "|---|---|---|---|---|---|---|",
        ]
        for backend in ("ours", "peer014"):
            one = median(records, workload="jobs", phase="write", backend=backend, jobs=1)
            for jobs in (1, 2):
                m = median(records, workload="jobs", phase="write", backend=backend, jobs=jobs)
                if m and one:
                    cpu, cpu1 = m.get("cpu_seconds", float("nan")), one.get("cpu_seconds", float("nan"))
                    split = f"{m.get('parent_cpu_seconds', float('nan')):.1f} + "
                    split += f"{m.get('workers_cpu_seconds', float('nan')):.1f}"
                    lines.append(
                        f"| {backend} | {jobs} | {m['seconds']:.1f} | {cpu:.1f} | {split} | "
                        f"{one['seconds'] / m['seconds']:.2f} | {jobs * cpu1 / cpu:.2f} |"
                    )
        lines.append("")
    failures = [r for r in records if not r.get("ok")]
    if failures:
        lines += ["## Failures", ""]
        lines += [
            f"- {r['backend']} {r['workload']} {r['phase']}: {r.get('error', '')[:300]}" for r in failures
        ]
    out.write_text("\n".join(lines) + "\n")


def driver_main(args):
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    records = []
    for rep in range(1, args.reps + 1):
        for backend, workload, phase, jobs in plan_runs(args):
            suffix = ".nwb" if backend == "hdf5" else ".nwb.zarr"
            path = scratch / f"{backend}-{workload}-{jobs}-{rep}{suffix}"
            keep = workload == "iterator" and phase == "write"  # the read phase reads it next
            record = run_worker(backend, workload, phase, path, args, jobs, keep=keep)
            record["rep"] = rep
            records.append(record)
            print(
                json.dumps(
                    {k: record.get(k) for k in ("backend", "workload", "phase", "jobs", "ok", "result")}
                ),
                flush=True,
            )
    shutil.rmtree(scratch, ignore_errors=True)
    subset = "" if args.workloads == "iterator,jobs" else "-" + args.workloads.replace(",", "-")
    stem = HERE / "results" / f"{dt.date.today()}-parallel{subset}{'-quick' if args.quick else ''}"
    stem.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report(records, stem.with_suffix(".md"))
    print(stem.with_suffix(".md").read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", action="store_true")
    p.add_argument("--backend", default="ours")
    p.add_argument("--workload", default="iterator")
    p.add_argument("--phase", default="write")
    p.add_argument("--path", default="/tmp/hdmf_zarr_bench_parallel/x.nwb.zarr")
    p.add_argument("--rows", type=int, default=8_000_000)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--work", type=int, default=40, help="rounds of numpy work per buffer (jobs workload)")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--workloads", default="iterator,jobs")
    p.add_argument("--backends", default="ours,peer014,hdf5")
    p.add_argument("--scratch", default="/tmp/hdmf_zarr_bench_parallel")
    p.add_argument("--quick", action="store_true", help="small sizes, to check the chain end to end")
    p.add_argument("--report-only", metavar="JSONL", help="rebuild the .md next to JSONL from its records")
    args = p.parse_args(argv)
    if args.quick and not args.worker:
        args.rows = 800_000
    if args.report_only:
        source = Path(args.report_only)
        report([json.loads(line) for line in source.read_text().splitlines()], source.with_suffix(".md"))
    elif args.worker:
        if args.workload == "jobs":
            args.rows = min(args.rows, 2_097_152)
        worker_main(args)
    else:
        driver_main(args)


if __name__ == "__main__":
    main()
