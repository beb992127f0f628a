"""Open one store with ``hdmf_zarr.ZarrIO`` (ours or the peer's: same import name), read everything,
and print one ``RESULT {json}`` line: the outcome, the peak memory, and every escape attempt seen.

Usage: python attack.py STORE OUTSIDE_DIR [ALLOWED_SOURCE ...]

v2 stores are opened with ``ZarrV2IO`` where the package has it (hdmf-zarr 0.14), else ``ZarrIO``.

Run in a fresh process per case with an address-space limit (``HOSTILE_LIMIT_BYTES``). Escapes are
seen through Python audit hooks: files opened under OUTSIDE_DIR or under /proc/self/fd, and every
socket connection or name lookup. The script never imports anything from the tests.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc
from typing import Any

OUTSIDE_TEXT = "OUTSIDE-THE-STORE"


def main() -> None:
    store, outside, *allowed = sys.argv[1:]
    limit = int(os.environ.get("HOSTILE_LIMIT_BYTES", str(4 * 2**30)))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    escapes: list[str] = []
    outside = os.path.normpath(outside)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            path = os.path.normpath(os.path.abspath(os.fsdecode(args[0])))
            if path.startswith((outside + os.sep, "/proc/self/fd", "/dev/stdin")):
                escapes.append(f"open {path}")
        elif event in ("socket.connect", "socket.getaddrinfo"):
            escapes.append(f"{event} {args[1] if event == 'socket.connect' else args[0]}")

    import numpy as np
    from hdmf.common import get_manager

    from hdmf_zarr import ZarrIO

    io_class: Any = ZarrIO
    if not os.path.exists(os.path.join(store, "zarr.json")):
        try:  # hdmf-zarr 0.14 reads the v2 dialect with a separate class; ours with ZarrIO
            from hdmf_zarr import ZarrV2IO as io_class  # type: ignore[attr-defined,no-redef]
        except ImportError:
            pass
    sys.addaudithook(hook)
    result: dict[str, Any] = {"outcome": "ok"}
    tracemalloc.start()
    start = time.monotonic()
    try:
        kwargs: dict[str, Any] = {"allowed_sources": allowed} if allowed else {}
        with io_class(store, mode="r", manager=get_manager(), **kwargs) as io:
            container = io.read()
            seen = read_everything(container, np)
        result["outside_data"] = OUTSIDE_TEXT in seen
    except BaseException as exc:
        result.update(outcome="error", type=type(exc).__name__, message=str(exc)[:2000])
        cause = exc.__cause__ or exc.__context__
        if cause is not None:
            result["cause"] = f"{type(cause).__name__}: {str(cause)[:500]}"
    result["seconds"] = round(time.monotonic() - start, 2)
    result["peak_traced_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    result["peak_rss_mib"] = peak_rss_mib()
    result["escapes"] = sorted(set(escapes))[:20]
    print("RESULT " + json.dumps(result), flush=True)


def peak_rss_mib() -> float:
    """This process's own peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def read_everything(container: Any, np: Any) -> str:
    """Read every dataset of every object fully; return a sample of the values as text."""
    sample: list[str] = []
    for obj in list(container.all_objects.values()):
        for value in [getattr(obj, "data", None), *getattr(obj, "fields", {}).values()]:
            if (
                isinstance(value, str | bytes)
                or not hasattr(value, "shape")
                or not hasattr(value, "__getitem__")
            ):
                continue
            data = np.asarray(value[...] if value.shape != () else value[()])
            sample.append(str(data.ravel()[:16].tolist()))
    return "\n".join(sample)


if __name__ == "__main__":
    main()
