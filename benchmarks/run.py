"""Benchmark driver: one fresh worker process per backend x workload x phase x repetition.

Run through ``bash benchmarks/run.sh [--quick] [--reps N] [--backends ours,peer014,peer013,hdf5]
[--workloads stress,medium,references,build,remote]``. Writes
``benchmarks/results/<date>[-quick][-<workloads>].jsonl`` (every worker record) and ``.md`` (medians);
the ``-<workloads>`` suffix appears when not all workloads ran.
No timing is asserted anywhere: these are measurements, not tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "worker.py"
OUR_PYTHON = Path(os.environ.get("HDMF_ZARR_BENCH_PYTHON", REPO / ".venv" / "bin" / "python"))
BACKENDS = ("ours", "peer014", "peer013", "hdf5")
PEER_VERSIONS = {"peer014": "0.14.0", "peer013": "0.13.0"}
LABELS = {"ours": "ours", "peer014": "0.14", "peer013": "0.13", "hdf5": "HDF5"}
WORKLOADS = ("stress", "medium", "references")  # NWB files written and read by every backend
ALL_WORKLOADS = (
    *WORKLOADS,
    "build",
    "remote",
    "remote_large",
    "scaling",
)  # --workloads; raw runs with medium
TIMEOUT_S = 1200
# remote: ours with its default client (obstore) and with fsspec, the peers through s3fs; no HDF5
REMOTE_BACKENDS = {"ours": ("ours", "ours-fsspec"), "peer014": ("peer014",), "peer013": ("peer013",)}
REMOTE_LATENCY_MS = 20
# remote_large: ours (obstore; fsspec reads the same file), 0.14; "floor" = concurrent raw GETs (our venv)
REMOTE_LARGE_BACKENDS = {"ours": ("ours", "ours-fsspec"), "peer014": ("peer014",)}
SCALING_SERIES = (200, 2000, 20000)  # quick: a tenth
SCALING_BACKENDS = ("ours", "hdf5")
REQUEST_KINDS = ("GET", "LIST", "HEAD", "PUT", "POST", "DELETE")
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # nothing may reach real AWS
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}

# (workload, phase, metric, label, unit) rows of the main table
ROWS: list[tuple[str, str, str, str]] = [
    ("stress", "write_s", "stress: write", "s"),
    ("stress", "write_peak_mem_mib", "stress: write peak memory (delta maxrss)", "MiB"),
    ("stress", "open_read_s", "stress: open + read() (warm)", "s"),
    ("stress", "read_all_data_s", "stress: read all series' data", "s"),
    ("stress", "files", "stress: files on disk", "n"),
    ("stress", "folders", "stress: folders on disk", "n"),
    ("stress", "bytes", "stress: bytes on disk", "MiB"),
    ("medium", "write_s", "medium: write", "s"),
    ("medium", "write_peak_mem_mib", "medium: write peak memory (delta maxrss)", "MiB"),
    ("medium", "open_read_s", "medium: open + read() (warm)", "s"),
    ("medium", "slice_cold_s", "medium: 1-s slice, cold (first read)", "ms"),
    ("medium", "slice_warm_s", "medium: 1-s slice, warm (median of 10)", "ms"),
    ("medium", "full_read_first_s", "medium: full data[:] (first)", "s"),
    ("medium", "full_read_warm_s", "medium: full data[:] (warm)", "s"),
    ("medium", "files", "medium: files on disk", "n"),
    ("medium", "folders", "medium: folders on disk", "n"),
    ("medium", "bytes", "medium: bytes on disk", "MiB"),
    ("stress", "write_cpu_s", "stress: write, CPU time (user+sys, all threads)", "s"),
    ("stress", "open_read_cpu_s", "stress: open + read(), CPU time", "s"),
    ("stress", "read_all_data_cpu_s", "stress: read all series' data, CPU time", "s"),
    ("medium", "write_cpu_s", "medium: write, CPU time", "s"),
    ("medium", "slice_cold_cpu_s", "medium: 1-s slice cold, CPU time", "ms"),
    ("medium", "full_read_warm_cpu_s", "medium: full data[:] (warm), CPU time", "s"),
    ("references", "write_s", "references: write", "s"),
    ("references", "open_read_s", "references: open + read()", "s"),
    ("references", "resolve_images_s", "references: resolve order_of_images", "s"),
    ("references", "resolve_unit_electrodes_s", "references: resolve units' electrodes", "s"),
    ("references", "resolve_all_s", "references: open+read excluded, all resolution", "s"),
    ("references", "files", "references: files on disk", "n"),
    ("references", "bytes", "references: bytes on disk", "MiB"),
]


def peer_python(version: str) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from peers.venvs import ensure_peer  # the interop tests' cached peer venvs

    return Path(ensure_peer(version))


def backend_env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(S3_ENV)
    if backend == "peer013":
        env["NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE"] = "1"  # 0.13 writes pickled reference datasets
    if backend not in PEER_VERSIONS:  # our venv: measure this checkout's code, whatever is installed
        env["PYTHONPATH"] = str(REPO / "src")
    return env


def checkout_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


class Runner:
    def __init__(self, args: argparse.Namespace, out_jsonl: Path) -> None:
        self.args = args
        self.out = out_jsonl
        self.records: list[dict[str, Any]] = []
        self.pythons: dict[str, Path] = {}
        for b in args.backends:
            self.pythons[b] = peer_python(PEER_VERSIONS[b]) if b in PEER_VERSIONS else OUR_PYTHON
        self.pythons.setdefault("ours-fsspec", OUR_PYTHON)
        self.s3: Any = None  # the S3 server of the remote workload, while it runs
        self.scratch = Path(args.scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)

    def path(self, backend: str, workload: str, rep: int) -> Path:
        """Where *backend* writes *workload* in repetition *rep*: a new path each time, kept to the end.

        No output is deleted before the run ends. ext4 without a journal (this VM's disk) skips, when it
        allocates an inode, every inode freed in the last 60-300 s, reading each one's deletion time
        (``recently_deleted`` in fs/ext4/ialloc.c): after the thousands of files of one zarr output were
        deleted, the next zarr write's ``mkdir`` and file creations took 2-20 times their system time,
        growing run after run (perf: ``find_inode_bit``, ``recently_deleted``), and HDF5's one file did
        not feel it. Deleting between repetitions measured that, not the write."""
        ext = ".nwb" if backend == "hdf5" else ".nwb.zarr"
        return self.scratch / f"{backend}-{workload}-rep{rep}{ext}"

    def worker(
        self,
        backend: str,
        workload: str,
        phase: str,
        path: Path | str,
        rep: int,
        annotate: Callable[[dict], None] | None = None,
        **extra: str,
    ) -> dict:
        python = self.pythons.get(backend, OUR_PYTHON)
        cmd = [str(python), str(WORKER), "--backend", backend, "--workload", workload, "--phase", phase]
        cmd += ["--path", str(path)]
        for k, v in extra.items():
            cmd += [f"--{k}", v]
        if self.args.quick:
            cmd.append("--quick")
        started = time.perf_counter()
        record: dict[str, Any]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=backend_env(backend), timeout=TIMEOUT_S, check=False
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if lines:
                record = json.loads(lines[-1])
            else:
                record = {"backend": backend, "workload": workload, "phase": phase, "ok": False}
                record["error"] = f"worker exited {proc.returncode} without a result: {proc.stderr[-2000:]}"
        except subprocess.TimeoutExpired:
            record = {"backend": backend, "workload": workload, "phase": phase, "ok": False}
            record["error"] = f"timed out after {TIMEOUT_S} s"
        record.update(rep=rep, process_s=time.perf_counter() - started, date=date.today().isoformat())
        record["cpu_count"] = os.cpu_count()
        if annotate is not None:
            annotate(record)
        self.records.append(record)
        with self.out.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        status = "ok" if record.get("ok") else "FAILED: " + str(record.get("error"))[:200]
        print(
            f"  rep {rep} {backend:9s} {workload:10s} {phase:9s} {record['process_s']:7.1f}s {status}",
            flush=True,
        )
        return record

    def run(self) -> None:
        with self.s3_server():
            for rep in range(1, self.args.reps + 1):
                print(f"repetition {rep}/{self.args.reps}", flush=True)
                self.repetition(rep)

    def repetition(self, rep: int) -> None:
        backends = self.args.backends
        for workload in WORKLOADS:
            if workload not in self.args.workloads:
                continue
            for backend in backends:
                path = self.path(backend, workload, rep)
                w = self.worker(backend, workload, "write", path, rep)
                if w.get("ok"):
                    self.worker(backend, workload, "read", path, rep)  # page cache warm: just written
                if workload == "medium" and backend == "ours" and w.get("ok"):
                    self.raw(path, rep)
        if "build" in self.args.workloads:
            self.build_cost(rep)
        if "remote" in self.args.workloads:
            self.remote(rep)
        if "remote_large" in self.args.workloads:
            self.remote_large(rep)
        if "scaling" in self.args.workloads:
            self.scaling(rep)

    @contextlib.contextmanager
    def s3_server(self) -> Iterator[None]:
        """Start the tests' S3 endpoint (moto behind the counting, latency-adding middleware) once."""
        if "remote" not in self.args.workloads and "remote_large" not in self.args.workloads:
            yield
            return
        for key, value in S3_ENV.items():
            os.environ.setdefault(key, value)
        sys.path.insert(0, str(REPO / "tests"))
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
        try:
            from support.servers import start_s3

            server = contextlib.contextmanager(start_s3)()
            self.s3 = server.__enter__()
        except Exception as exc:  # no server: every remote worker is a failure record, the rest runs
            self.s3 = exc
            yield
            return
        try:
            yield
        finally:
            server.__exit__(None, None, None)
            self.s3 = None

    def remote(self, rep: int) -> None:
        """Write (latency 0), then open + read() with 20 ms per request, counting requests by kind."""
        for backend in [b for name in self.args.backends for b in REMOTE_BACKENDS.get(name, ())]:
            if isinstance(self.s3, Exception):
                self.failed(backend, "remote", "read", rep, f"S3 server did not start: {self.s3!r}")
                continue
            s3 = self.s3
            key = f"{backend}/rep{rep}.nwb.zarr"  # a fresh key per repetition: no stale objects
            url, endpoint = f"s3://{s3.bucket}/{key}", s3.endpoint
            s3.log.reset(latency_ms=0)
            w = self.worker(backend, "remote", "write", url, rep, self.count_requests(key), endpoint=endpoint)
            if not w.get("ok"):
                continue
            s3.log.reset(latency_ms=REMOTE_LATENCY_MS)
            self.worker(backend, "remote", "read", url, rep, self.count_requests(), endpoint=endpoint)
            s3.log.reset(latency_ms=0)

    def remote_large(self, rep: int) -> None:
        """Write the large file (latency 0), read it whole with 20 ms per request, then the raw-GET floor."""
        wanted = [b for name in self.args.backends for b in REMOTE_LARGE_BACKENDS.get(name, ())]
        if isinstance(self.s3, Exception):
            for backend in wanted:
                self.failed(backend, "remote_large", "read", rep, f"S3 server did not start: {self.s3!r}")
            return
        s3 = self.s3
        written: dict[str, bool] = {}
        for backend in wanted:
            source = "ours" if backend == "ours-fsspec" else backend  # fsspec reads ours' file
            key = f"large/{source}/rep{rep}.nwb.zarr"
            url = f"s3://{s3.bucket}/{key}"
            if source not in written:
                s3.log.reset(latency_ms=0)
                w = self.worker(
                    source, "remote_large", "write", url, rep, self.count_requests(key), endpoint=s3.endpoint
                )
                written[source] = bool(w.get("ok"))
            if not written[source]:
                continue
            s3.log.reset(latency_ms=REMOTE_LATENCY_MS)
            self.worker(
                backend, "remote_large", "read", url, rep, self.count_requests(), endpoint=s3.endpoint
            )
            s3.log.reset(latency_ms=0)
        if written.get("ours"):
            prefix = f"large/ours/rep{rep}.nwb.zarr/acquisition/{'ElectricalSeries'}/data/"
            # chunk keys: "c.<i>.<j>" (ours since 0.15) or "c/<i>/<j>"; not the array's zarr.json
            keys = [k for k, _ in list_objects(s3, prefix) if k[len(prefix) :].startswith("c")]
            listing = self.scratch / "floor-keys.json"
            listing.write_text(json.dumps({"bucket": s3.bucket, "keys": keys}))
            s3.log.reset(latency_ms=REMOTE_LATENCY_MS)
            self.worker(
                "floor",
                "remote_large",
                "floor",
                "unused",
                rep,
                self.count_requests(),
                endpoint=s3.endpoint,
                keys=str(listing),
            )
            s3.log.reset(latency_ms=0)
        for source in written:  # moto holds objects in memory: drop this repetition's files
            delete_prefix(s3, f"large/{source}/rep{rep}.nwb.zarr/")

    def scaling(self, rep: int) -> None:
        """Write and open + read() the stress file at 200, 2,000 and 20,000 series (ours and HDF5)."""
        sizes = [n // 10 for n in SCALING_SERIES] if self.args.quick else list(SCALING_SERIES)
        for n in sizes:
            for backend in [b for b in SCALING_BACKENDS if b in self.args.backends]:
                path = self.path(backend, f"scaling-{n}", rep)

                def relabel(record: dict, n: int = n) -> None:
                    record["workload"] = f"scaling-{n}"

                w = self.worker(backend, "scaling", "write", path, rep, relabel, series=str(n))
                if w.get("ok"):
                    self.worker(backend, "scaling", "read", path, rep, relabel, series=str(n))

    def count_requests(self, prefix: str | None = None) -> Callable[[dict], None]:
        """Put the server's request counts (and, after a write, the stored nodes) into the record."""

        def annotate(record: dict) -> None:
            counts = self.s3.log.snapshot()
            record["requests"] = counts
            latency_ms = self.s3.log.latency_s * 1000
            result = record.setdefault("result", {})
            for kind in sorted({*REQUEST_KINDS, *counts}):
                result[f"requests_{kind}"] = counts.get(kind, 0)
            result["requests_total"] = sum(counts.values())
            result["latency_ms"] = latency_ms
            if prefix is not None and record.get("ok"):
                result.update(stored_nodes(self.s3, prefix))

        return annotate

    def failed(self, backend: str, workload: str, phase: str, rep: int, error: str) -> None:
        record = {"backend": backend, "workload": workload, "phase": phase, "ok": False, "error": error}
        record.update(rep=rep, date=date.today().isoformat(), cpu_count=os.cpu_count())
        self.records.append(record)
        with self.out.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(f"  rep {rep} {backend:9s} {workload:10s} {phase:9s} FAILED: {error[:200]}", flush=True)

    def raw(self, ours_medium: Path, rep: int) -> None:
        for flavour in ("raw", "raw-zarrs"):
            target = self.path(flavour, "medium", rep)
            w = self.worker(flavour, "raw", "write", target, rep, source=str(ours_medium))
            if w.get("ok"):
                self.worker(flavour, "raw", "read", target, rep, source=str(ours_medium))

    def build_cost(self, rep: int) -> None:
        """hdmf build/construct through the NWBHDF5IO manager, in our venv."""
        for workload in ("stress", "medium"):
            self.worker("build", "build", f"build-{workload}", self.scratch / "unused", rep)
            h5 = self.path("hdf5", workload, rep)
            if not h5.exists():  # hdf5 not among the backends: write a file to construct from (not reported)
                self.pythons.setdefault("hdf5", OUR_PYTHON)
                self.worker("hdf5", workload, "write", h5, rep)
                self.records[-1]["unreported"] = True
            self.worker("build", "build", f"construct-{workload}", h5, rep)


def stored_nodes(s3: Any, prefix: str) -> dict[str, int]:
    """Objects under *prefix*; nodes = groups + arrays (zarr.json for Zarr v3, .zgroup/.zarray for v2)."""
    client = s3.client()
    objects = nodes = nbytes = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            objects += 1
            nbytes += obj["Size"]
            nodes += obj["Key"].rsplit("/", 1)[-1] in ("zarr.json", ".zgroup", ".zarray")
    return {"nodes": nodes, "objects": objects, "bytes": nbytes}


def list_objects(s3: Any, prefix: str) -> list[tuple[str, int]]:
    client = s3.client()
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix):
        out += [(obj["Key"], obj["Size"]) for obj in page.get("Contents", [])]
    return out


def delete_prefix(s3: Any, prefix: str) -> None:
    client = s3.client()
    keys = [k for k, _ in list_objects(s3, prefix)]
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=s3.bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]})


