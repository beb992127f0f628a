"""One benchmark measurement in this (fresh) process; prints one JSON line on stdout.

Runs in every venv (ours, hdmf-zarr 0.14 on py3.12, hdmf-zarr 0.13 on py3.11), so it uses only the
public pynwb + ``NWBZarrIO`` / ``NWBHDF5IO`` API and python3.11 syntax. The driver (``run.py``) calls
it once per backend x workload x phase x repetition.

    python worker.py --backend ours --workload medium --phase write --path /tmp/x.nwb.zarr [--quick]

Backends: ours, peer014, peer013 (NWBZarrIO of the venv's hdmf_zarr), hdf5 (NWBHDF5IO).
Backend ``ours-fsspec`` (remote workload only) is ours with ``storage_options={"backend": "fsspec"}``.
The ``remote`` workload takes ``--path s3://bucket/key --endpoint http://127.0.0.1:PORT`` (the driver's
moto server): phase ``write`` puts a ~150-node file at the key, phase ``read`` times open + ``read()``.
Special workloads run in our venv only: ``raw`` (plain zarr-python on the medium array, chunks and
codecs copied from ours' file; ``--backend raw`` = zarr's own codec pipeline, ``raw-zarrs`` = zarrs)
and ``build`` (hdmf ObjectMapper build/construct cost through the NWBHDF5IO manager).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import traceback
from datetime import UTC, datetime

import numpy as np

SIZES = {
    # workload: (full, quick)
    "stress_series": (2000, 200),
    "medium_samples": (3_000_000, 300_000),
    "references_images": (5000, 500),
    "large_samples": (2_000_000, 200_000),  # remote_large: 2,000,000 x 64 int16 = 256 MB (quick 25.6 MB)
}
FLOOR_CONCURRENCY = 64  # remote_large floor: concurrent raw GETs in flight
REMOTE_SERIES = 30  # with 16 electrodes, 20 units and 20 trials: 154 zarr nodes in ours' layout
REMOTE_MODULE = "misc"
N_CHANNELS = 64
SERIES_NAME = "ElectricalSeries"
SLICE = (1_000_000, 1_030_000)  # one second at 30 kHz (quick: scaled into range)
SLICE_QUICK = (100_000, 130_000)


def size(key, quick):
    full, small = SIZES[key]
    return small if quick else full


def rss_mib():
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss():
    """Start the process's peak RSS afresh at its current RSS (Linux: ``/proc/self/clear_refs`` 5 resets
    the high-water mark that ``ru_maxrss`` reports), so that the peak measured next is the phase's own
    and not a transient's before it: the temporaries that make the medium data could set a peak above
    the whole HDF5 write, which then measured 0. Elsewhere nothing (the peak then includes them)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


# --------------------------------------------------------------------------- IO helpers


def io_class(backend):
    if backend == "hdf5":
        from pynwb import NWBHDF5IO

        return NWBHDF5IO
    from hdmf_zarr import NWBZarrIO

    return NWBZarrIO


def open_write(backend, path):
    cls = io_class(backend)
    return cls(path, mode="w")


def open_read(backend, path):
    cls = io_class(backend)
    return cls(path, mode="r")


def disk_usage(path):
    if os.path.isfile(path):
        return {"files": 1, "folders": 0, "bytes": os.path.getsize(path)}
    files = folders = nbytes = 0
    for root, dirs, names in os.walk(path):
        folders += len(dirs)
        files += len(names)
        for n in names:
            nbytes += os.path.getsize(os.path.join(root, n))
    return {"files": files, "folders": folders, "bytes": nbytes}


# --------------------------------------------------------------------------- file builders


def base_file(identifier):
    from pynwb import NWBFile

    return NWBFile(
        session_description="hdmf_zarr benchmark",
        identifier=identifier,
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )


def build_stress(quick, series=None):
    from pynwb import TimeSeries

    nwb = base_file("stress")
    module = nwb.create_processing_module(name="stress", description="many small series")
    rng = np.random.default_rng(0)
    for i in range(series if series is not None else size("stress_series", quick)):
        module.add(TimeSeries(name=f"ts{i:05d}", data=rng.standard_normal(100), unit="a.u.", rate=1.0))
    return nwb


def add_electrodes(nwb, n=N_CHANNELS):
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(name="shank0", description="shank", location="CA1", device=device)
    for i in range(n):
        nwb.add_electrode(group=group, location="CA1", x=float(i), y=0.0, z=0.0)
    return group


