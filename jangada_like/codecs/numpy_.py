"""numpy arrays and numpy scalars.

Arrays are datasets tagged ``numpy.ndarray``, chunked and resizable along axis 0 (0-d arrays are
scalar datasets).  dtypes HDF5 lacks are mapped and the numpy dtype is kept in
``__numpy_dtype__``: ``<U`` arrays are stored as UTF-8 variable-length strings, datetime64 and
timedelta64 as int64.  Fortran-ordered arrays record ``__order__ = 'F'``.  Numeric numpy scalars are
attributes of their own dtype (so ``np.float32`` stays ``np.float32``); other numpy scalars are 0-d
datasets tagged ``numpy.scalar``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..door import Dataset, Door, Group
from ..errors import FileFormatError, UnsupportedTypeError
from ..format import STR_DTYPE
from .base import AttrNode, Codec

DTYPE_ATTR = "__numpy_dtype__"
ORDER_ATTR = "__order__"


def to_stored(arr: np.ndarray, ctx: Door) -> tuple[np.ndarray, dict[str, Any]]:
    """Map an array to what HDF5 stores, plus the attributes needed to map it back."""
    attrs: dict[str, Any] = {}
    kind = arr.dtype.kind
    if kind == "O":
        msg = "object arrays cannot be stored: convert to a list or a typed array"
        raise ctx.error(UnsupportedTypeError, msg)
    if kind in "UT":
        if kind == "T" and hasattr(arr.dtype, "na_object"):
            msg = f"StringDType with na_object={arr.dtype.na_object!r} cannot be stored: HDF5 strings "
            msg += "have no missing value (fill the missing items, or store a list)"
            raise ctx.error(UnsupportedTypeError, msg)
        attrs[DTYPE_ATTR] = "T" if kind == "T" else arr.dtype.str
        try:
            for item in arr.flat:
                text = str(item)
                text.encode("utf-8")
                if "\x00" in text:
                    msg = "string array holds a NUL character, which HDF5 strings cannot hold: "
                    msg += "remove it, or store the text as bytes (np.char.encode) or as a list"
                    raise ctx.error(UnsupportedTypeError, msg)
        except UnicodeEncodeError as exc:
            msg = f"unicode array holds text that is not valid UTF-8 ({exc.reason})"
            raise ctx.error(UnsupportedTypeError, msg) from None
        arr = arr.astype(object)
    elif kind in "mM":
        attrs[DTYPE_ATTR] = arr.dtype.str
        arr = arr.view("<i8") if arr.dtype.byteorder != ">" else arr.astype("<i8")
    elif kind == "V" and arr.dtype.fields:
        _check_fields(arr.dtype, ctx)
    if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous:
        attrs[ORDER_ATTR] = "F"
    return arr, attrs


def _check_fields(dtype: np.dtype[Any], ctx: Door) -> None:
    for name, (sub, *_rest) in (dtype.fields or {}).items():
        if sub.fields:
            _check_fields(sub, ctx)
        elif sub.kind in "OUmM":
            msg = f"structured field {name!r} has dtype {sub}, which HDF5 compounds cannot hold"
            raise ctx.error(UnsupportedTypeError, msg)


def stored_dtype(dset: Dataset, ctx: Door) -> np.dtype[Any]:
    """The numpy dtype a dataset's values come back as."""
    name = ctx.attr(dset, DTYPE_ATTR)
    if name is None:
        dtype: np.dtype[Any] = dset.dtype
        return dtype
    return _safe_dtype(name, dset, ctx)


def _safe_dtype(name: Any, dset: Dataset, ctx: Door) -> np.dtype[Any]:
    try:
        dtype = np.dtype(name if isinstance(name, str) else str(name))
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in "UTmM":
        msg = f"attribute {DTYPE_ATTR} must name a <U, StringDType (T), datetime64 or timedelta64 dtype, "
        msg += f"got {name!r:.40}"
        raise ctx.error(FileFormatError, msg, dset.name)
    return dtype


