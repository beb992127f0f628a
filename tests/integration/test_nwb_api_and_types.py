"""pynwb's own entry points on our files and on hdmf-zarr 0.14's, every pynwb mock type round-tripped and
compared with pynwb's HDF5 round trip, and an extension read back in a process that never loaded it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynwb
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.testing import mock as mock_package
from pynwb.testing.mock.file import mock_NWBFile

from content.cases import assert_equal, build
from hdmf_zarr import NWBZarrIO

# -- pynwb entry points ---------------------------------------------------------------------------


@pytest.fixture
def our_file(tmp_path: Path) -> Path:
    path = tmp_path / "ours.nwb.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    return path


def _entry_points_work(path: Path) -> None:
    assert NWBZarrIO.can_read(path)
    assert pynwb.read_nwb(path).identifier == "interop-ecephys"
    assert NWBZarrIO.read_nwb(path).identifier == "interop-ecephys"
    assert pynwb.validate(path=str(path)) == []
    with NWBZarrIO(path, mode="r") as io:
        assert pynwb.validate(io=io) == []


def test_pynwb_entry_points_on_our_file(our_file: Path) -> None:
    _entry_points_work(our_file)


@pytest.mark.peer
def test_pynwb_entry_points_on_a_peer014_file(peer_file: Callable[[str, str], Path]) -> None:
    _entry_points_work(peer_file("0.14.0", "nwb_ecephys"))


def test_hdf5_export_and_zarr_export(tmp_path: Path) -> None:
    h5 = tmp_path / "src.nwb"
    with NWBHDF5IO(h5, "w") as io:
        io.write(build("nwb_ecephys", expected=True)[0])
    with NWBHDF5IO(h5, "r") as src, NWBZarrIO(tmp_path / "a.zarr", mode="w") as dst:
        dst.export(src_io=src)
    with NWBZarrIO(tmp_path / "a.zarr", mode="r") as src, NWBZarrIO(tmp_path / "b.zarr", mode="w") as dst:
        dst.export(src_io=src, nwbfile=src.read())
    with NWBZarrIO(tmp_path / "b.zarr", mode="r") as io:
        assert_equal(build("nwb_ecephys", expected=True)[0], io.read())


# -- growing stored tables in mode 'a' ------------------------------------------------------------


def _stored(path: Path) -> Path:
    with NWBZarrIO(path, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    return path


def test_rows_appended_in_mode_a_are_stored_like_hdf5(tmp_path: Path) -> None:
    """Rows added to stored tables (text, numbers, references to stored objects) as NWBHDF5IO stores them."""

    def grow(nwb: NWBFile) -> None:
        nwb.add_trial(start_time=9.0, stop_time=9.5, outcome="late")
        nwb.add_electrode(
            group=nwb.electrode_groups["shank0"], location="CA3", x=7.0, y=0.0, z=0.0, label="added"
        )
        nwb.add_unit(spike_times=[7.0, 7.5, 8.0], electrodes=[1, 6], quality="good")  # ragged columns

    h5 = tmp_path / "grown.nwb"
    with NWBHDF5IO(h5, "w") as io:
        io.write(build("nwb_ecephys", expected=True)[0])
    path = _stored(tmp_path / "grown.zarr")
    for io_class, target in ((NWBHDF5IO, h5), (NWBZarrIO, path)):
        with io_class(target, mode="a") as io:
            nwb = io.read()
            grow(nwb)
            if io_class is NWBZarrIO:  # the stored table reads with its new row before write()
                assert len(nwb.trials) == 4
                assert nwb.trials["outcome"][3] == "late"
            io.write(nwb)
    with NWBHDF5IO(h5, "r") as h5_io, NWBZarrIO(path, mode="r") as io:
        from_h5, back = h5_io.read(), io.read()
        assert_equal(from_h5, back)
        assert list(back.trials["outcome"][:]) == ["hit", "miss", "hit", "late"]
        assert back.electrodes["group"][6] is back.electrode_groups["shank0"]
        assert back.electrodes["label"][6] == "added"
        assert list(back.units["spike_times"][4]) == [7.0, 7.5, 8.0]
        assert list(back.units["electrodes"][4]["label"]) == ["ch1", "added"]
    with NWBZarrIO(path, mode="r", consolidated=False) as io:  # consolidated metadata was rewritten
        assert len(io.read().trials) == 4


def test_epochs_grow_with_references_where_hdf5_cannot(tmp_path: Path) -> None:
    """An epoch row holds a ragged text column and a ragged compound with a reference; NWBHDF5IO fails
    on it (hdmf 6.2: "BuildManager.get_builder: incorrect type ... TimeSeriesReference")."""
    path = _stored(tmp_path / "epochs.zarr")
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        nwb.add_epoch(0.5, 1.5, ["late", "x"], [nwb.acquisition["ts"]])
        io.write(nwb)
    with NWBZarrIO(path, mode="r") as io:
        epochs = io.read().epochs
        assert len(epochs) == 3
        assert list(epochs["tags"][2]) == ["late", "x"]
        (ref,) = epochs["timeseries"][2]
        assert ref.timeseries.name == "ts"
        assert (int(ref.idx_start), int(ref.count)) == (5, 10)


def test_a_failed_append_stores_nothing(tmp_path: Path) -> None:
    """hdmf appends a row column by column: when one column refuses its value, the columns before it
    already took theirs. Appended rows wait for write(), so the file is left as it was."""
    path = _stored(tmp_path / "failed.zarr")
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        with pytest.raises(TypeError, match="it holds text; append a str"):
            nwb.add_trial(start_time=9.0, stop_time=9.5, outcome=5)  # id, start and stop time taken
        with pytest.warns(UserWarning, match="never written: they are dropped"):
            io.close()
    with NWBZarrIO(path, mode="r") as io:
        trials = io.read().trials
        assert len(trials) == 3
        assert len(trials.id[:]) == 3
        assert len(trials["start_time"][:]) == 3


def test_appending_needs_a_writable_file_and_stored_targets(tmp_path: Path) -> None:
    from pynwb.ecephys import ElectrodeGroup

    from hdmf_zarr.errors import ModeError, UnresolvedReferenceError

    path = _stored(tmp_path / "refs.zarr")
    with NWBZarrIO(path, mode="r") as io, pytest.raises(ModeError, match="opened read-only"):
        io.read().add_trial(start_time=9.0, stop_time=9.5, outcome="late")
    io = NWBZarrIO(path, mode="a")
    try:
        nwb = io.read()
        device = nwb.devices["probe"]
        elsewhere = ElectrodeGroup(name="elsewhere", description="d", location="x", device=device)  # no file
        nwb.add_electrode(group=elsewhere, location="CA3", x=7.0, y=0.0, z=0.0, label="orphan")
        with pytest.raises(
            UnresolvedReferenceError, match=r"ElectrodeGroup 'elsewhere' in .*: it is not part of this file"
        ):
            io.write(nwb)
    finally:
        with pytest.warns(UserWarning, match="never written: they are dropped"):
            io.close()  # the rows that could not be written are dropped, and the file is as it was
    with NWBZarrIO(path, mode="r") as io:
        assert len(io.read().electrodes) == 6


def test_text_rows_of_a_zarr_v2_file_are_not_extended_in_place(tmp_path: Path) -> None:
    from hdmf_zarr.errors import ModeError

    path = tmp_path / "v2.zarr"
    with NWBZarrIO(path, mode="w", zarr_format=2) as io:
        io.write(build("nwb_ecephys")[0])
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        with pytest.raises(ModeError, match="Convert the file to Zarr v3 first"):
            nwb.add_trial(start_time=9.0, stop_time=9.5, outcome="late")
        with pytest.warns(UserWarning, match="never written"):  # the numeric columns took the row
            io.close()
    with NWBZarrIO(path, mode="r") as io:
        assert len(io.read().trials) == 3


# -- every mock type --------------------------------------------------------------------------------


def _mock_functions() -> dict[str, Callable[..., Any]]:
    modules = [
        importlib.import_module(f"{mock_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(mock_package.__path__)
    ]
    return {
        name: fn
        for module in modules
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("mock_") and fn.__module__ == module.__name__ and name != "mock_NWBFile"
    }


MOCKS = _mock_functions()


def _nwbfile_with(fn: Callable[..., Any]) -> NWBFile:
    from datetime import UTC, datetime

    nwb = mock_NWBFile(identifier="mock-file", file_create_date=[datetime(2024, 1, 1, tzinfo=UTC)])
    kwargs = {"nwbfile": nwb} if "nwbfile" in inspect.signature(fn).parameters else {}
    obj = fn(**kwargs)
    if getattr(obj, "parent", None) is None and obj is not nwb:
        if type(obj).__name__ in ("Device",):
            nwb.add_device(obj)
        elif hasattr(obj, "timestamps") or type(obj).__name__.endswith(("Series", "Interface")):
            nwb.add_acquisition(obj)
        elif type(obj).__name__ == "Subject":
            nwb.subject = obj
        else:
            module = nwb.processing.get("mock") or nwb.create_processing_module("mock", "mock objects")
            module.add(obj)
    return nwb


def test_the_mock_list_is_not_empty() -> None:
    assert len(MOCKS) >= 30, sorted(MOCKS)


@pytest.mark.parametrize("name", sorted(MOCKS))
def test_mock_type_round_trips_like_hdf5(name: str, tmp_path: Path) -> None:
    import numpy as np
    from pynwb.testing.mock import utils as mock_utils

    def make() -> NWBFile:  # the same content twice: a container is written by one IO only
        np.random.seed(0)
        mock_utils.name_generator_registry.clear()  # mock names count up across calls
        return _nwbfile_with(MOCKS[name])

    try:
        make()
    except (TypeError, ValueError) as exc:  # a mock that needs arguments pynwb does not default
        pytest.skip(f"{name} cannot be built standalone: {exc}")
    with NWBHDF5IO(tmp_path / "f.nwb", "w") as io:
        io.write(make())
    with NWBZarrIO(tmp_path / "f.nwb.zarr", mode="w") as io:
        io.write(make())
    with NWBHDF5IO(tmp_path / "f.nwb", "r") as h5, NWBZarrIO(tmp_path / "f.nwb.zarr", mode="r") as zr:
        assert_equal(h5.read(), zr.read())


# -- extensions -------------------------------------------------------------------------------------


def test_extension_is_read_in_a_process_that_never_loaded_it(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime, timezone
        from pynwb import NWBFile, get_class, load_namespaces
        from pynwb.spec import NWBAttributeSpec, NWBDatasetSpec, NWBGroupSpec, NWBNamespaceBuilder
        from hdmf_zarr import NWBZarrIO

        ns = NWBNamespaceBuilder("lab extension", "ndx-lab", version="0.1.0", author="t", contact="t@x")
        ns.include_type("NWBDataInterface", namespace="core")
        spec = NWBGroupSpec(neurodata_type_def="LabMeta", neurodata_type_inc="NWBDataInterface",
                            doc="lab metadata",
                            attributes=[NWBAttributeSpec("rig", "which rig", "text")],
                            datasets=[NWBDatasetSpec(doc="gains", dtype="float64", name="gains",
                                                     shape=(None,))])
        ns.add_spec("ndx-lab.extensions.yaml", spec)
        ns.export("ndx-lab.namespace.yaml", outdir=r"{tmp_path}")
        load_namespaces(r"{tmp_path / "ndx-lab.namespace.yaml"}")
        LabMeta = get_class("LabMeta", "ndx-lab")
        nwb = NWBFile("ext", "ext-1", datetime(2024, 1, 1, tzinfo=timezone.utc))
        mod = nwb.create_processing_module("lab", "lab")
        mod.add(LabMeta(name="meta", rig="rig-7", gains=[1.5, 2.5]))
        with NWBZarrIO(r"{tmp_path / "ext.nwb.zarr"}", mode="w") as io:
            io.write(nwb)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    reader = textwrap.dedent(
        f"""
        import pynwb
        from hdmf_zarr import NWBZarrIO
        assert "ndx-lab" not in pynwb.get_type_map().namespace_catalog.namespaces
        with NWBZarrIO(r"{tmp_path / "ext.nwb.zarr"}", mode="r") as io:
            meta = io.read().processing["lab"]["meta"]
            assert type(meta).__name__ == "LabMeta", type(meta)
            assert meta.rig == "rig-7"
            assert list(meta.gains[:]) == [1.5, 2.5]
        print("extension ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "extension ok" in out.stdout