def medium_data(quick, key="medium_samples"):
    """int16 noise, made in blocks so no float64 copy of the whole array inflates the peak-RSS baseline."""
    rng = np.random.default_rng(0)
    n = size(key, quick)
    out = np.empty((n, N_CHANNELS), dtype=np.int16)
    block = 50_000
    for start in range(0, n, block):
        stop = min(n, start + block)
        out[start:stop] = rng.standard_normal((stop - start, N_CHANNELS)) * 50
    return out


def build_medium(quick, data):
    from pynwb import TimeSeries
    from pynwb.ecephys import ElectricalSeries

    nwb = base_file("medium")
    add_electrodes(nwb)
    region = nwb.create_electrode_table_region(list(range(N_CHANNELS)), "all electrodes")
    nwb.add_acquisition(
        ElectricalSeries(name=SERIES_NAME, data=data, electrodes=region, rate=30000.0, starting_time=0.0)
    )
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(900, 1100))
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 100.0, n)))
    nwb.add_trial_column(name="label", description="trial label")
    for t in range(500):
        nwb.add_trial(start_time=t * 0.2, stop_time=t * 0.2 + 0.1, label=f"trial-{t}")
    module = nwb.create_processing_module(name="misc", description="small series")
    first = None
    for i in range(50):
        ts = TimeSeries(
            name=f"small{i:02d}", data=rng.standard_normal(100), unit="a.u.", timestamps=np.arange(100) * 0.01
        )
        module.add(ts)
        if first is None:
            first = ts
    # the soft link: timestamps given as another TimeSeries
    module.add(TimeSeries(name="linked", data=rng.standard_normal(100), unit="a.u.", timestamps=first))
    return nwb


def build_references(quick):
    from pynwb.base import ImageReferences, Images
    from pynwb.image import GrayscaleImage

    nwb = base_file("references")
    add_electrodes(nwb)
    n = size("references_images", quick)
    images = [
        GrayscaleImage(name=f"img{i:05d}", data=np.full((2, 2), i % 255, dtype=np.uint8)) for i in range(n)
    ]
    container = Images(
        name="images",
        images=images,
        description="tiny images",
        order_of_images=ImageReferences(name="order_of_images", data=images),
    )
    nwb.add_acquisition(container)
    rng = np.random.default_rng(2)
    for _ in range(100):
        electrodes = sorted(int(e) for e in rng.choice(N_CHANNELS, 4, replace=False))
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 10.0, 20)), electrodes=electrodes)
    return nwb


def build_remote():
    """A small file with ~150 zarr nodes (groups + arrays): what opening a typical session costs."""
    from pynwb import TimeSeries

    nwb = base_file("remote")
    add_electrodes(nwb, 16)
    rng = np.random.default_rng(3)
    for _ in range(20):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 10.0, 50)))
    nwb.add_trial_column(name="label", description="trial label")
    for t in range(20):
        nwb.add_trial(start_time=float(t), stop_time=t + 0.5, label=f"trial-{t}")
    module = nwb.create_processing_module(name=REMOTE_MODULE, description="small series")
    for i in range(REMOTE_SERIES):
        module.add(TimeSeries(name=f"ts{i:02d}", data=rng.standard_normal(100), unit="a.u.", rate=10.0))
    return nwb


def build_large(quick):
    """remote_large: one ElectricalSeries (int16, 64 channels) and its electrode table."""
    from pynwb.ecephys import ElectricalSeries

    nwb = base_file("large")
    add_electrodes(nwb)
    region = nwb.create_electrode_table_region(list(range(N_CHANNELS)), "all electrodes")
    data = medium_data(quick, "large_samples")
    nwb.add_acquisition(
        ElectricalSeries(name=SERIES_NAME, data=data, electrodes=region, rate=30000.0, starting_time=0.0)
    )
    return nwb


# --------------------------------------------------------------------------- phases


def timed_write(backend, path, nwb):
    # The IO class is imported before the baseline, for every backend alike: pynwb (imported by the file
    # builder) has already imported NWBHDF5IO and h5py, so the HDF5 row never counted its library's import.
    io_class(backend)
    reset_peak_rss()
    before = rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    with open_write(backend, path) as io:
        io.write(nwb)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"write_s": wall, "write_cpu_s": cpu, "write_peak_mem_mib": rss_mib() - before, **disk_usage(path)}


def phase_write(args):
    if args.workload == "stress":
        nwb = build_stress(args.quick)
    elif args.workload == "medium":
        nwb = build_medium(args.quick, medium_data(args.quick))
    elif args.workload == "references":
        nwb = build_references(args.quick)
    else:
        raise ValueError(f"no write phase for workload {args.workload!r}")
    return timed_write(args.backend, args.path, nwb)


