"""What the clients venv imports: our hdmf_zarr (from the checkout), zarr 3, and neuroconv's Zarr backend.

Usage: environment.py. Prints one JSON document.
"""

import json

import zarr
from neuroconv.tools.nwb_helpers import AVAILABLE_ZARR_COMPRESSION_METHODS, ZarrBackendConfiguration

import hdmf_zarr

print(
    json.dumps(
        {
            "hdmf_zarr_file": hdmf_zarr.__file__,
            "hdmf_zarr_version": hdmf_zarr.__version__,
            "zarr": zarr.__version__,
            "neuroconv_zarr_methods": sorted(AVAILABLE_ZARR_COMPRESSION_METHODS),
            "neuroconv_data_io": ZarrBackendConfiguration.data_io_class.__module__,
        }
    )
)
