"""A restricted unpickler for the pickled chunks of hdmf-zarr <= 0.13 files. It never runs file code.

Layer: conventions (legacy). Python's general unpickler calls any importable callable named in the
data, so a crafted file could run code on open. These files only ever hold numpy arrays of plain
values and ``hdmf_zarr.utils.ZarrReference`` dicts. This unpickler resolves exactly the globals such
pickles name, and refuses everything else, naming the dataset and the refused global.

The admitted globals were taken from real pickles, not guessed: chunks written by hdmf-zarr 0.13.0
(numpy 2.4) and object/structured arrays, numpy scalars and reference dicts pickled with numpy 1.26
and 2.4 under every protocol 0-5:

- ``numpy.core.multiarray._reconstruct``/``scalar`` (numpy 1.x), ``numpy._core.multiarray.*`` (2.x);
- ``numpy.core.numeric._frombuffer``/``numpy._core.numeric._frombuffer`` (protocol 5, numeric arrays);
- ``numpy.ndarray`` and ``numpy.dtype``;
- ``hdmf_zarr.utils.ZarrReference``, mapped to our own :class:`LegacyReference`;
- protocols 0-2 only: ``copy_reg._reconstructor`` (dict subclasses), ``_codecs.encode`` (bytes, Latin-1
  only), ``__builtin__.bytes``/``dict``;
- constructors of plain containers pickled by reference rather than by opcode (``complex``,
  ``set``/``frozenset`` below protocol 4, ``bytearray``); bytes constructors refuse sizes, so a chunk
  cannot ask for gigabytes of zeros.

Arrays are bounded too: ``_reconstruct`` builds only the empty array numpy's pickles start from, and
its ``__setstate__`` checks the claimed shape against the data the pickle actually holds (and
:data:`MAX_ARRAY_BYTES`) before numpy allocates anything. numpy itself allocates the claimed shape
first, and crashes the interpreter when an object array's list is shorter than that shape.

Never call ``pickle.loads`` or numcodecs' ``Pickle.decode`` on file data: use :func:`safe_loads`.
"""

from __future__ import annotations

import io
import math
import pickle
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from numpy._core import multiarray, numeric

from hdmf_zarr.errors import UnsafePickleError


class LegacyReference(dict[str, Any]):
    """Our stand-in for the peer's ``hdmf_zarr.utils.ZarrReference``: a plain dict of source/path/ids."""


def _no_size(constructor: type) -> Callable[..., Any]:
    """Wrap bytes/bytearray so a pickle can build them from data but not from a length."""

    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int):
            raise UnsafePickleError(f"Refused {constructor.__name__}({args[0]!r}) in a legacy pickled chunk.")
        return constructor(*args)

    return build


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocols 0-2 use it for bytes: Latin-1 text only."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafePickleError(f"Refused _codecs.encode(..., {encoding!r}) in a legacy pickled chunk.")
    return text.encode("latin-1")


#: The largest array one pickled chunk may rebuild (its data; 8 bytes per element of object arrays).
MAX_ARRAY_BYTES: Final = 256 * 2**20


class _BoundedArray(np.ndarray):
    """The array ``_reconstruct`` returns: its ``__setstate__`` checks the claimed size before numpy's."""

    def __setstate__(self, state: Any) -> None:
        _check_array_state(state)
        super().__setstate__(state)