def phase_read(args):
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    io = open_read(args.backend, args.path)
    nwb = io.read()
    out["open_read_s"] = time.perf_counter() - t0
    out["open_read_cpu_s"] = time.process_time() - c0
    try:
        if args.workload == "stress":
            t0, c0 = time.perf_counter(), time.process_time()
            total = 0
            for ts in nwb.processing["stress"].data_interfaces.values():
                total += len(ts.data[:])
            out["read_all_data_s"] = time.perf_counter() - t0
            out["read_all_data_cpu_s"] = time.process_time() - c0
            out["values_read"] = total
        elif args.workload == "medium":
            data = nwb.acquisition[SERIES_NAME].data
            lo, hi = SLICE_QUICK if args.quick else SLICE
            t0, c0 = time.perf_counter(), time.process_time()
            first = data[lo:hi, :]
            out["slice_cold_s"] = time.perf_counter() - t0
            out["slice_cold_cpu_s"] = time.process_time() - c0
            times = []
            for _ in range(10):
                t0 = time.perf_counter()
                again = data[lo:hi, :]
                times.append(time.perf_counter() - t0)
            out["slice_warm_s"] = statistics.median(times)
            assert first.shape == again.shape == (hi - lo, N_CHANNELS)
            t0 = time.perf_counter()
            full = data[:]
            out["full_read_first_s"] = time.perf_counter() - t0
            del full
            t0, c0 = time.perf_counter(), time.process_time()
            full = data[:]
            out["full_read_warm_s"] = time.perf_counter() - t0
            out["full_read_warm_cpu_s"] = time.process_time() - c0
            out["full_shape"] = list(full.shape)
            # touch the link target so a broken link would show
            linked = nwb.processing["misc"]["linked"]
            out["link_ok"] = linked.timestamps is not None and len(linked.timestamps[:]) == 100
        elif args.workload == "references":
            t0 = time.perf_counter()
            order = nwb.acquisition["images"].order_of_images
            names = [img.name for img in order.data[:]]
            out["resolve_images_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            units = nwb.units
            n_rows = 0
            for i in range(len(units)):
                df = units["electrodes"][i]
                n_rows += len(df)
            out["resolve_unit_electrodes_s"] = time.perf_counter() - t0
            out["resolve_all_s"] = out["resolve_images_s"] + out["resolve_unit_electrodes_s"]
            out["images_resolved"] = len(names)
            out["electrode_rows_resolved"] = n_rows
    finally:
        io.close()
    return out


def s3fs_options(endpoint):
    """s3fs spellings, as a user of the peer would pass them."""
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }


def remote_options(backend, endpoint):
    if backend == "ours":  # default client (obstore when installed)
        return {"endpoint_url": endpoint, "key": "testing", "secret": "testing", "region": "us-east-1"}
    if backend == "ours-fsspec":
        return {**s3fs_options(endpoint), "backend": "fsspec"}
    return s3fs_options(endpoint)  # peers: FsspecStore.from_url (0.14) / zarr 2 FSStore (0.13)


