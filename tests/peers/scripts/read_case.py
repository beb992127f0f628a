"""Run by the peer: read PATH with the peer and compare it with a freshly built test case CASE."""

import sys

from content.cases import assert_equal, build

case, path = sys.argv[1], sys.argv[2]
expected, kind = build(case, expected=True)
if kind == "nwb":
    from hdmf_zarr import NWBZarrIO

    io = NWBZarrIO(path, mode="r")
else:
    from hdmf.common import get_manager

    from hdmf_zarr import ZarrIO

    io = ZarrIO(path, mode="r", manager=get_manager())
actual = io.read()
assert_equal(expected, actual)
io.close()
print("equal", path)