def read(dset: Dataset, key: Any, ctx: Door) -> Any:
    """Read ``dset[key]`` and map it back to its numpy dtype and order, through the door ``ctx``."""
    door = ctx
    target = door.attr(dset, DTYPE_ATTR)
    if target is None:
        out = door.read_data(dset, key)
        if dset.ndim == 0 and not isinstance(out, np.ndarray):
            out = np.asarray(out, dtype=dset.dtype)  # keeps byte order and exact dtype
    else:
        dtype = _safe_dtype(target, dset, door)
        if dtype.kind in "UT":
            out = np.asarray(door.read_data(dset, key, strings=True), dtype=object).astype(dtype)
        else:
            raw = np.asarray(door.read_data(dset, key))
            out = raw.astype("<i8").view(dtype.newbyteorder("<")).astype(dtype)
        if out.ndim == 0 and dset.ndim != 0:
            out = out[()]  # one element: a numpy scalar, as numpy and h5py give it
    if isinstance(out, np.ndarray) and out.ndim > 1 and door.attr(dset, ORDER_ATTR) == "F":
        out = np.asfortranarray(out)
    return out


def write_array(
    arr: np.ndarray, parent: Group, name: str, tag: str, ctx: Door, *, growable: bool = False
) -> Dataset:
    """Create a dataset for ``arr`` tagged ``tag`` (shared by every array-like codec);
    ``growable``: chunked and resizable even when small (an array stored once for several places
    cannot be replaced by a growable copy at its first append)."""
    stored, attrs = to_stored(arr, ctx)
    if stored.dtype == object:
        stored = stored.astype(STR_DTYPE)
    return ctx.create_dataset(parent, name, stored, tag, growable=growable, **attrs)


class NdarrayCodec(Codec):
    tag = "numpy.ndarray"
    types = (np.ndarray,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if type(value) is not np.ndarray:
            msg = f"ndarray subclass {type(value).__qualname__} would lose its type: pass "
            msg += "np.asarray(value), or register a codec for it"
            raise ctx.error(UnsupportedTypeError, msg)
        shared = id(value) in ctx.shared
        ctx.remember(value, write_array(value, parent, name, self.tag, ctx, growable=shared))

    def decode(self, node: Any, ctx: Door) -> Any:
        if not ctx.is_dataset(node):
            if isinstance(node, AttrNode) and isinstance(node.value, np.ndarray):
                return node.value  # an array attribute written by another tool
            msg = "expected a dataset for tag 'numpy.ndarray'"
            raise ctx.error(FileFormatError, msg, getattr(node, "name", None))
        if ctx.lazy:
            return ctx.session.proxy(node, self)
        return np.asarray(read(node, (), ctx))

    def read_slice(self, dset: Dataset, key: Any, ctx: Door) -> Any:
        """Used by :class:`ProxyDataset`: read and convert ``dset[key]`` (``ctx``: the session's
        door, for codecs that consult attributes)."""
        return read(dset, key, ctx)

    def convert_for_write(self, value: Any, dset: Dataset, ctx: Door) -> np.ndarray:
        """Used by :class:`ProxyDataset`: map values to the dataset's stored dtype."""
        dtype = stored_dtype(dset, ctx)
        arr = np.asarray(value)
        if dtype.kind in "mM":
            return np.asarray(arr.astype(dtype)).view("<i8")
        if dtype.kind in "UT":
            return arr.astype(dtype).astype(object)
        return arr

    def logical_dtype(self, dset: Dataset, ctx: Door) -> np.dtype[Any]:
        """The dtype users see."""
        return stored_dtype(dset, ctx)


class NumpyScalarCodec(Codec):
    tag = "numpy.scalar"
    types = (np.generic, np.str_, np.bytes_)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if value.dtype.kind in "biufc":
            ctx.write_attr(parent, name, value, self.tag)
        else:
            write_array(np.asarray(value), parent, name, self.tag, ctx)

    def decode(self, node: Any, ctx: Door) -> Any:
        if isinstance(node, AttrNode):
            if not isinstance(node.value, np.generic):
                msg = f"expected a numpy scalar, found {type(node.value).__name__}"
                raise ctx.error(FileFormatError, msg, node.path)
            return node.value
        if not ctx.is_dataset(node) or node.shape != ():
            raise ctx.error(FileFormatError, "expected a 0-d dataset", node.name)
        value = read(node, (), ctx)
        return value[()] if isinstance(value, np.ndarray) else value


CODECS = (NdarrayCodec(), NumpyScalarCodec())
