"""Run by the peer: write test case CASE to OUT with the peer's ZarrIO/NWBZarrIO."""

import sys

from content.cases import build

case, out = sys.argv[1], sys.argv[2]
container, kind = build(case)
if kind == "nwb":
    from hdmf_zarr import NWBZarrIO as IO

    manager = None
else:
    from hdmf.common import get_manager

    from hdmf_zarr import ZarrIO as IO

    manager = get_manager()
kwargs = {"manager": manager} if manager is not None else {}
with IO(out, mode="w", **kwargs) as io:
    io.write(container)
print("wrote", out)