def upload(local, url, endpoint):
    """Put every file of the local store under *url* (how a peer file gets to S3)."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3fs_options(endpoint))
    target = url.split("://", 1)[1].rstrip("/")
    n = 0
    for root, _dirs, names in os.walk(local):
        for name in names:
            path = os.path.join(root, name)
            fs.put_file(path, target + "/" + os.path.relpath(path, local).replace(os.sep, "/"))
            n += 1
    return n


def phase_remote(args):
    """write: the file at the key (ours directly, the peers locally then uploaded); read: open + read()."""
    from hdmf_zarr import NWBZarrIO

    options = remote_options(args.backend, args.endpoint)
    if args.phase == "write":
        nwb = build_remote()
        t0 = time.perf_counter()
        if args.backend in ("ours", "ours-fsspec"):
            with NWBZarrIO(args.path, mode="w", storage_options=options) as io:
                io.write(nwb)
            return {"write_s": time.perf_counter() - t0, "written": "direct"}
        # 0.14 refuses storage_options in mode "w" (its FsspecStore path is read-only), so write locally
        import shutil
        import tempfile

        local = tempfile.mkdtemp(prefix="hdmf_zarr_bench_remote_")
        try:
            with NWBZarrIO(os.path.join(local, "f.nwb.zarr"), mode="w") as io:
                io.write(nwb)
            uploaded = upload(os.path.join(local, "f.nwb.zarr"), args.path, args.endpoint)
        finally:
            shutil.rmtree(local, ignore_errors=True)
        return {"write_s": time.perf_counter() - t0, "written": "local+upload", "uploaded": uploaded}
    t0 = time.perf_counter()
    io = NWBZarrIO(args.path, mode="r", storage_options=options)
    try:
        nwb = io.read()
        wall = time.perf_counter() - t0
        series = len(nwb.processing[REMOTE_MODULE].data_interfaces)
        if series != REMOTE_SERIES:
            raise AssertionError(f"read {series} series, wrote {REMOTE_SERIES}")
    finally:
        io.close()
    return {"open_read_s": wall, "series": series}


def write_remote(backend, url, endpoint, nwb):
    """Ours writes to S3 directly; a peer writes locally and uploads (0.14: storage_options only in 'r')."""
    from hdmf_zarr import NWBZarrIO

    if backend in ("ours", "ours-fsspec"):
        with NWBZarrIO(url, mode="w", storage_options=remote_options(backend, endpoint)) as io:
            io.write(nwb)
        return {"written": "direct"}
    import shutil
    import tempfile

    local = tempfile.mkdtemp(prefix="hdmf_zarr_bench_remote_")
    try:
        with NWBZarrIO(os.path.join(local, "f.nwb.zarr"), mode="w") as io:
            io.write(nwb)
        uploaded = upload(os.path.join(local, "f.nwb.zarr"), url, endpoint)
    finally:
        shutil.rmtree(local, ignore_errors=True)
    return {"written": "local+upload", "uploaded": uploaded}


def phase_remote_large(args):
    """write: the large file at the key; read: open + read(), then the whole ElectricalSeries data[:];
    floor (our venv): concurrent raw GETs of the chunk objects listed in --keys (obstore)."""
    if args.phase == "write":
        nwb = build_large(args.quick)
        t0 = time.perf_counter()
        out = write_remote(args.backend, args.path, args.endpoint, nwb)
        return {"write_s": time.perf_counter() - t0, **out}
    if args.phase == "floor":
        return raw_get_floor(args)
    from hdmf_zarr import NWBZarrIO

    t0 = time.perf_counter()
    io = NWBZarrIO(args.path, mode="r", storage_options=remote_options(args.backend, args.endpoint))
    try:
        nwb = io.read()
        open_read = time.perf_counter() - t0
        data = nwb.acquisition[SERIES_NAME].data
        t0 = time.perf_counter()
        full = np.asarray(data[:])
        wall = time.perf_counter() - t0
    finally:
        io.close()
    expected = (size("large_samples", args.quick), N_CHANNELS)
    if full.shape != expected:
        raise AssertionError(f"read shape {full.shape}, wrote {expected}")
    return {
        "open_read_s": open_read,
        "data_read_s": wall,
        "data_bytes": int(full.nbytes),
        "data_mb_per_s": full.nbytes / 1e6 / wall,
    }


def raw_get_floor(args):
    """GET every object named in --keys (a JSON list), FLOOR_CONCURRENCY at a time, bodies read fully."""
    import asyncio

    import obstore
    from obstore.store import S3Store

    with open(args.keys) as fh:
        listing = json.load(fh)
    if not listing["keys"]:
        raise ValueError(f"no chunk objects were listed for the floor in {args.keys}: nothing to GET")
    store = S3Store(
        listing["bucket"],
        config={
            "endpoint": args.endpoint,
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "region": "us-east-1",
            "virtual_hosted_style_request": False,
        },
        client_options={"allow_http": True},
    )

    async def fetch_all():
        sem = asyncio.Semaphore(FLOOR_CONCURRENCY)

        async def one(key):
            async with sem:
                got = await obstore.get_async(store, key)
                return len(await got.bytes_async())

        return await asyncio.gather(*(one(k) for k in listing["keys"]))

    t0 = time.perf_counter()
    sizes = asyncio.run(fetch_all())
    wall = time.perf_counter() - t0
    stored = sum(sizes)
    decoded = size("large_samples", args.quick) * N_CHANNELS * 2
    return {
        "data_read_s": wall,
        "objects": len(sizes),
        "stored_bytes": stored,
        "data_bytes": decoded,
        "data_mb_per_s": decoded / 1e6 / wall,
    }


def phase_scaling(args):
    """The stress file with --series series: write (phase write), or open + read() (phase read)."""
    if args.phase == "write":
        return timed_write(args.backend, args.path, build_stress(args.quick, int(args.series)))
    t0, c0 = time.perf_counter(), time.process_time()
    io = open_read(args.backend, args.path)
    try:
        nwb = io.read()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        series = len(nwb.processing["stress"].data_interfaces)
    finally:
        io.close()
    if series != int(args.series):
        raise AssertionError(f"read {series} series, wrote {args.series}")
    return {"open_read_s": wall, "open_read_cpu_s": cpu, "series": series}


def phase_raw(args):
    """Plain zarr-python on the medium array with ours' chunks and codecs (our venv only)."""
    import zarr

    if args.backend == "raw-zarrs":
        zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})
    src = zarr.open_array(args.source + f"/acquisition/{SERIES_NAME}/data", mode="r")
    meta = {
        "chunks": list(src.chunks),
        "shards": list(src.shards) if src.shards else None,
        "compressors": [repr(c) for c in src.compressors],
        "filters": [repr(f) for f in src.filters],
        "serializer": repr(src.serializer),
        "codec_pipeline": zarr.config.get("codec_pipeline.path"),
    }
    if args.phase == "write":
        data = medium_data(args.quick)
        assert data.shape == src.shape
        assert data.dtype == src.dtype
        before = rss_mib()
        t0 = time.perf_counter()
        arr = zarr.create_array(
            store=args.path,
            shape=data.shape,
            dtype=data.dtype,
            chunks=src.chunks,
            shards=src.shards,
            compressors=src.compressors,
            filters=src.filters,
            serializer=src.serializer,
            zarr_format=src.metadata.zarr_format,
            overwrite=True,
        )
        arr[:] = data
        wall = time.perf_counter() - t0
        return {
            "write_s": wall,
            "write_peak_mem_mib": rss_mib() - before,
            "meta": meta,
            **disk_usage(args.path),
        }
    arr = zarr.open_array(args.path, mode="r")
    t0 = time.perf_counter()
    full = arr[:]
    first = time.perf_counter() - t0
    del full  # as in the NWB read phase: the second read must not hold two copies
    t0 = time.perf_counter()
    full = arr[:]
    warm = time.perf_counter() - t0
    return {
        "full_read_first_s": first,
        "full_read_warm_s": warm,
        "full_shape": list(full.shape),
        "meta": meta,
    }


