"""The one zarr 2 name neuroconv's Zarr backend reads at import: ``zarr.codec_registry``.

Layer: foundation. Why: neuroconv (0.10.2 and every earlier release with a Zarr backend) builds its
list of Zarr compression methods at import from ``zarr.codec_registry`` (zarr 2's alias of
``numcodecs.registry.codec_registry``) and instantiates the codecs it configures from it. zarr 3
removed the alias, so ``neuroconv.tools.nwb_helpers`` (run_conversion, configure_backend, ...) fails
to import under zarr 3 whatever the Zarr backend. The codecs it gets are numcodecs codecs, which
:class:`hdmf_zarr.ZarrDataIO` translates to zarr 3 codecs.

What: :func:`install` sets ``zarr.codec_registry`` to numcodecs' registry, and only when zarr has no
such name (zarr 3) and neuroconv is installed. Nothing else of zarr is touched; no existing name is
replaced. ``import hdmf_zarr`` calls it (neuroconv imports hdmf_zarr before its Zarr configuration
module).

How to remove: once the neuroconv releases users install no longer read ``zarr.codec_registry``,
delete this module and its call in ``hdmf_zarr/__init__.py`` (and tests/unit/test_neuroconv_compat.py).
"""

from __future__ import annotations

import importlib.util

import numcodecs.registry
import zarr

#: The zarr 2 module attribute neuroconv reads.
REGISTRY_NAME = "codec_registry"


def needed() -> bool:
    """True when zarr lacks ``codec_registry`` and neuroconv is installed (found, not imported)."""
    return not hasattr(zarr, REGISTRY_NAME) and importlib.util.find_spec("neuroconv") is not None


def install() -> bool:
    """Give zarr 3 the ``codec_registry`` name when neuroconv needs it; return whether it did."""
    if not needed():
        return False
    setattr(zarr, REGISTRY_NAME, numcodecs.registry.codec_registry)
    return True
