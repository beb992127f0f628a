"""Benchmark driver: one fresh worker process per backend x workload x phase x repetition.

Run through ``bash benchmarks/run.sh [--quick] [--reps N] [--backends ours,peer014,peer013,hdf5]``.
Writes ``benchmarks/results/<date>[-quick].jsonl`` (every worker record) and ``.md`` (medians).
No timing is asserted anywhere: these are measurements, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
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
WORKLOADS = ("stress", "medium", "references")
TIMEOUT_S = 1200

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
    if backend == "peer013":
        env["NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE"] = "1"  # 0.13 writes pickled reference datasets
    return env


class Runner:
    def __init__(self, args: argparse.Namespace, out_jsonl: Path) -> None:
        self.args = args
        self.out = out_jsonl
        self.records: list[dict[str, Any]] = []
        self.pythons: dict[str, Path] = {}
        for b in args.backends:
            self.pythons[b] = peer_python(PEER_VERSIONS[b]) if b in PEER_VERSIONS else OUR_PYTHON
        self.scratch = Path(args.scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)

    def path(self, backend: str, workload: str) -> Path:
        ext = ".nwb" if backend == "hdf5" else ".nwb.zarr"
        return self.scratch / f"{backend}-{workload}{ext}"

    def worker(self, backend: str, workload: str, phase: str, path: Path, rep: int, **extra: str) -> dict:
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
        backends = self.args.backends
        for rep in range(1, self.args.reps + 1):
            print(f"repetition {rep}/{self.args.reps}", flush=True)
            for workload in WORKLOADS:
                for backend in backends:
                    path = self.path(backend, workload)
                    remove(path)
                    w = self.worker(backend, workload, "write", path, rep)
                    if w.get("ok"):
                        self.worker(backend, workload, "read", path, rep)  # page cache warm: just written
                    if workload == "medium" and backend == "ours" and w.get("ok"):
                        self.raw(path, rep)
            self.build_cost(rep)
            for workload in ("stress", "references"):
                for backend in backends:
                    remove(self.path(backend, workload))

    def raw(self, ours_medium: Path, rep: int) -> None:
        for flavour in ("raw", "raw-zarrs"):
            target = self.scratch / f"{flavour}-medium.zarr"
            remove(target)
            w = self.worker(flavour, "raw", "write", target, rep, source=str(ours_medium))
            if w.get("ok"):
                self.worker(flavour, "raw", "read", target, rep, source=str(ours_medium))
            remove(target)

    def build_cost(self, rep: int) -> None:
        """hdmf build/construct through the NWBHDF5IO manager, in our venv."""
        for workload in ("stress", "medium"):
            self.worker("build", "build", f"build-{workload}", self.scratch / "unused", rep)
            h5 = self.path("hdf5", workload)
            if not h5.exists():  # hdf5 not among the backends: write a file to construct from (not reported)
                self.pythons.setdefault("hdf5", OUR_PYTHON)
                self.worker("hdf5", workload, "write", h5, rep)
                self.records[-1]["unreported"] = True
            self.worker("build", "build", f"construct-{workload}", h5, rep)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


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
    cols = list(BACKENDS)
    quick = any(r.get("quick") for r in records)
    reps = max((int(r.get("rep", 0)) for r in records), default=0)
    versions: dict[str, dict] = {}
    for r in records:
        versions.setdefault(r["backend"], r.get("versions", {}))
    lines = [
        f"# hdmf_zarr benchmarks — {date.today().isoformat()}{' (quick sizes)' if quick else ''}",
        "",
        f"Generated {datetime.now().isoformat(timespec='seconds')} by `bash benchmarks/run.sh "
        f"{' '.join(sys.argv[1:])}`; CPU count {os.cpu_count()}; {reps} repetitions, medians shown; "
        "each figure from a fresh process. Timings on a shared machine are noisy.",
        "",
        "## Versions",
        "",
        "| backend | versions |",
        "|---|---|",
    ]
    for b, v in versions.items():
        if b not in BACKENDS:
            continue  # raw and build run in our venv
        v = {k: x for k, x in v.items() if k != "hdmf_zarr"}
        lines.append(f"| {b} | " + ", ".join(f"{k} {x}" for k, x in sorted(v.items())) + " |")
    lines += [
        "",
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
    lines.append("| remote (S3/HTTP) | — | see below | | | | | | |")
    lines += [
        "",
        "*remote*: not measured here. Remote open/read figures (request counts and times against a local "
        "moto S3 server and an HTTP server) belong to the stores work; see `tests/integration` "
        "(request-bound tests) and the stores report in `changes/`.",
        "",
    ]
    lines += raw_section(meds)
    lines += build_section(meds)
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
    """(target, ours value, reference value, allowed ratio)."""
    g = lambda b, w, m: lookup(meds, b, w, m)  # noqa: E731
    return [
        ("stress write <= HDF5", g("ours", "stress", "write_s"), g("hdf5", "stress", "write_s"), 1.0),
        (
            "stress open+read warm <= HDF5",
            g("ours", "stress", "open_read_s"),
            g("hdf5", "stress", "open_read_s"),
            1.0,
        ),
        (
            "medium write time <= HDF5 (compressing)",
            g("ours", "medium", "write_s"),
            g("hdf5", "medium", "write_s"),
            1.0,
        ),
        (
            "medium write memory <= HDF5",
            g("ours", "medium", "write_peak_mem_mib"),
            g("hdf5", "medium", "write_peak_mem_mib"),
            1.0,
        ),
        (
            "medium 1-s slice warm <= 1.5x HDF5",
            g("ours", "medium", "slice_warm_s"),
            g("hdf5", "medium", "slice_warm_s"),
            1.5,
        ),
        (
            "medium full read warm <= 1.2x HDF5",
            g("ours", "medium", "full_read_warm_s"),
            g("hdf5", "medium", "full_read_warm_s"),
            1.2,
        ),
        (
            "medium write <= 1.1x raw zarr (zarr pipeline)",
            g("ours", "medium", "write_s"),
            g("raw", "raw", "write_s"),
            1.1,
        ),
        (
            "medium write <= 1.1x raw zarr (zarrs pipeline)",
            g("ours", "medium", "write_s"),
            g("raw-zarrs", "raw", "write_s"),
            1.1,
        ),
    ]


def targets_section(meds: dict) -> list[str]:
    lines = [
        '## Targets (issue "Benchmarks")',
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
        "--scratch", default=os.environ.get("HDMF_ZARR_BENCH_SCRATCH", "/tmp/hdmf_zarr_bench")
    )
    parser.add_argument("--report-only", metavar="JSONL", help="rebuild the Markdown table from a JSONL file")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; choose from {','.join(BACKENDS)}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stem = date.today().isoformat() + ("-quick" if args.quick else "")
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
