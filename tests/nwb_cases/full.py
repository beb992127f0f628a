"""One NWB file holding (nearly) every neurodata type of the core namespace, built deterministically.

``full_nwbfile()`` returns fresh containers on each call (a container is written by one IO only), so
the same content can be written with NWBHDF5IO and NWBZarrIO and the two reads compared field by field.
Deprecated types pynwb still constructs (EventWaveform, Clustering, ClusterWaveforms) are included;
types that need an extension (LabMetaData) or that pynwb no longer constructs are listed in
``NOT_IN_FULL_FILE`` with the reason and the test that covers them instead.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
from hdmf.common import (
    DynamicTable,
    DynamicTableRegion,
    MeaningsTable,
    VectorData,
    VectorIndex,
)
from hdmf.data_utils import DataChunkIterator
from pynwb import NWBFile, TimeSeries
from pynwb.base import ExternalImage, Image, ImageReferences, Images
from pynwb.behavior import (
    BehavioralEpochs,
    BehavioralEvents,
    BehavioralTimeSeries,
    CompassDirection,
    EyeTracking,
    Position,
    PupilTracking,
    SpatialSeries,
)
from pynwb.core import ScratchData
from pynwb.device import Device, DeviceModel
from pynwb.ecephys import (
    LFP,
    Clustering,
    ClusterWaveforms,
    ElectricalSeries,
    EventDetection,
    FeatureExtraction,
    FilteredEphys,
    SpikeEventSeries,
)
from pynwb.epoch import TimeIntervals
from pynwb.event import EventsTable
from pynwb.file import Subject
from pynwb.image import (
    GrayscaleImage,
    ImageMaskSeries,
    ImageSeries,
    IndexSeries,
    OpticalSeries,
    RGBAImage,
    RGBImage,
)
from pynwb.misc import (
    AbstractFeatureSeries,
    AnnotationSeries,
    DecompositionSeries,
    FrequencyBandsTable,
    IntervalSeries,
    Units,
)
from pynwb.ogen import OptogeneticSeries, OptogeneticStimulusSite
from pynwb.ophys import (
    CorrectedImageStack,
    DfOverF,
    Fluorescence,
    ImageSegmentation,
    MotionCorrection,
    OnePhotonSeries,
    OpticalChannel,
    RoiResponseSeries,
    TwoPhotonSeries,
)

START = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)

#: Core types not in the full file, with the reason and where they are covered instead.
NOT_IN_FULL_FILE = {
    # abstract bases: every concrete subtype in the file is one of them
    "NWBContainer": "abstract base",
    "NWBData": "abstract base",
    "NWBDataInterface": "abstract base",
    "Container": "abstract base",
    "Data": "abstract base",
    "BaseImage": "abstract base",
    "PatchClampSeries": "abstract base (icephys series)",
    # covered by the icephys file (test_icephys_file_round_trips_like_hdf5)
    "CurrentClampSeries": "icephys file",
    "CurrentClampStimulusSeries": "icephys file",
    "IZeroClampSeries": "icephys file",
    "VoltageClampSeries": "icephys file",
    "VoltageClampStimulusSeries": "icephys file",
    "IntracellularElectrode": "icephys file",
    "IntracellularElectrodesTable": "icephys file",
    "IntracellularRecordingsTable": "icephys file",
    "IntracellularResponsesTable": "icephys file",
    "IntracellularStimuliTable": "icephys file",
    "SimultaneousRecordingsTable": "icephys file",
    "SequentialRecordingsTable": "icephys file",
    "RepetitionsTable": "icephys file",
    "ExperimentalConditionsTable": "icephys file",
    "SweepTable": "icephys file (deprecated sweep table)",
    "AlignedDynamicTable": "icephys file (IntracellularRecordingsTable is one)",
    # elsewhere
    "LabMetaData": "needs an extension: test_extension_is_read_in_a_process_that_never_loaded_it",
    "HERD": "written beside the file: test_herd_round_trips",
    "EventWaveform": "deprecated; pynwb 4.2 cannot construct it, not even when reading "
    "(its __init__ sets nothing)",
    "ImagingRetinotopy": "pynwb 4 has no constructor for it (retinotopy module is a stub)",
}


def deprecated(cls: type, **kwargs: object) -> object:
    """An instance of a type pynwb builds only when reading old files (as the reader builds it)."""
    obj = cls.__new__(cls, in_construct_mode=True)  # type: ignore[call-arg]
    obj.__init__(**kwargs)
    obj._in_construct_mode = False
    return obj


def _quiet() -> warnings.catch_warnings:  # type: ignore[type-arg]
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    return ctx


def full_nwbfile(*, iterators: bool = True) -> NWBFile:
    """The full file. ``iterators=False`` gives the iterator-written datasets as plain arrays."""
    ctx = _quiet()
    try:
        nwb = _general()
        _ecephys(nwb, iterators=iterators)
        _units(nwb)
        _intervals(nwb)
        _events(nwb)
        _images(nwb)
        _behavior(nwb)
        _ophys(nwb)
        _ogen(nwb)
        _misc(nwb)
        _scratch(nwb)
        _many_small_series(nwb)
        return nwb
    finally:
        ctx.__exit__(None, None, None)


def _general() -> NWBFile:
    nwb = NWBFile(
        session_description="every neurodata type",
        identifier="full-file-1",
        session_start_time=START,
        timestamps_reference_time=START - timedelta(minutes=5),
        file_create_date=[START + timedelta(days=1), START + timedelta(days=2)],
        experimenter=["Doe, Jane", "Roe, Richard"],
        experiment_description="a test of everything",
        session_id="session-42",
        institution="Test Institute",
        keywords=["zarr", "nwb", "round trip"],
        notes="notes with unicode: µV, ☃",
        pharmacology="none",
        protocol="protocol 7",
        related_publications=["doi:10.1000/xyz", "doi:10.1000/abc"],
        slices="none",
        source_script="print('hello')",
        source_script_file_name="make.py",
        was_generated_by=[["hdmf_zarr tests", "1.0"], ["pynwb", "4.2"]],
        data_collection="by hand",
        surgery="none",
        virus="none",
        stimulus_notes="flashes",
        lab="Zarr Lab",
        icephys_filtering=None,
        subject=Subject(
            subject_id="mouse-1",
            age="P90D",
            age__reference="birth",
            description="a mouse",
            genotype="wt",
            sex="F",
            species="Mus musculus",
            strain="C57BL/6J",
            weight="20 g",
            date_of_birth=START - timedelta(days=90),
        ),
    )
    model = DeviceModel(name="probe-model", manufacturer="Acme", model_number="P-1", description="a model")
    nwb.add_device_model(model)
    nwb.add_device(Device(name="probe", description="a probe", serial_number="SN-1", model=model))
    nwb.add_device(Device(name="microscope", description="a microscope"))
    nwb.add_device(Device(name="laser", description="a laser"))
    nwb.add_device(Device(name="camera", description="a camera"))
    return nwb


def _chunks(arr: np.ndarray, iterators: bool) -> object:
    if not iterators:
        return arr
    return DataChunkIterator(data=iter(list(arr)), buffer_size=7)


def _ecephys(nwb: NWBFile, *, iterators: bool) -> None:
    probe = nwb.devices["probe"]
    groups = [
        nwb.create_electrode_group(
            name=f"shank{i}",
            description=f"shank {i}",
            location="CA1",
            device=probe,
            position=(float(i), 0.0, 0.0),
        )
        for i in range(2)
    ]
    nwb.add_electrode_column(name="quality", description="a float column")
    nwb.add_electrode_column(name="label", description="a text column")
    for i in range(6):
        nwb.add_electrode(
            group=groups[i // 3],
            location="CA1",
            x=float(i),
            y=0.5,
            z=-1.0,
            quality=0.9 - i / 10,
            label=f"e{i}",
        )
    region = nwb.create_electrode_table_region(region=[0, 1, 2, 3], description="first four")
    rng = np.random.default_rng(1)
    raw = ElectricalSeries(
        name="raw",
        data=_chunks(rng.integers(-1000, 1000, size=(50, 4)).astype(np.int16), iterators),
        electrodes=region,
        timestamps=np.arange(50) / 1000.0,
        conversion=0.195e-6,
        offset=0.1,
        channel_conversion=[1.0, 1.1, 0.9, 1.0],
        filtering="none",
        comments="raw voltage",
        description="raw data",
    )
    nwb.add_acquisition(raw)
    ecephys = nwb.create_processing_module("ecephys", "processed ephys")
    lfp = LFP()
    lfp.create_electrical_series(
        name="lfp",
        data=rng.normal(size=(50, 4)),
        electrodes=nwb.create_electrode_table_region(region=[0, 1, 2, 3], description="lfp"),
        timestamps=raw,  # timestamps linked to the raw series
    )
    ecephys.add(lfp)
    filtered = FilteredEphys()
    filtered.add_electrical_series(
        ElectricalSeries(
            name="theta",
            data=rng.normal(size=(20, 2)),
            electrodes=nwb.create_electrode_table_region(region=[4, 5], description="theta"),
            rate=100.0,
            starting_time=1.5,
        )
    )
    ecephys.add(filtered)
    ecephys.add(
        FeatureExtraction(
            electrodes=nwb.create_electrode_table_region(region=[0, 1], description="features"),
            description=["pc1", "pc2", "pc3"],
            times=[0.1, 0.2, 0.3, 0.4],
            features=rng.normal(size=(4, 2, 3)),
        )
    )
    ecephys.add(
        EventDetection(
            detection_method="threshold",
            source_electricalseries=raw,
            source_idx=[3, 10, 40],
            times=[0.003, 0.01, 0.04],
        )
    )
    spikes = SpikeEventSeries(
        name="spike_events",
        data=rng.normal(size=(5, 2, 8)),
        timestamps=[0.1, 0.2, 0.3, 0.4, 0.5],
        electrodes=nwb.create_electrode_table_region(region=[0, 1], description="spikes"),
    )
    ecephys.add(spikes)
    clustering = deprecated(
        Clustering,
        description="clusters",
        num=[0, 1, 0],
        peak_over_rms=[1.0, 2.0, 3.0],
        times=[0.1, 0.2, 0.3],
    )
    ecephys.add(clustering)
    ecephys.add(
        deprecated(
            ClusterWaveforms,
            clustering_interface=clustering,
            waveform_filtering="none",
            waveform_mean=rng.normal(size=(2, 8)),
            waveform_sd=rng.random(size=(2, 8)),
        )
    )


def _units(nwb: NWBFile) -> None:
    nwb.units = Units(
        name="units",
        description="sorted units",
        waveform_rate=30000.0,
        waveform_unit="volts",
        resolution=1e-4,
    )
    nwb.add_unit_column(name="quality", description="a custom column")
    nwb.add_unit_column(name="tags", description="a ragged text column", index=True)
    rng = np.random.default_rng(2)
    for i in range(4):
        n_spikes = 2 + i
        nwb.add_unit(
            spike_times=np.sort(rng.random(n_spikes) * 10),
            obs_intervals=[[0.0, 5.0], [6.0, 10.0]][: 1 + i % 2],
            electrodes=[i, i + 1],
            electrode_group=nwb.electrode_groups[f"shank{i // 2}"],
            waveform_mean=rng.normal(size=(8, 2)),
            waveform_sd=rng.random(size=(8, 2)),
            # doubly ragged: per electrode, one waveform per spike
            waveforms=rng.normal(size=(2, n_spikes, 8)).tolist(),
            quality=float(i) / 3,
            tags=[f"t{j}" for j in range(i)],
        )


def _intervals(nwb: NWBFile) -> None:
    raw = nwb.acquisition["raw"]
    nwb.add_trial_column(name="correct", description="a bool column")
    nwb.add_trial_column(name="stimulus", description="a text column")
    for i in range(5):
        nwb.add_trial(start_time=float(i), stop_time=i + 0.5, correct=bool(i % 2), stimulus=f"s{i}")
    nwb.add_epoch_column(name="phase", description="a text column")
    nwb.add_epoch(0.0, 0.02, ["rest", "baseline"], [raw], phase="a")
    nwb.add_epoch(0.02, 0.04, ["run"], [raw], phase="b")
    nwb.add_epoch(0.04, 0.05, [], [raw], phase="c")
    nwb.add_invalid_time_interval(start_time=0.045, stop_time=0.046)
    custom = TimeIntervals(name="stimulus_presentations", description="custom intervals")
    custom.add_column(name="contrast", description="a float column")
    custom.add_column(name="frames", description="a ragged int column", index=True)
    for i in range(3):
        custom.add_interval(
            start_time=i * 1.0, stop_time=i + 0.9, contrast=0.5 * i, frames=list(range(i + 1))
        )
    nwb.add_time_intervals(custom)


def _events(nwb: NWBFile) -> None:
    licks = EventsTable(name="licks", description="lick times", source_description="lickometer")
    licks.add_column(name="side", description="which spout")
    for i in range(4):
        licks.add_event(
            timestamp=0.5 + i, duration=0.05 if i % 2 else float("nan"), annotation=f"lick {i}", side=i % 2
        )
    meanings = MeaningsTable(target=licks["side"], description="what side means")
    meanings.add_row(value=0, meaning="left")
    meanings.add_row(value=1, meaning="right")
    licks.add_meanings_table(meanings)
    nwb.add_events_table(licks)


def _images(nwb: NWBFile) -> None:
    rng = np.random.default_rng(3)
    gray = GrayscaleImage(name="gray", data=rng.random((4, 5)), resolution=2.0, description="a gray image")
    rgb = RGBImage(name="rgb", data=rng.random((4, 5, 3)), description="an rgb image")
    rgba = RGBAImage(name="rgba", data=rng.random((4, 5, 4)), description="an rgba image")
    plain = Image(name="plain", data=rng.random((3, 3)), resolution=1.0, description="a plain image")
    external = ExternalImage(
        name="external", data="images/frame.png", image_format="PNG", image_mode="RGB", description="a file"
    )
    images = Images(
        name="stimuli",
        images=[gray, rgb, rgba, plain, external],
        description="stimulus images",
        order_of_images=ImageReferences(name="order_of_images", data=[rgba, gray, rgb, gray]),
    )
    nwb.add_stimulus_template(images)
    nwb.add_stimulus(
        IndexSeries(
            name="shown", data=[0, 1, 2, 1], indexed_images=images, unit="N/A", timestamps=[0.0, 1, 2, 3]
        )
    )
    camera = nwb.devices["camera"]
    movie = ImageSeries(
        name="movie",
        external_file=["movie1.avi", "movie2.avi"],
        starting_frame=[0, 100],
        num_samples=200,
        format="external",
        rate=30.0,
        device=camera,
        description="an external movie",
    )
    nwb.add_acquisition(movie)
    frames = ImageSeries(name="frames", data=rng.random((3, 4, 5)), unit="a.u.", rate=10.0, device=camera)
    nwb.add_acquisition(frames)
    nwb.add_acquisition(
        deprecated(
            ImageMaskSeries,
            name="mask",
            data=rng.integers(0, 2, size=(3, 4, 5)).astype(np.uint8),
            unit="n.a.",
            masked_imageseries=frames,
            rate=10.0,
        )
    )
    nwb.add_stimulus(
        OpticalSeries(
            name="optical",
            data=rng.random((3, 4, 5)),
            unit="a.u.",
            distance=0.7,
            field_of_view=[0.2, 0.3],
            orientation="lower left",
            rate=10.0,
        )
    )


def _behavior(nwb: NWBFile) -> None:
    rng = np.random.default_rng(4)
    behavior = nwb.create_processing_module("behavior", "behavior")
    position = Position()
    position.create_spatial_series(
        name="xy", data=rng.random((10, 2)), reference_frame="arena corner", timestamps=np.arange(10) / 10
    )
    behavior.add(position)
    compass = CompassDirection()
    compass.add_spatial_series(
        SpatialSeries(name="heading", data=rng.random(10), reference_frame="north", unit="radians", rate=10.0)
    )
    behavior.add(compass)
    bts = BehavioralTimeSeries()
    bts.create_timeseries(name="speed", data=rng.random(10), unit="m/s", timestamps=position["xy"])
    behavior.add(bts)
    events = BehavioralEvents()
    events.create_timeseries(name="rewards", data=[1.0, 1.0, 2.0], unit="ml", timestamps=[0.5, 1.5, 2.5])
    behavior.add(events)
    pupil = PupilTracking()
    pupil.create_timeseries(name="pupil", data=rng.random(10), unit="mm", rate=10.0)
    behavior.add(pupil)
    eye = EyeTracking()
    eye.create_spatial_series(name="gaze", data=rng.random((10, 2)), reference_frame="screen", rate=10.0)
    behavior.add(eye)
    epochs = BehavioralEpochs()
    epochs.add_interval_series(IntervalSeries(name="running", data=[1, -1, 1, -1], timestamps=[0.0, 1, 2, 3]))
    behavior.add(epochs)
    nwb.add_acquisition(
        AnnotationSeries(name="notes", data=["start", "poke", "end"], timestamps=[0.0, 1.0, 2.0])
    )


def _ophys(nwb: NWBFile) -> None:
    rng = np.random.default_rng(5)
    microscope = nwb.devices["microscope"]
    channel = OpticalChannel(name="green", description="green channel", emission_lambda=510.0)
    plane = nwb.create_imaging_plane(
        name="plane",
        optical_channel=[channel],
        description="a plane",
        device=microscope,
        excitation_lambda=920.0,
        imaging_rate=30.0,
        indicator="GCaMP6f",
        location="V1",
        grid_spacing=[0.01, 0.01],
        grid_spacing_unit="mm",
        origin_coords=[1.0, 2.0, 0.0],
        origin_coords_unit="mm",
        reference_frame="bregma",
    )
    two_photon = TwoPhotonSeries(
        name="two_photon",
        data=rng.random((5, 4, 4)),
        imaging_plane=plane,
        rate=30.0,
        unit="a.u.",
        field_of_view=[0.1, 0.1],
        pmt_gain=1.5,
        scan_line_rate=1000.0,
    )
    nwb.add_acquisition(two_photon)
    nwb.add_acquisition(
        OnePhotonSeries(
            name="one_photon",
            data=rng.random((5, 4, 4)),
            imaging_plane=plane,
            rate=30.0,
            unit="a.u.",
            exposure_time=0.01,
            binning=2,
            power=1.0,
            intensity=0.5,
        )
    )
    ophys = nwb.create_processing_module("ophys", "optical physiology")
    segmentation = ImageSegmentation()
    masks = segmentation.create_plane_segmentation(
        name="masks", description="image masks", imaging_plane=plane, reference_images=two_photon
    )
    for _ in range(3):
        masks.add_roi(image_mask=(rng.random((4, 4)) > 0.5).astype(float))
    pixels = segmentation.create_plane_segmentation(
        name="pixels", description="pixel masks", imaging_plane=plane
    )
    for i in range(3):
        pixels.add_roi(pixel_mask=[(i, 0, 1.0), (i, 1, 0.5)][: 1 + i % 2])
    voxels = segmentation.create_plane_segmentation(
        name="voxels", description="voxel masks", imaging_plane=plane
    )
    for i in range(2):
        voxels.add_roi(voxel_mask=[(i, 0, 0, 1.0), (i, 1, 1, 0.25)])
    ophys.add(segmentation)
    rois = masks.create_roi_table_region(region=[0, 2], description="two rois")
    fluorescence = Fluorescence()
    fluorescence.create_roi_response_series(
        name="raw_f", data=rng.random((5, 2)), rois=rois, unit="a.u.", timestamps=np.arange(5) / 30
    )
    ophys.add(fluorescence)
    dff = DfOverF()
    dff.add_roi_response_series(
        RoiResponseSeries(
            name="dff",
            data=rng.random((5, 2)),
            rois=masks.create_roi_table_region(region=[0, 2], description="dff rois"),
            unit="%",
            timestamps=fluorescence["raw_f"],
        )
    )
    ophys.add(dff)
    corrected = ImageSeries(name="corrected", data=rng.random((5, 4, 4)), unit="a.u.", rate=30.0)
    shifts = TimeSeries(name="xy_translation", data=rng.random((5, 2)), unit="pixels", rate=30.0)
    ophys.add(
        MotionCorrection(
            corrected_image_stacks=[
                CorrectedImageStack(
                    name="stack", corrected=corrected, original=two_photon, xy_translation=shifts
                )
            ]
        )
    )


def _ogen(nwb: NWBFile) -> None:
    site = OptogeneticStimulusSite(
        name="site", device=nwb.devices["laser"], description="a site", excitation_lambda=473.0, location="V1"
    )
    nwb.add_ogen_site(site)
    nwb.add_stimulus(OptogeneticSeries(name="light", data=[0.0, 1.5, 0.0], site=site, rate=10.0))


def _misc(nwb: NWBFile) -> None:
    rng = np.random.default_rng(6)
    analysis = nwb.create_processing_module("misc", "misc types")
    analysis.add(
        AbstractFeatureSeries(
            name="features",
            data=rng.random((4, 2)),
            feature_units=["Hz", "dB"],
            features=["pitch", "loudness"],
            timestamps=[0.0, 0.1, 0.2, 0.3],
        )
    )
    bands = FrequencyBandsTable()
    bands.add_band(band_name="theta", band_limits=[4.0, 8.0], band_mean=6.0, band_stdev=1.0)
    bands.add_band(band_name="gamma", band_limits=[30.0, 80.0], band_mean=55.0, band_stdev=10.0)
    decomposition = DecompositionSeries(
        name="decomposition",
        data=rng.random((5, 2, 2)),
        metric="power",
        rate=100.0,
        bands=bands,
        source_timeseries=nwb.acquisition["raw"],
        source_channels=nwb.create_electrode_table_region(
            region=[0, 1], description="sources", name="source_channels"
        ),
    )
    analysis.add(decomposition)
    nwb.add_analysis(TimeSeries(name="summary", data=[3.0, 4.0], unit="s", rate=1.0))


def _scratch(nwb: NWBFile) -> None:
    nwb.add_scratch(np.arange(6).reshape(2, 3), name="matrix", description="a scratch array")
    nwb.add_scratch(ScratchData(name="notes", data=["a", "b"], description="scratch text"))
    table = DynamicTable(name="scratch_table", description="a scratch table")
    table.add_column(name="value", description="values")
    table.add_column(name="words", description="ragged words", index=True)
    table.add_row(value=1.0, words=["x", "y"])
    table.add_row(value=2.0, words=["z"])
    nwb.add_scratch(table)
    nwb.add_scratch(3.5, name="scalar", description="a scratch scalar")
    # a hand-built ragged column through VectorIndex, as other tools write it
    words = VectorData(name="letters", description="letters", data=["a", "b", "c"])
    index = VectorIndex(name="letters_index", data=[1, 3], target=words)
    nwb.add_scratch(
        DynamicTable(name="ragged", description="explicit index", columns=[index, words], id=[0, 1])
    )
    region_target = nwb.scratch["scratch_table"]
    nwb.add_scratch(
        DynamicTable(
            name="pointers",
            description="a region into another table",
            columns=[
                DynamicTableRegion(name="rows", data=[1, 0, 1], description="rows", table=region_target)
            ],
        )
    )


def _many_small_series(nwb: NWBFile) -> None:
    module = nwb.create_processing_module("many", "many small series")
    shared = np.arange(8) / 8
    first = TimeSeries(name="series_00", data=np.arange(8.0), unit="V", timestamps=shared)
    module.add(first)
    for i in range(1, 40):
        if i % 3 == 0:  # timestamps linked to the first series
            ts = TimeSeries(name=f"series_{i:02d}", data=np.arange(8.0) * i, unit="V", timestamps=first)
        elif i % 5 == 0:  # data linked to the first series
            ts = TimeSeries(name=f"series_{i:02d}", data=first, unit="V", rate=8.0)
        else:
            ts = TimeSeries(
                name=f"series_{i:02d}",
                data=np.full(3, float(i)),
                unit="V",
                rate=float(i),
                starting_time=0.5,
                control=[0, 1, 0],
                control_description=["off", "on"],
                continuity="step",
            )
        module.add(ts)
