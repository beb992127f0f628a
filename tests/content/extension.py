"""A small NWB extension built at run time (no package): namespace ``ndx-interop`` with one new type,
``ExtSeries``: a TimeSeries with a new attribute ``gain`` and new datasets ``calibration`` (floats)
and ``channels`` (a compound of text and numbers, no references).

The extension is loaded into a private copy of pynwb's type map, never into the global one, so that
other tests in the same process neither see it nor cache its spec. A reader given the type map it used
for reading (``expected_type_map``) must already hold the namespace: that proves it came from the
file's cached spec, since nothing else in that process loaded it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

NAMESPACE = "ndx-interop"
TYPE = "ExtSeries"
_STATE = {}


def _write_spec(folder):
    from pynwb.spec import (
        NWBAttributeSpec,
        NWBDatasetSpec,
        NWBDtypeSpec,
        NWBGroupSpec,
        NWBNamespaceBuilder,
    )

    builder = NWBNamespaceBuilder(
        doc="interop test extension",
        name=NAMESPACE,
        version="0.1.0",
        author="hdmf_zarr tests",
        contact="tests@example.org",
    )
    builder.include_type("TimeSeries", namespace="core")
    spec = NWBGroupSpec(
        neurodata_type_def=TYPE,
        neurodata_type_inc="TimeSeries",
        doc="A TimeSeries with a gain and a calibration table.",
        attributes=[NWBAttributeSpec(name="gain", doc="amplifier gain", dtype="float64")],
        datasets=[
            NWBDatasetSpec(
                name="calibration", doc="calibration values", dtype="float64", shape=(None,), dims=("n",)
            ),
            # A compound of text and numbers without references: 0.13 stores it as pickled |O rows.
            NWBDatasetSpec(
                name="channels",
                doc="one row per channel",
                dtype=[
                    NWBDtypeSpec(name="label", doc="channel label", dtype="text"),
                    NWBDtypeSpec(name="number", doc="channel number", dtype="int32"),
                    NWBDtypeSpec(name="weight", doc="channel weight", dtype="float64"),
                ],
                shape=(None,),
                dims=("n_channels",),
            ),
        ],
    )
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", spec)
    builder.export(f"{NAMESPACE}.namespace.yaml", outdir=str(folder))
    return Path(folder) / f"{NAMESPACE}.namespace.yaml"


def writer_type_map():
    """The private type map holding pynwb's namespaces plus ndx-interop (built once per process)."""
    if "type_map" not in _STATE:
        from pynwb import get_type_map

        folder = tempfile.mkdtemp(prefix="ndx-interop-")
        type_map = get_type_map()  # a copy: the global map stays untouched
        type_map.load_namespaces(str(_write_spec(folder)))
        _STATE["type_map"] = type_map
    return _STATE["type_map"]


def ext_class(type_map):
    if NAMESPACE not in type_map.namespace_catalog.namespaces:
        raise AssertionError(
            f"The namespace {NAMESPACE!r} is not in the reader's type map: it was not loaded from the "
            "file's cached spec."
        )
    return type_map.get_dt_container_cls(TYPE, NAMESPACE)


def nwb_extension(expected=False, type_map=None):
    import numpy as np
    from pynwb import NWBFile
    from pynwb.file import Subject

    from content.cases import START

    cls = ext_class(type_map if type_map is not None else writer_type_map())
    nwb = NWBFile(
        session_description="interop extension",
        identifier="interop-extension",
        session_start_time=START,
        file_create_date=[START],
        subject=Subject(subject_id="m2", species="Mus musculus"),
    )
    series = cls(
        name="ext",
        data=np.arange(10, dtype=np.float64) / 4,
        unit="V",
        rate=100.0,
        gain=2.5,
        calibration=np.array([0.5, 1.0, 1.5]),
        # A structured array: hdmf's shape check reads a list of row tuples as a 2-d array.
        channels=np.array(
            [("a", 1, 0.5), ("bb", 2, 1.5), ("ccc", 3, 2.5)],
            dtype=[("label", "U8"), ("number", "<i4"), ("weight", "<f8")],
        ),
    )
    nwb.add_acquisition(series)
    return nwb
