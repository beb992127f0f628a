"""Building blocks of conversion: what a converted file keeps from its source, and how it is published.

Layer: applications (below ``conversion``, above ``nwb``/``io``). Each module does one thing that
:mod:`hdmf_zarr.conversion` (and the parallel conversion) calls: ``specs`` copies the source's
specification cache verbatim, ``layout`` carries chunking and compression over, ``hdf5`` writes a
builder tree into HDF5 without a rebuild, ``staging`` publishes a destination only when complete.
"""
