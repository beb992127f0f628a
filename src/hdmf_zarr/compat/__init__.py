"""Compatibility with hdmf-zarr 0.14's public surface: everything here exists only for code written
against the peer package (its module paths, public names, ``ZarrIO`` methods and the private names
clients read).

Layer: none of its own. ``compat.names`` sits with ``references``; ``compat.zarrio`` sits between
``io`` and ``write``; the peer's module paths (``hdmf_zarr.backend``, ``hdmf_zarr.utils``,
``hdmf_zarr.zarr_utils``, ``hdmf_zarr.backend_zarrv2``, ``hdmf_zarr.nwb_zarrv2``) are thin modules at
the top. Inventory, with who needs each item and when it can go: ``docs/peer-suite.md``.
"""