def _check_array_state(state: Any) -> None:
    """Refuse an ndarray state whose shape is larger than the limit or than the data it carries."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise UnsafePickleError(f"Refused an ndarray state of unexpected form ({type(state).__name__}).")
    shape, dtype, _, raw = state[-4:]
    dtype = np.dtype(dtype)
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise UnsafePickleError(f"Refused an ndarray state with the shape {shape!r}.")
    count = math.prod(shape)
    claimed = count * max(dtype.itemsize, 1)
    if claimed > MAX_ARRAY_BYTES:
        raise UnsafePickleError(
            f"Refused an array of shape {shape} ({claimed} bytes): pickled chunks are limited to "
            f"{MAX_ARRAY_BYTES} bytes (hdmf_zarr.legacy.unpickle.MAX_ARRAY_BYTES)."
        )
    held = len(raw) if isinstance(raw, list | bytes | bytearray | str) else None
    needed = count if isinstance(raw, list) else count * dtype.itemsize
    if held != needed:
        raise UnsafePickleError(
            f"Refused an array that claims the shape {shape} of {dtype} but carries {held} "
            f"{'items' if isinstance(raw, list) else 'bytes'} instead of {needed}."
        )


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's pickle entry point, limited to the empty ndarray every numpy pickle starts from."""
    if subtype is not np.ndarray or tuple(shape) != (0,):
        raise UnsafePickleError(
            f"Refused _reconstruct({subtype!r}, {shape!r}): numpy pickles use (ndarray, (0,))."
        )
    empty: np.ndarray = multiarray._reconstruct(_BoundedArray, (0,), dtype)  # type: ignore[assignment]
    return empty


def _scalar(dtype: Any, *args: Any) -> Any:
    """numpy's scalar rebuild; a structured scalar's array argument must be a plain ndarray."""
    return multiarray.scalar(
        dtype, *(a.view(np.ndarray) if isinstance(a, _BoundedArray) else a for a in args)
    )


_NUMPY: Final[dict[tuple[str, str], Any]] = {
    **{(m, "_reconstruct"): _reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{
        (m, "_frombuffer"): vars(numeric)["_frombuffer"]
        for m in ("numpy.core.numeric", "numpy._core.numeric")
    },
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_PLAIN: Final[dict[str, Any]] = {
    "bytes": _no_size(bytes),
    "bytearray": _no_size(bytearray),
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "complex": complex,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
}
_BUILTIN_MODULES: Final = frozenset({"builtins", "__builtin__"})  # the second: protocols 0-2


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only numpy array reconstruction, plain builtins and the legacy reference class."""

    def __init__(self, data: bytes, *, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        found = _NUMPY.get((module, name))
        if found is not None:
            return found
        if module in _BUILTIN_MODULES and name in _PLAIN:
            return _PLAIN[name]
        if (module, name) == ("hdmf_zarr.utils", "ZarrReference"):
            return LegacyReference
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            return _reconstructor
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise UnsafePickleError(
            f"Refused to unpickle the global {module}.{name} in dataset {self._where!r}: hdmf-zarr files "
            "hold only numpy arrays, plain values and references, so this chunk was not written by "
            "hdmf-zarr and could run code. Nothing was run and the dataset was not read; if you trust "
            "the file, read it with the tool that wrote it."
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f"Refused a persistent id {pid!r} in dataset {self._where!r}: hdmf-zarr never writes them."
        )


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    """copyreg's protocol 0/1 reconstructor, limited to the reference class over ``dict``."""
    if cls is not LegacyReference or base is not dict:
        raise UnsafePickleError(f"Refused to rebuild {cls!r} from {base!r} in a legacy pickled chunk.")
    return LegacyReference() if state is None else LegacyReference(state)


def safe_loads(data: bytes, *, where: str) -> Any:
    """Unpickle *data* from dataset *where* with :class:`RestrictedUnpickler`.

    Raises :class:`~hdmf_zarr.errors.UnsafePickleError` for a refused global and for data that is not
    a well-formed pickle of admitted values.
    """
    try:
        loaded = RestrictedUnpickler(bytes(data), where=where).load()
    except UnsafePickleError as exc:
        if repr(where) in str(exc):
            raise
        raise UnsafePickleError(f"Dataset {where!r} holds a pickled chunk that was refused: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UnsafePickleError(
            f"Dataset {where!r} holds a pickled chunk that cannot be decoded ({type(exc).__name__}: {exc}). "
            "The file may be damaged; hdmf-zarr wrote these chunks with numcodecs' Pickle codec."
        ) from exc
    except MemoryError as exc:
        raise UnsafePickleError(f"Dataset {where!r} holds a pickled chunk too large to decode.") from exc
    return loaded.view(np.ndarray) if isinstance(loaded, _BoundedArray) else loaded
