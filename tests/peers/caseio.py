"""Open a test case's file with whichever ``hdmf_zarr`` is importable (the peer's in a peer venv, ours in
the project's venv), the same way for every case. Used by scripts/ and by the interop tests."""

import argparse

from content.cases import CASES, write_manager


def parse(description, *, write):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("path")
    if write:
        parser.add_argument("--zarr-format", type=int, default=None, help="only for IOs that accept it")
        parser.add_argument(
            "--codec", choices=("default", "json"), default="default", help="json: 0.13's numcodecs.JSON"
        )
    return parser.parse_args()


def open_io(case, path, mode, zarr_format=None, codec="default"):
    from hdmf_zarr import NWBZarrIO, ZarrIO

    nwb = CASES[case][1] == "nwb"
    kwargs = {}
    if mode == "w":
        manager = write_manager(case)
        if manager is not None:
            kwargs["manager"] = manager
        if zarr_format is not None:
            kwargs["zarr_format"] = zarr_format
        if codec == "json":
            # 0.13's NWBZarrIO drops object_codec_class silently: only its ZarrIO honours it.
            import numcodecs
            from pynwb import get_manager

            kwargs["object_codec_class"] = numcodecs.JSON
            kwargs.setdefault("manager", get_manager())
            return ZarrIO(path, mode=mode, **kwargs)
    elif not nwb:
        from hdmf.common import get_manager

        kwargs["manager"] = get_manager()
    return (NWBZarrIO if nwb else ZarrIO)(path, mode=mode, **kwargs)
