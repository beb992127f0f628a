"""Write test case CASE to PATH with the importable hdmf_zarr (run by a peer venv, or by ours)."""

from content.cases import build
from peers.caseio import open_io, parse

args = parse(__doc__, write=True)
container, _ = build(args.case)
with open_io(args.case, args.path, "w", zarr_format=args.zarr_format, codec=args.codec) as io:
    io.write(container)
print("wrote", args.path)