def phase_build(args):
    """hdmf build (containers -> builders) and construct (builders -> containers) via NWBHDF5IO's manager."""
    from pynwb import NWBHDF5IO, get_manager

    kind, _, of = args.phase.partition("-")  # build-stress, build-medium, construct-stress, ...
    if kind == "build":
        if of == "stress":
            nwb = build_stress(args.quick)
        else:
            nwb = build_medium(args.quick, medium_data(args.quick))
        manager = get_manager()
        t0 = time.perf_counter()
        manager.build(nwb)
        return {"build_s": time.perf_counter() - t0}
    # construct: read builders from the HDF5 file, then construct with a fresh manager
    with NWBHDF5IO(args.path, mode="r") as io:
        t0 = time.perf_counter()
        builder = io.read_builder()
        read_builder = time.perf_counter() - t0
        t0 = time.perf_counter()
        io.manager.construct(builder)
        construct = time.perf_counter() - t0
    return {"read_builder_s": read_builder, "construct_s": construct}


def versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    names = ("hdmf-zarr", "hdmf_zarr", "hdmf", "pynwb", "zarr", "h5py", "numpy", "numcodecs", "zarrs")
    for name in (*names, "obstore", "fsspec", "s3fs"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True)
    parser.add_argument(
        "--workload",
        required=True,
        choices=["stress", "medium", "references", "raw", "build", "remote", "remote_large", "scaling"],
    )
    parser.add_argument("--phase", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--source", help="raw: ours' medium file to copy chunks/codecs from")
    parser.add_argument("--endpoint", help="remote: the S3 endpoint URL (127.0.0.1 only)")
    parser.add_argument("--series", help="scaling: number of TimeSeries")
    parser.add_argument("--keys", help="remote_large floor: JSON file with the bucket and object keys")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    record = {
        "backend": args.backend,
        "workload": args.workload,
        "phase": args.phase,
        "quick": args.quick,
        "versions": versions(),
    }
    try:
        if args.workload == "raw":
            result = phase_raw(args)
        elif args.workload == "build":
            result = phase_build(args)
        elif args.workload == "remote":
            result = phase_remote(args)
        elif args.workload == "remote_large":
            result = phase_remote_large(args)
        elif args.workload == "scaling":
            result = phase_scaling(args)
        elif args.phase == "write":
            result = phase_write(args)
        elif args.phase == "read":
            result = phase_read(args)
        else:
            raise ValueError(f"unknown phase {args.phase!r}")
        record["ok"] = True
        record["result"] = result
    except Exception as exc:  # a backend failing on a workload is a result, not a crash
        record["ok"] = False
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc()[-4000:]
    record["peak_rss_mib"] = rss_mib()
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