# --------------------------------------------------------------------------- report


def medians(records: list[dict]) -> dict[tuple[str, str, str, str], tuple[float, int]]:
    """(backend, workload, phase, metric) -> (median over ok reps, number of reps)."""
    values: dict[tuple[str, str, str, str], list[float]] = {}
    for r in records:
        if not r.get("ok") or r.get("unreported"):
            continue
        for k, v in r.get("result", {}).items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            values.setdefault((r["backend"], r["workload"], r["phase"], k), []).append(float(v))
    return {k: (statistics.median(v), len(v)) for k, v in values.items()}


def lookup(meds: dict, backend: str, workload: str, metric: str) -> float | None:
    for phase in ("write", "read"):
        hit = meds.get((backend, workload, phase, metric))
        if hit:
            return hit[0]
    return None


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v * 1000:.2f}"
    if unit == "bytes":  # shown in MiB
        return f"{v / 2**20:.1f}"
    if unit == "n":
        return f"{int(v)}"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def report(records: list[dict], args: argparse.Namespace, out_md: Path) -> None:
    meds = medians(records)
    quick = any(r.get("quick") for r in records)
    reps = max((int(r.get("rep", 0)) for r in records), default=0)
    ran = {r["workload"] for r in records}
    versions: dict[str, dict] = {}
    for r in records:
        versions.setdefault(r["backend"], r.get("versions", {}))
    lines = [
        f"# hdmf_zarr benchmarks — {date.today().isoformat()}{' (quick sizes)' if quick else ''}",
        "",
        f"Generated {datetime.now().isoformat(timespec='seconds')} by `bash benchmarks/run.sh "
        f"{' '.join(sys.argv[1:])}` at commit {checkout_commit()} (ours = this checkout's src); "
        f"CPU count {os.cpu_count()}; {reps} repetitions, medians shown; "
        "each figure from a fresh process. Timings on a shared machine are noisy. "
        "No output is deleted before the run ends (see `Runner.path`). "
        f"Workloads: {', '.join(w for w in (*ALL_WORKLOADS, 'raw') if w in ran)}.",
        "",
        "## Versions",
        "",
        "| backend | versions |",
        "|---|---|",
    ]
    for b, v in versions.items():
        if b not in BACKENDS:
            continue  # raw, build and ours-fsspec run in our venv
        v = {k: x for k, x in v.items() if k != "hdmf_zarr"}
        lines.append(f"| {b} | " + ", ".join(f"{k} {x}" for k, x in sorted(v.items())) + " |")
    lines.append("")
    if ran & set(WORKLOADS):
        lines += side_by_side_section(meds, remote="remote" in ran)
    if "raw" in ran:
        lines += raw_section(meds)
    if "build" in ran:
        lines += build_section(meds)
    if "remote" in ran:
        lines += remote_section(meds)
    if "remote_large" in ran:
        lines += remote_large_section(meds)
    if any(w.startswith("scaling-") for w in ran):
        lines += scaling_section(
            meds, sorted({int(w.split("-")[1]) for w in ran if w.startswith("scaling-")})
        )
    if ran & set(WORKLOADS):
        lines += targets_section(meds)
    failures = [r for r in records if not r.get("ok")]
    lines += ["## Failures", ""]
    if not failures:
        lines.append("None: every worker returned a result.")
    for r in failures:
        lines.append(
            f"- rep {r.get('rep')} {r['backend']} {r['workload']} {r['phase']}: `{str(r.get('error'))[:300]}`"
        )
    lines.append("")
    out_md.write_text("\n".join(lines))


