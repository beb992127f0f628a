"""Run by the peer: write test case CASE to PATH, read it back with the same peer, and print (last line)
the JSON summary that becomes ``<case>.expected.json``: what the peer read when it reads its own file
equal to the content, else (0.13 cannot read its own JSON-codec compounds with references) the summary
of the freshly built content, with the reason on stderr."""

import json
import sys

from content.cases import assert_equal, build, reader_type_map, summary
from peers.caseio import open_io, parse

args = parse(__doc__, write=True)
container, _ = build(args.case)
with open_io(args.case, args.path, "w", zarr_format=args.zarr_format, codec=args.codec) as io:
    io.write(container)
try:
    with open_io(args.case, args.path, "r") as io:
        actual = io.read()
        expected, _ = build(args.case, expected=True, type_map=reader_type_map(io))
        assert_equal(expected, actual)
        result = summary(actual)
except Exception as exc:  # the peer cannot read its own file: expectation = the built content
    print(f"peer-cannot-read-own-file: {type(exc).__name__}: {exc}", file=sys.stderr)
    result = summary(build(args.case, expected=True)[0])
print(json.dumps(result, sort_keys=True))
