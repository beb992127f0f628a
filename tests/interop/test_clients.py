"""The real client tools, installed after ours the way a user would, on files ours writes.

neuroconv 0.10.2 (conversion, backend configuration, append, repack), nwbinspector 0.7.2 (the same
messages on a Zarr file and on its HDF5 twin), spikeinterface 0.105.3 (reading recordings and sortings)
and xarray (every group opens) run in a cached venv (tests/clients/venv.py) with this checkout's src
first. Each script prints facts as JSON; the assertions are here. One xdist worker runs them all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clients.venv import CHECKOUT, CLIENTS, ensure_clients, installed_versions, run_client

pytestmark = [pytest.mark.clients, pytest.mark.slow, pytest.mark.xdist_group("clients")]

#: The datasets neuroconv configures in the mock recording + sorting file (timestamps written).
LOCATIONS = {
    "acquisition/ElectricalSeries/data",
    "acquisition/ElectricalSeries/timestamps",
    "electrodes/channel_name/data",
    "electrodes/group_name/data",
    "electrodes/location/data",
    "units/spike_times/data",
    "units/spike_times_index/data",
    "units/unit_name/data",
}


def _facts(script: str, *args: str) -> Any:
    return json.loads(run_client(script, *args).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """neuroconv_write.py's output folder and facts (run once for the module)."""
    out = tmp_path_factory.mktemp("neuroconv")
    return out, _facts("neuroconv_write.py", str(out))