def side_by_side_section(meds: dict, *, remote: bool) -> list[str]:
    cols = list(BACKENDS)
    lines = [
        "## Backends side by side",
        "",
        "Times in s (ms where the unit says so), bytes in MiB; ratio < 1 means ours is smaller/faster.",
        "",
        "| measurement | unit | ours | 0.14 | 0.13 | HDF5 | ours/0.14 | ours/0.13 | ours/HDF5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for workload, metric, label, unit in ROWS:
        v = {b: lookup(meds, b, workload, metric) for b in cols}
        shown_unit = "MiB" if metric == "bytes" else unit
        cells = [fmt_value(v[b], "bytes" if metric == "bytes" else unit) for b in cols]
        lines.append(
            f"| {label} | {shown_unit} | " + " | ".join(cells) + " | "
            f"{ratio(v['ours'], v['peer014'])} | {ratio(v['ours'], v['peer013'])} | "
            f"{ratio(v['ours'], v['hdf5'])} |"
        )
    where = "see the Remote section below" if remote else "not run (`--workloads remote`)"
    lines.append(f"| remote (S3, 20 ms per request) | — | {where} | | | | | | |")
    return [*lines, ""]


# (metric, label, unit, phase) rows of the remote table
REMOTE_ROWS: list[tuple[str, str, str, str]] = [
    ("requests_GET", "GET requests", "n", "read"),
    ("requests_LIST", "LIST requests", "n", "read"),
    ("requests_HEAD", "HEAD requests", "n", "read"),
    ("requests_total", "total requests (all kinds)", "n", "read"),
    ("open_read_s", "open + read() wall time", "s", "read"),
    ("nodes", "zarr nodes in the file (groups + arrays)", "n", "write"),
    ("objects", "objects stored", "n", "write"),
    ("requests_total", "write: requests (latency 0)", "n", "write"),
]
REMOTE_COLS = (("ours", "ours"), ("ours-fsspec", "ours (fsspec)"), ("peer014", "0.14"), ("peer013", "0.13"))


def remote_section(meds: dict) -> list[str]:
    head = " | ".join(label for _, label in REMOTE_COLS)
    lines = [
        f"## Remote: open + read() from S3 ({REMOTE_LATENCY_MS} ms per request)",
        "",
        "A real S3 endpoint (moto's server app, 127.0.0.1) behind the tests' counting middleware "
        "(`tests/support/servers.py`), which sleeps 20 ms before answering each request. Each backend "
        "writes a small NWB file (16 electrodes, 20 units, 20 trials, 30 TimeSeries) to its own key at "
        "latency 0; then, in a fresh process, `NWBZarrIO(url, mode='r', storage_options=...)` + `read()`. "
        "Counts are every request the server saw during that process, by kind (LIST = a GET on the "
        "bucket, i.e. ListObjects). ours = default client (obstore); ours (fsspec) = "
        "`storage_options={'backend': 'fsspec'}`; 0.14 and 0.13 read through s3fs (`storage_options` "
        "with `client_kwargs.endpoint_url`). The peers' files are written locally and uploaded "
        "(0.14 refuses `storage_options` outside mode 'r'). Ratios compare ours (obstore).",
        "",
        f"| measurement | unit | {head} | ours/0.14 | ours/0.13 |",
        "|---|---|" + "---|" * (len(REMOTE_COLS) + 2),
    ]
    for metric, label, unit, phase in REMOTE_ROWS:
        v = {}
        for b, _ in REMOTE_COLS:
            hit = meds.get((b, "remote", phase, metric))
            v[b] = hit[0] if hit else None
        cells = " | ".join(fmt_value(v[b], unit) for b, _ in REMOTE_COLS)
        lines.append(
            f"| {label} | {unit} | {cells} | {ratio(v['ours'], v['peer014'])} | "
            f"{ratio(v['ours'], v['peer013'])} |"
        )
    return [*lines, ""]


# (metric, label, unit, phase) rows of the remote_large table
REMOTE_LARGE_ROWS: list[tuple[str, str, str, str]] = [
    ("data_mb_per_s", "data[:] throughput (decoded MB / s; higher is better)", "MB/s", "read"),
    ("data_read_s", "data[:] wall time", "s", "read"),
    ("open_read_s", "open + read() wall time", "s", "read"),
    ("requests_GET", "GET requests (whole process)", "n", "read"),
    ("requests_total", "total requests (whole process)", "n", "read"),
    ("objects", "objects stored", "n", "write"),
    ("write_s", "write (latency 0; 0.14: local + upload)", "s", "write"),
]
REMOTE_LARGE_COLS = (
    ("ours", "ours"),
    ("ours-fsspec", "ours (fsspec)"),
    ("peer014", "0.14"),
    ("floor", "floor (raw GETs)"),
)


def remote_large_section(meds: dict) -> list[str]:
    head = " | ".join(label for _, label in REMOTE_LARGE_COLS)
    lines = [
        f"## Remote large read: one ElectricalSeries from S3 ({REMOTE_LATENCY_MS} ms per request)",
        "",
        "The same moto endpoint and middleware as the remote workload. Each backend writes an NWB file "
        "holding one int16 ElectricalSeries of 2,000,000 x 64 (256 MB decoded; quick: 200,000 rows) at "
        "latency 0 (ours directly, 0.14 locally then uploaded with s3fs); then, with 20 ms added to "
        "every request, a fresh process opens it, `read()`s it and reads `data[:]` whole. ours (fsspec) "
        "reads ours' file with `storage_options={'backend': 'fsspec'}`. The floor is a process doing "
        "nothing but GETs of ours' chunk objects, 64 in flight (obstore), bodies read fully: "
        "what the network and the server allow. Requests are counted over the whole reading process "
        "(open + read() + data[:]); for the floor, only the GETs. The size was scaled to 256 MB (the "
        "issue asked for about 1 GB) so that a run fits in the time and memory of a shared 2-core machine.",
        "",
        f"| measurement | unit | {head} | ours/0.14 | ours/floor |",
        "|---|---|" + "---|" * (len(REMOTE_LARGE_COLS) + 2),
    ]
    for metric, label, unit, phase in REMOTE_LARGE_ROWS:
        v = {}
        for b, _ in REMOTE_LARGE_COLS:
            if b == "floor" and phase == "write":
                v[b] = None  # the floor writes nothing
                continue
            hit = meds.get((b, "remote_large", "floor" if b == "floor" else phase, metric))
            v[b] = hit[0] if hit else None
        cells = " | ".join(fmt_value(v[b], "n" if unit == "n" else "s") for b, _ in REMOTE_LARGE_COLS)
        ratios = f"{ratio(v['ours'], v['peer014'])} | {ratio(v['ours'], v['floor'])}"
        lines.append(f"| {label} | {unit} | {cells} | {ratios} |")
    return [*lines, ""]


def scaling_section(meds: dict, sizes: list[int]) -> list[str]:
    lines = [
        "## Scaling: write and open + read() by number of series",
        "",
        "The stress file (TimeSeries of 100 float64 in one processing module) with 200, 2,000 and 20,000 "
        "series, written and then opened + `read()` in fresh processes; ours and HDF5.",
        "",
        "| series | ours write s | HDF5 write s | ours/HDF5 | ours open+read() s | HDF5 open+read() s "
        "| ours/HDF5 | ours write ms/series | ours open ms/series |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        w = {b: meds.get((b, f"scaling-{n}", "write", "write_s")) for b in SCALING_BACKENDS}
        r = {b: meds.get((b, f"scaling-{n}", "read", "open_read_s")) for b in SCALING_BACKENDS}
        wv = {b: x[0] if x else None for b, x in w.items()}
        rv = {b: x[0] if x else None for b, x in r.items()}
        per_w = f"{wv['ours'] * 1000 / n:.2f}" if wv["ours"] is not None else "—"
        per_r = f"{rv['ours'] * 1000 / n:.2f}" if rv["ours"] is not None else "—"
        write = (
            f"{fmt_value(wv['ours'], 's')} | {fmt_value(wv['hdf5'], 's')} | {ratio(wv['ours'], wv['hdf5'])}"
        )
        opened = (
            f"{fmt_value(rv['ours'], 's')} | {fmt_value(rv['hdf5'], 's')} | {ratio(rv['ours'], rv['hdf5'])}"
        )
        lines.append(f"| {n} | {write} | {opened} | {per_w} | {per_r} |")
    return [*lines, ""]


def raw_section(meds: dict) -> list[str]:
    ours_w = lookup(meds, "ours", "medium", "write_s")
    ours_r = lookup(meds, "ours", "medium", "full_read_warm_s")
    lines = [
        "## Raw zarr floor (medium ElectricalSeries, same chunks and codecs as ours wrote)",
        "",
        "`raw` = plain zarr-python with its own codec pipeline; `raw-zarrs` = zarr-python with the zarrs "
        "codec pipeline (what ours uses for local arrays when zarrs is installed).",
        "",
        "| | write s | full read warm s | ours write / raw write | ours full read / raw full read |",
        "|---|---|---|---|---|",
    ]
    for flavour in ("raw", "raw-zarrs"):
        w = lookup(meds, flavour, "raw", "write_s")
        r = lookup(meds, flavour, "raw", "full_read_warm_s")
        lines.append(
            f"| {flavour} | {fmt_value(w, 's')} | {fmt_value(r, 's')} | "
            f"{ratio(ours_w, w)} | {ratio(ours_r, r)} |"
        )
    lines.append(
        f"| ours (NWBZarrIO, whole file) | {fmt_value(ours_w, 's')} | {fmt_value(ours_r, 's')} | | |"
    )
    build = meds.get(("build", "build", "build-medium", "build_s"))
    if ours_w is not None and build:
        rest = ours_w - build[0]
        raw_w = lookup(meds, "raw-zarrs", "raw", "write_s")
        lines.append(
            f"| ours write minus hdmf build (estimate) | {fmt_value(rest, 's')} | | "
            f"{ratio(rest, raw_w)} (vs raw-zarrs) | |"
        )
    lines += [
        "",
        "Ours' write is the whole NWB file (electrodes, units, trials, 50 series, the link), the raw rows "
        "only the ElectricalSeries array; the hdmf build section below gives the part of ours' write spent "
        "in hdmf's ObjectMapper (containers -> builders), which every backend pays.",
    ]
    return [*lines, ""]


def build_section(meds: dict) -> list[str]:
    lines = [
        "## hdmf build cost (our venv, NWBHDF5IO's manager)",
        "",
        "| workload | manager.build(nwbfile) s | io.read_builder() s | manager.construct(builder) s "
        "| ours write s | ours open+read() s |",
        "|---|---|---|---|---|---|",
    ]
    for w in ("stress", "medium"):
        b = meds.get(("build", "build", f"build-{w}", "build_s"))
        rb = meds.get(("build", "build", f"construct-{w}", "read_builder_s"))
        c = meds.get(("build", "build", f"construct-{w}", "construct_s"))
        cells = [fmt_value(x[0] if x else None, "s") for x in (b, rb, c)]
        cells += [
            fmt_value(lookup(meds, "ours", w, "write_s"), "s"),
            fmt_value(lookup(meds, "ours", w, "open_read_s"), "s"),
        ]
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def targets(meds: dict) -> list[tuple[str, float | None, float | None, float]]:
    """(target, ours value, reference value, allowed ratio): the targets of the performance issue."""
    g = lambda b, w, m: lookup(meds, b, w, m)  # noqa: E731
    h = lambda w, m: (g("ours", w, m), g("hdf5", w, m))  # noqa: E731
    out = [
        ("stress write <= 0.9x HDF5", *h("stress", "write_s"), 0.9),
        ("stress read all series' data <= 1.0x HDF5", *h("stress", "read_all_data_s"), 1.0),
        ("stress open+read warm <= 0.8x HDF5 (keep)", *h("stress", "open_read_s"), 0.8),
        ("medium write <= 0.8x HDF5 (keep)", *h("medium", "write_s"), 0.8),
        ("medium write memory <= 1.0x HDF5", *h("medium", "write_peak_mem_mib"), 1.0),
        ("medium 1-s slice cold <= 1.5x HDF5", *h("medium", "slice_cold_s"), 1.5),
        ("medium 1-s slice warm <= 1.2x HDF5 (keep)", *h("medium", "slice_warm_s"), 1.2),
        ("medium full read warm <= 1.5x HDF5", *h("medium", "full_read_warm_s"), 1.5),
    ]
    build = meds.get(("build", "build", "build-medium", "build_s"))
    ours_w, raw_w = g("ours", "medium", "write_s"), g("raw-zarrs", "raw", "write_s")
    if build and ours_w is not None:
        out.append(
            ("medium (ours write - hdmf build) <= 1.5x raw-zarrs write", ours_w - build[0], raw_w, 1.5)
        )
    return out


def targets_section(meds: dict) -> list[str]:
    lines = [
        '## Targets (issue "Performance: ahead of HDF5 on every row")',
        "",
        "| target | ours | reference | ratio | met |",
        "|---|---|---|---|---|",
    ]
    for name, ours, ref, allowed in targets(meds):
        if ours is None or ref is None:
            met = "not measured"
        elif ref == 0:
            met = "yes" if ours <= 0 else "no (reference is 0)"
        else:
            met = "yes" if ours / ref <= allowed else "no"
        unit = "MiB" if "memory" in name else "ms" if "slice" in name else "s"
        lines.append(
            f"| {name} | {fmt_value(ours, unit)} {unit} | {fmt_value(ref, unit)} {unit} | "
            f"{ratio(ours, ref)} | {met} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check everything end to end")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--workloads",
        default=",".join(ALL_WORKLOADS),
        help="subset of %(default)s (raw runs with medium); a subset names the result files",
    )
    parser.add_argument(
        "--scratch", default=os.environ.get("HDMF_ZARR_BENCH_SCRATCH", "/tmp/hdmf_zarr_bench")
    )
    parser.add_argument("--report-only", metavar="JSONL", help="rebuild the Markdown table from a JSONL file")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; choose from {','.join(BACKENDS)}")
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workloads) - set(ALL_WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {','.join(ALL_WORKLOADS)}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stem = date.today().isoformat() + ("-quick" if args.quick else "")
    if set(args.workloads) != set(ALL_WORKLOADS):
        stem += "-" + "-".join(w for w in ALL_WORKLOADS if w in args.workloads)
    if args.report_only:
        records = [json.loads(ln) for ln in Path(args.report_only).read_text().splitlines() if ln.strip()]
        report(records, args, Path(args.report_only).with_suffix(".md"))
        return 0
    out_jsonl, out_md = results / f"{stem}.jsonl", results / f"{stem}.md"
    out_jsonl.write_text("")  # one run per file: the table is made from exactly these records
    runner = Runner(args, out_jsonl)
    started = time.perf_counter()
    try:
        runner.run()
    finally:
        report(runner.records, args, out_md)
        shutil.rmtree(runner.scratch, ignore_errors=True)
    print(f"done in {time.perf_counter() - started:.0f} s: {out_jsonl} and {out_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
