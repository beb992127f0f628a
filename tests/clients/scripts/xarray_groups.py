"""xarray opens every group of Zarr NWB/HDMF files of ours: ``xarray.open_zarr(path, group=...)``.

Usage: xarray_groups.py OUT_DIR [ZARR_FILE ...]. Writes each test case of tests/content (Zarr v3, ours)
into OUT_DIR, then opens every group of those files and of the given ones. Prints one JSON document:
file -> group path -> {"ok": variable dims} or {"error": what xarray raised}.
"""

import json
import sys
from pathlib import Path

import xarray
import zarr

from content.cases import CASES, build
from peers.caseio import open_io


def groups(root, prefix=""):
    yield prefix or "/"
    for name, sub in sorted(root.groups()):
        yield from groups(sub, f"{prefix}/{name}")


def open_groups(path):
    facts = {}
    for group in groups(zarr.open_group(str(path), mode="r")):
        try:
            with xarray.open_zarr(str(path), group=group, consolidated=False, chunks=None) as ds:
                facts[group] = {"ok": {name: list(var.dims) for name, var in ds.variables.items()}}
        except Exception as exc:  # each group's outcome is a fact to report
            facts[group] = {"error": f"{type(exc).__name__}: {exc}"}
    return facts


def main(out, given):
    files = list(given)
    for case in sorted(CASES):
        container, _ = build(case)
        path = out / f"{case}.zarr"
        with open_io(case, path, "w") as io:
            io.write(container)
        files.append(path)
    print(json.dumps({str(path): open_groups(path) for path in files}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
