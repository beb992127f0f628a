"""Run by the peer: write test case CASE to OUT, read it back with the peer, and print the summary of
what the peer read (the expected content of the golden store)."""

import json
import sys

from content.cases import build, summary

case, out = sys.argv[1], sys.argv[2]
container, kind = build(case)
if kind == "nwb":
    from hdmf_zarr import NWBZarrIO as IO

    kwargs = {}
else:
    from hdmf.common import get_manager

    from hdmf_zarr import ZarrIO as IO

    kwargs = {"manager": get_manager()}
with IO(out, mode="w", **kwargs) as io:
    io.write(container)
with IO(out, mode="r", **kwargs) as io:
    print(json.dumps(summary(io.read()), sort_keys=True))
