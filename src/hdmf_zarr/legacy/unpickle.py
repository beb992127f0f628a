"""A restricted unpickler for the pickled chunks of hdmf-zarr <= 0.13 files. It never runs file code.

Layer: conventions (legacy). Python's general unpickler calls any importable callable named in the
data, so a crafted file could run code on open. These files only ever hold numpy object arrays of
plain values and ``hdmf_zarr.utils.ZarrReference`` dicts; this unpickler resolves exactly those globals
(the reference class mapped to our own :class:`LegacyReference`) and refuses everything else, naming
the dataset.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Final

import numpy as np

from hdmf_zarr.errors import UnsafePickleError


class LegacyReference(dict[str, Any]):
    """Our stand-in for the peer's ``hdmf_zarr.utils.ZarrReference``: a plain dict of source/path/ids."""


def _numpy_global(module: str, name: str) -> Any:
    # numpy >= 2 is installed; numpy 1.x wrote the same functions under numpy.core.
    from numpy._core import multiarray, numeric

    owner: Any = numeric if name == "_frombuffer" else multiarray
    return getattr(owner, name)


_NUMPY_MODULES: Final = frozenset(
    {"numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric"}
)
_NUMPY_FUNCTIONS: Final = frozenset({"_reconstruct", "scalar", "_frombuffer"})
_BUILTINS: Final = {
    name: getattr(__import__("builtins"), name)
    for name in (
        "bytes",
        "bytearray",
        "str",
        "int",
        "float",
        "complex",
        "bool",
        "tuple",
        "list",
        "dict",
        "set",
        "frozenset",
        "slice",
    )
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only numpy array reconstruction, plain builtins and the legacy reference class."""

    def __init__(self, data: bytes, *, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        if module in _NUMPY_MODULES and name in _NUMPY_FUNCTIONS:
            return _numpy_global(module, name)
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return getattr(np.dtypes, name)
        if module == "builtins" and name in _BUILTINS:
            return _BUILTINS[name]
        if module == "hdmf_zarr.utils" and name == "ZarrReference":
            return LegacyReference
        if module == "copyreg" and name == "_reconstructor":
            return _reconstructor
        raise UnsafePickleError(
            f"Refused to unpickle {module}.{name} in dataset {self._where!r}: legacy hdmf-zarr files hold "
            "only numpy arrays, plain values and references, so this chunk was not written by hdmf-zarr "
            "and may run code. The dataset was not read."
        )


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    """copyreg's reconstructor limited to the classes this unpickler admits."""
    if cls is not LegacyReference or base is not dict:
        raise UnsafePickleError(f"Refused to rebuild {cls!r} from {base!r} in a legacy pickled chunk.")
    return LegacyReference() if state is None else LegacyReference(state)


def safe_loads(data: bytes, *, where: str) -> Any:
    """Unpickle *data* from dataset *where* with :class:`RestrictedUnpickler`."""
    try:
        return RestrictedUnpickler(bytes(data), where=where).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UnsafePickleError(
            f"Dataset {where!r} holds a pickled chunk that cannot be decoded: {exc}"
        ) from exc
