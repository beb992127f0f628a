"""Read PATH with the importable hdmf_zarr and compare it with freshly built test case CASE; print
"equal" and the JSON summary of what was read, or exit non-zero with the differences.

The file is read first, and the expected content built afterwards with the reader's own type map, so an
extension case proves that its classes came from the file's cached spec (nothing else loaded them)."""

import json

from content.cases import assert_equal, build, reader_type_map, summary
from peers.caseio import open_io, parse

args = parse(__doc__, write=False)
with open_io(args.case, args.path, "r") as io:
    actual = io.read()
    expected, _ = build(args.case, expected=True, type_map=reader_type_map(io))
    assert_equal(expected, actual)
    print("equal", args.path)
    print(json.dumps(summary(actual), sort_keys=True))
