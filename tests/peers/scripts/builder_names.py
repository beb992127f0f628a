"""Read PATH with the importable hdmf_zarr at the builder level; print JSON: every node's path (as the
names read), its attribute names, and its links' names. Used to check what another reader sees of names."""

import json
import sys

from hdmf.common import get_manager

from hdmf_zarr import ZarrIO


def walk(builder, path, out):
    out[path] = {
        "attributes": sorted(builder.attributes),
        "links": sorted(getattr(builder, "links", {}) or {}),
    }
    for name, sub in sorted(getattr(builder, "groups", {}).items()):
        walk(sub, f"{path}/{name}", out)
    for name, sub in sorted(getattr(builder, "datasets", {}).items()):
        walk(sub, f"{path}/{name}", out)


with ZarrIO(sys.argv[1], mode="r", manager=get_manager()) as io:
    nodes = {}
    walk(io.read_builder(), "", nodes)
print(json.dumps(nodes, sort_keys=True))