@pytest.fixture(scope="module")
def existing(
    written: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("existing")
    facts: dict[str, Any] = _facts("neuroconv_existing.py", str(written[0] / "converted.nwb.zarr"), str(out))
    return facts


def _no_error(facts: dict[str, Any], step: str) -> dict[str, Any]:
    got: dict[str, Any] = facts[step]
    assert "error" not in got, f"{step}: {got.get('error')}\n{got.get('trace')}"
    return got


def test_clients_install_keeps_ours_and_zarr_3() -> None:
    """`pip install <checkout>` then the clients: ours stays (not PyPI's hdmf-zarr) and zarr stays 3.x."""
    python = ensure_clients()
    installed = installed_versions(python)
    assert installed is not None
    assert installed["zarr"].startswith("3.")
    assert tuple(int(p) for p in installed["hdmf_zarr"].split(".")[:2]) >= (0, 15)
    assert {name: installed[name] for name in CLIENTS} == CLIENTS
    env = _facts("environment.py")
    assert Path(env["hdmf_zarr_file"]).is_relative_to(CHECKOUT / "src")
    assert env["zarr"].startswith("3.")


def test_neuroconv_zarr_backend_imports_under_zarr_3() -> None:
    """neuroconv reads zarr.codec_registry at import (hdmf_zarr/_neuroconv_compat.py gives it one)."""
    env = _facts("environment.py")
    assert {"gzip", "blosc", "zstd", "lz4"} <= set(env["neuroconv_zarr_methods"])
    assert env["neuroconv_data_io"] == "hdmf_zarr.dataio"


def test_run_conversion_overwrite_twice_replaces_the_file(written: tuple[Path, dict[str, Any]]) -> None:
    """run_conversion(..., backend="zarr", overwrite=True) onto an existing path (mode "w" replaces)."""
    _, facts = written
    assert (facts["first"], facts["second"]) == ("first", "second")
    assert facts["same_data_both_runs"]
    assert facts["units"] == 3
    # No staging folder or other debris beside the files.
    assert facts["leftovers"] == [
        "converted.nwb.zarr",
        "expected.npz",
        "jobs1.nwb.zarr",
        "jobs2.nwb.zarr",
        "twin.nwb",
    ]


def test_configured_write_with_two_jobs(written: tuple[Path, dict[str, Any]]) -> None:
    """get_default_backend_configuration + configure_backend + write(number_of_jobs=2): the file holds
    the configured chunks and compressors, and the same data as a one-job write."""
    _, facts = written
    config = facts["config_jobs2"]
    assert set(config) == LOCATIONS
    for location, dataset in config.items():
        assert dataset["stored_chunks"] == dataset["chunk_shape"], location
        if location.endswith("timestamps"):  # given to ZarrDataIO as filters=[Shuffle], compressor=GZip
            assert dataset["compressors"] == ["shuffle", "gzip"]
            assert dataset["stored_compressors"] == ["numcodecs.shuffle", "gzip"]
        else:
            assert dataset["compressors"] == ["gzip"], location
            assert dataset["stored_compressors"] == ["gzip"], location
    assert facts["jobs2_equals_jobs1"]


@pytest.mark.parametrize("mode", ["r", "a"])
def test_backend_configurations_of_a_file_read_back(existing: dict[str, Any], mode: str) -> None:
    """get_default_backend_configuration / get_existing_backend_configuration on a file read in r / a
    (neuroconv reads the peer's private io._ZarrIO__mode, and each dataset's .compressor)."""
    got = _no_error(existing, f"configurations_{mode}")
    # neuroconv 0.10.2 finds which datasets are already in the file through zarr 2's store.path, which
    # zarr 3 stores lack: in mode "a" its default configuration lists them too (README "Works with").
    assert set(got["default"]) == LOCATIONS
    assert set(got["existing"]) == LOCATIONS
    for location, dataset in got["existing"].items():
        # What neuroconv's default wrote; of (shuffle, gzip) on timestamps it sees the compressor only.
        assert dataset["compressors"] == ["GZip(level=1)"], location
    series = got["existing"]["acquisition/ElectricalSeries/data"]
    assert series["chunk_shape"] == got["stored_series_chunks"]


def test_append_on_disk_nwbfile(existing: dict[str, Any]) -> None:
    got = _no_error(existing, "append")
    assert got["acquisition"] == ["Appended", "ElectricalSeries"]
    assert got["appended_equal"]
    assert got["units"] == 3


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_repack_nwbfile(existing: dict[str, Any], backend: str) -> None:
    got = _no_error(existing, f"repack_{backend}")
    assert got == {
        "series_equal": True,
        "spike_times_equal": True,
        "acquisition": ["Appended", "ElectricalSeries"],
    }


def test_nwbinspector_says_the_same_of_zarr_and_hdf5(
    written: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = written
    facts = _facts("inspect_twins.py", str(out / "converted.nwb.zarr"), str(out / "twin.nwb"), str(tmp_path))
    assert facts["zarr"] == facts["hdf5"]
    assert facts["zarr"]  # the mock file lacks metadata nwbinspector asks for: it does say something
    # A check that crashes is reported as an ERROR message with the traceback.
    assert all(m["importance"] != "ERROR" for m in facts["zarr"]), facts["zarr"]
    assert facts["compression_zarr"] == facts["compression_hdf5"] == []
    assert facts["uncompressed_zarr"] == facts["uncompressed_hdf5"]
    assert [c for c, _, _ in facts["uncompressed_zarr"]] == [
        "check_large_dataset_compression",
        "check_small_dataset_compression",
    ]


def test_spikeinterface_reads_what_was_written(written: tuple[Path, dict[str, Any]]) -> None:
    out, _ = written
    facts = _facts("spikeinterface_read.py", str(out / "converted.nwb.zarr"), str(out / "expected.npz"))
    assert facts["traces_equal"]
    assert facts["times_equal"]
    assert facts["sampling_frequency"][0] == pytest.approx(facts["sampling_frequency"][1])  # from timestamps
    assert facts["units"][0] == facts["units"][1]
    assert facts["units"][0]
    assert facts["trains_equal"]


def test_xarray_opens_every_group(written: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Every group of every test case (and of neuroconv's file) opens with xarray.open_zarr."""
    out, _ = written
    facts = _facts("xarray_groups.py", str(tmp_path), str(out / "converted.nwb.zarr"))
    assert len(facts) == 5
    failed = {(f, g): v["error"] for f, groups in facts.items() for g, v in groups.items() if "error" in v}
    assert not failed
    units = facts[str(out / "converted.nwb.zarr")]["/units"]["ok"]
    assert units["id"] == ["num_rows"]
