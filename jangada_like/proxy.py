"""``ProxyDataset``: a handle to (file, HDF5 path), not an array.

Inside ``with Cls(path, mode=...) as obj`` every array property (at any depth) is a proxy: slicing
reads only what is asked, assignment writes through, ``append`` grows the dataset.  After the block
every access raises :class:`ProxyClosedError` naming the dataset, the file and how to reopen it.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from jangada_like import Persistable, SerializableProperty
>>> class Series(Persistable):
...     data = SerializableProperty(default=None)
>>> path = os.path.join(tempfile.mkdtemp(), "s.hdf5")
>>> _ = Series(data=np.arange(3.0)).save(path)
>>> with Series(path, mode="r+") as s:
...     s.data.append([3.0, 4.0])
...     s.data[1:3]
(5,)
array([1., 2.])
"""

from __future__ import annotations

import copy
import math
import operator
import os
import threading
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np
from h5py import h5s

from ._h5 import MEMORY_TYPES, chunk_table, dataset_dtype, has_attr, make_growable
from ._locking import file_error
from .errors import (
    CastingError,
    FileFormatError,
    FileLockedError,
    JangadaError,
    ProxyClosedError,
    ReadOnlyError,
    ShapeMismatchError,
)

__all__ = ["DASK_CHUNK_BYTES", "DaskSource", "ProxyDataset", "dask_chunks"]

#: rows changed by an in-place operator (``proxy *= 2``) are read and written this much at a time
_IN_PLACE_BLOCK_BYTES = 32 * 2**20


class ProxyDataset:
    """Lazy, resizable view of one dataset of an open file.

    Obtained from the properties of an object opened with ``with Cls(path, mode=...)``; also
    available as ``Persistable.ProxyDataset``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from jangada_like import Persistable, SerializableProperty
    >>> class Grid(Persistable):
    ...     values = SerializableProperty(default=None)
    >>> path = Grid(values=np.arange(12.0).reshape(4, 3)).save(os.path.join(tempfile.mkdtemp(), "g"))
    >>> with Grid(path, mode="r") as grid:
    ...     proxy = grid.values
    ...     print(proxy.shape, proxy.dtype, proxy[1], proxy[[3, 0], 2])
    (4, 3) float64 [3. 4. 5.] [11.  2.]
    """

    __jangada_lazy__ = True

    def __init__(self, source: Any, dset: h5py.Dataset, codec: Any) -> None:
        self._source = source
        self._dset = dset
        self._path = getattr(dset, "_jl_path", None) or dset.name
        self._file = os.fspath(source.path)
        self._codec = codec

    # -- where the data lives ----------------------------------------------------------------

    @property
    def path(self) -> str:
        """The HDF5 path of the dataset."""
        return self._path

    @property
    def filename(self) -> str:
        """The file holding the dataset."""
        return self._file

    @property
    def dataset(self) -> h5py.Dataset:
        """The open ``h5py.Dataset`` (raises once the file is closed)."""
        if not self._source.is_open:
            msg = f"ProxyDataset '{self._path}' of '{self._file}' is closed: reopen the file "
            msg += f"with `with {self._source.class_name}('{self._file}', mode='r') as obj:`"
            raise ProxyClosedError(msg, file=self._file, path=self._path)
        return self._source.dataset(self)

    # -- array protocol ------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The current shape (re-read on every access: shows rows appended since)."""
        return tuple(self.dataset.shape)

    @property
    def dtype(self) -> Any:
        """The dtype values come back as (e.g. ``datetime64[ns]`` for a DatetimeIndex)."""
        return self._codec.logical_dtype(self.dataset, self._source.door())

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        """Bytes the data takes in memory once read."""
        return self.size * self.dataset.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """The HDF5 chunk shape."""
        return self.dataset.chunks

    @property
    def attrs(self) -> dict[str, Any]:
        """User-visible attributes (the library's own ``__*__`` ones left out), as a copy."""
        return {k: v for k, v in self.dataset.attrs.items() if not k.startswith("__")}

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError(f"len() of a 0-d dataset '{self._path}' of '{self._file}'")
        return shape[0]

    def __repr__(self) -> str:
        try:
            return f"<ProxyDataset '{self._path}' of '{self._file}' shape={self.shape} dtype={self.dtype}>"
        except ProxyClosedError:
            return f"<ProxyDataset '{self._path}' of '{self._file}' (closed)>"

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._read(key)
        except (OSError, RuntimeError) as exc:  # a broken file, or the system: named
            if isinstance(exc, JangadaError):
                raise
            raise file_error(exc, self._file, self._path, "read") from exc
        except (TypeError, ValueError, IndexError) as exc:  # a key h5py refuses: said where
            if isinstance(exc, JangadaError) or type(exc) not in (TypeError, ValueError, IndexError):
                raise
            msg = f"cannot read ProxyDataset '{self._path}' of '{self._file}' (shape {self.shape}) "
            msg += f"at {key!r}: {exc} (ints, slices, lists, boolean masks, ... and tuples of them)"
            raise type(exc)(msg) from exc

    def _read(self, key: Any) -> Any:
        dset = self.dataset
        if type(key) is slice and key.step in (None, 1):
            table = self._rows_table(dset)
            if table is not None:
                start, stop, _ = key.indices(table.n_rows)
                return table.read(start, max(start, stop))
        order, key = _normalise_read_key(key, dset.shape)
        if self._plain_dtype(dset) is not None and not (isinstance(key, tuple) and not key):
            out = dset[key]  # stored as it is read: no conversion, no attribute to consult
        else:
            out = self._codec.read_slice(dset, key, self._source.door())
        return out if order is None else out[order]

    def _rows_table(self, dset: h5py.Dataset) -> Any:
        """Direct row reads for files that cannot change under us (mode 'r', no SWMR)."""
        cached = self.__dict__.get("_table", False)
        if cached is False:
            usable = self._source.mode == "r" and not self._source.swmr and hasattr(self._source, "own")
            plain = self._plain_dtype(dset) is not None and not has_attr(dset, "__order__")
            cached = chunk_table(dset) if usable and plain else None
            if cached is not None:
                self._source.own(cached)  # closed with the session
            self.__dict__["_table"] = cached
        return cached

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a ProxyDataset cannot be viewed without copying: its data is on disk")
        out = np.asarray(self[()])
        return out if dtype is None else out.astype(dtype)

    def __iter__(self) -> Iterator[Any]:
        for block in self.iter_chunks():
            yield from block

    def iter_chunks(self) -> Iterator[Any]:
        """Yield consecutive blocks along axis 0, one HDF5 chunk of rows at a time."""
        dset = self.dataset
        if dset.ndim == 0:
            raise TypeError(f"iteration over a 0-d dataset '{self._path}' of '{self._file}'")
        step = (dset.chunks or (max(1, 2**20 // max(dset.dtype.itemsize, 1)),))[0]
        for start in range(0, dset.shape[0], step):
            yield self[start : start + step]

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # a copy of an object holds data, never a handle to another file session
        return copy.deepcopy(self[()], memo)

    def __reduce__(self) -> Any:
        from ._session import reopen_proxy

        return (reopen_proxy, (self._file, self._path, self._codec.tag))

    # -- writing -------------------------------------------------------------------------------

    def _grown(self, dset: h5py.Dataset) -> h5py.Dataset:
        """Make the contiguous ``dset`` chunked and resizable (its first growth) and point this
        handle at the new dataset."""
        if h5py.h5o.get_info(dset.id).rc > 1:
            msg = "this array is stored once for several places of the tree (hard links) in a "
            msg += "contiguous dataset, which cannot grow: assign the grown array to the property"
            raise ShapeMismatchError(msg, file=self._file, path=self._path)
        new = make_growable(dset)
        new._jl_path = getattr(dset, "_jl_path", None)
        self._dset = new
        for cache in ("_plain", "_table"):
            self.__dict__.pop(cache, None)
        return new

    def _writable(self) -> h5py.Dataset:
        source = self._source
        if source.is_open and source.writable:  # the common case in one test
            return source.dataset(self)  # type: ignore[no-any-return]
        dset = self.dataset  # raises ProxyClosedError once the file is closed
        if not source.writable:
            msg = f"dataset is read-only (opened with mode='{self._source.mode}'); open the "
            msg += "file with mode='r+' or 'a' to change it"
            raise ReadOnlyError(msg, file=self._file, path=self._path)
        return dset

    def __setitem__(self, key: Any, value: Any) -> None:
        dset = self._writable()
        arr = self._convert(value, dset, cast=False)
        try:
            key = _normalise_write_key(key, dset, arr)
        except TypeError:  # h5py: "Only chunked datasets can be resized"
            if dset.chunks is not None:
                raise
            dset = self._grown(dset)
            key = _normalise_write_key(key, dset, arr)
        try:
            dset[key] = arr
        except (TypeError, ValueError) as exc:
            msg = (
                f"cannot write data of shape {arr.shape} to {key!r} of a dataset of shape {dset.shape}: {exc}"
            )
            raise ShapeMismatchError(msg, file=self._file, path=self._path) from None
        except (OSError, RuntimeError) as exc:
            raise self._write_failed(exc) from exc
        self._source.touched(self)

    def append(self, values: Any, axis: int = 0, *, cast: bool = False) -> tuple[int, ...]:
        """Append ``values`` along ``axis``; return the new shape.

        ``values`` may be an array whose other dimensions match, a single row (one dimension
        less), a scalar for a 1-D dataset, or a list.  Values that would change on conversion to
        the dataset's dtype (1.7 into int) raise :class:`CastingError` unless ``cast=True``.

        Examples
        --------
        See the module docstring.
        """
        try:
            return self._commit_append(*self._prepare_append(values, axis, cast))
        except (OSError, RuntimeError) as exc:
            if isinstance(exc, JangadaError):
                raise
            raise self._write_failed(exc) from exc

    def _write_failed(self, exc: BaseException) -> Exception:
        """The library error for a write HDF5 could not do (disk full ...); the session then
        closes the file without writing more, keeping what its last flush wrote."""
        try:
            refused = getattr(self._source, "refused", None)
            if refused is not None:
                refused(exc)
        except JangadaError as err:
            return err.add_context(path=self._path)
        return file_error(exc, self._file, self._path, "write")

    def _plain_dtype(self, dset: h5py.Dataset) -> np.dtype[Any] | None:
        """The dtype values are stored in as they are (``None``: they need converting)."""
        return self._layout(dset)[0]  # type: ignore[no-any-return]

    def _layout(self, dset: h5py.Dataset, space: Any = None) -> tuple[Any, ...]:
        """(plain dtype or None, stored dtype, whether axis 0 is unlimited, memory type for a
        direct write or None), read once: a dataset's type and maximum shape never change, and
        reading them costs more than a small append."""
        cached = self.__dict__.get("_plain")
        if cached is None:
            dtype = dataset_dtype(dset)
            plain = getattr(self._codec, "tag", "") == "numpy.ndarray"
            plain = plain and not has_attr(dset, "__numpy_dtype__")
            dims = (dset.id.get_space() if space is None else space).get_simple_extent_dims(True)
            unlimited = bool(dims) and dims[0] == h5s.UNLIMITED
            layout = (dtype if plain else None, dtype, unlimited, MEMORY_TYPES.get(dtype))
            cached = self.__dict__["_plain"] = layout
        return cached  # type: ignore[no-any-return]

    def _prepare_append(
        self, values: Any, axis: int, cast: bool
    ) -> tuple[np.ndarray, int, h5py.Dataset, tuple[int, ...]]:
        """Check and convert, writing nothing (so several series can be checked first)."""
        dset = self._writable()
        space = dset.id.get_space()
        shape = space.get_simple_extent_dims()
        plain, _, unlimited, _ = self._layout(dset, space)
        if not unlimited and axis in (0, -len(shape)) and shape and dset.chunks is None:
            dset = self._grown(dset)  # a small value stored contiguous: chunked from now on
            space = dset.id.get_space()
            plain, _, unlimited, _ = self._layout(dset, space)
        common = type(values) is np.ndarray and plain is not None and values.dtype == plain and axis == 0
        if common and values.ndim == len(shape) and values.shape[1:] == shape[1:] and unlimited:
            return values, 0, dset, shape  # the common case, checked without touching the file again
        if dset.ndim == 0:
            msg = "a 0-d dataset cannot grow: store np.atleast_1d(value) (or a 1-D array) "
            msg += "in the property to be able to append"
            raise ShapeMismatchError(msg, file=self._file, path=self._path)
        axis = axis + dset.ndim if axis < 0 else axis
        if not 0 <= axis < dset.ndim or dset.maxshape[axis] is not None:
            growable = [i for i, m in enumerate(dset.maxshape) if m is None]
            msg = f"dataset can grow only along axes {growable}, not axis {axis}"
            raise ShapeMismatchError(msg, file=self._file, path=self._path)
        arr = self._convert(values, dset, cast=cast)
        if arr.ndim == dset.ndim - 1:
            arr = np.expand_dims(arr, axis)
        expected = tuple(n for i, n in enumerate(dset.shape) if i != axis)
        got = tuple(n for i, n in enumerate(arr.shape) if i != axis)
        if arr.ndim != dset.ndim or got != expected:
            msg = f"cannot append data of shape {arr.shape} to a dataset of shape {dset.shape} "
            msg += f"along axis {axis}: the other dimensions must be {expected}"
            raise ShapeMismatchError(msg, file=self._file, path=self._path)
        return arr, axis, dset, shape

    def _commit_append(
        self, arr: np.ndarray, axis: int, dset: h5py.Dataset, shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        old = shape[axis]
        _, stored, _, mtype = self._layout(dset)
        if axis == 0 and mtype is not None and arr.dtype == stored and arr.size:
            _append_rows(dset, shape, arr, mtype)
            self._source.touched(self)
            return (old + len(arr), *shape[1:])
        dset.resize(old + arr.shape[axis], axis=axis)
        if axis == 0:
            dset[old:] = arr
        else:
            dset[tuple(slice(old, None) if i == axis else slice(None) for i in range(len(shape)))] = arr
        self._source.touched(self)
        return (*shape[:axis], old + arr.shape[axis], *shape[axis + 1 :])

    def _convert(self, value: Any, dset: h5py.Dataset, *, cast: bool) -> np.ndarray:
        try:
            arr = np.asarray(self._codec.convert_for_write(value, dset, self._source.door()))
        except (TypeError, ValueError) as exc:
            msg = f"cannot convert {type(value).__name__} for this dataset: {exc}"
            raise CastingError(msg, file=self._file, path=self._path) from None
        target = dset.dtype
        if cast or arr.dtype == target or np.can_cast(arr.dtype, target, "safe"):
            return arr
        if h5py.check_string_dtype(target) is not None and arr.dtype.kind in "OUS":
            return arr
        try:
            converted = arr.astype(target)
            exact = np.array_equal(converted.astype(arr.dtype), arr, equal_nan=arr.dtype.kind in "fc")
        except (TypeError, ValueError, OverflowError):
            exact = False
        if not exact:
            msg = f"writing {arr.dtype} values into a {target} dataset would change them; "
            msg += "pass cast=True to append (or convert first) to accept that"
            raise CastingError(msg, file=self._file, path=self._path)
        return converted

    # -- operators: numpy's, on the values; in place, written through ---------------------------

    def _operand(self, other: Any) -> Any:
        return other[()] if getattr(type(other), "__jangada_lazy__", False) else other

    def _apply(self, op: Any, other: Any, reflected: bool = False) -> Any:
        mine, theirs = self[()], self._operand(other)
        return op(theirs, mine) if reflected else op(mine, theirs)

    def _in_place(self, ufunc: np.ufunc, symbol: str, other: Any) -> ProxyDataset:
        """``self <symbol>= other``: each block of rows is read, changed with numpy's in-place
        rules (``int_dataset *= 1.5`` is refused, as for an array) and written back, so the
        whole dataset never needs to fit in memory."""
        dset = self._writable()  # ReadOnlyError in mode 'r', ProxyClosedError after the block
        value = np.asarray(self._operand(other))
        shape = tuple(dset.shape)
        where = f"`{symbol}=` to this dataset (shape {shape}, dtype {self.dtype})"
        try:
            if np.broadcast_shapes(shape, value.shape) != shape:
                raise ValueError(f"operand of shape {value.shape} would change the shape")
        except ValueError as exc:
            raise ShapeMismatchError(
                f"cannot apply {where}: {exc}", file=self._file, path=self._path
            ) from None
        if not shape:
            blocks: list[tuple[Any, Any]] = [((), value)]
        else:
            aligned = value.ndim == len(shape) and value.shape[0] == shape[0] and shape[0] != 1
            row_bytes = max(1, math.prod(shape[1:]) * dset.dtype.itemsize)
            step = max(1, _IN_PLACE_BLOCK_BYTES // row_bytes)
            if dset.chunks:
                step = max(dset.chunks[0], step - step % dset.chunks[0])
            blocks = [
                (slice(start, min(start + step, shape[0])), value[start : start + step] if aligned else value)
                for start in range(0, shape[0], step)
            ]
        for key, part in blocks:
            block = np.array(self[key])
            try:
                ufunc(block, part, out=block)
            except TypeError as exc:  # numpy's casting refusal: nothing of this block written
                msg = f"cannot apply {where}: {exc}; assign a converted array instead "
                msg += "(obj.prop = obj.prop[()].astype(...) ...)"
                raise CastingError(msg, file=self._file, path=self._path) from None
            self[key] = block
        return self

    def __add__(self, other: Any) -> Any:
        return self._apply(operator.add, other)

    def __radd__(self, other: Any) -> Any:
        return self._apply(operator.add, other, True)

    def __iadd__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.add, "+", other)

    def __sub__(self, other: Any) -> Any:
        return self._apply(operator.sub, other)

    def __rsub__(self, other: Any) -> Any:
        return self._apply(operator.sub, other, True)

    def __isub__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.subtract, "-", other)

    def __mul__(self, other: Any) -> Any:
        return self._apply(operator.mul, other)

    def __rmul__(self, other: Any) -> Any:
        return self._apply(operator.mul, other, True)

    def __imul__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.multiply, "*", other)

    def __truediv__(self, other: Any) -> Any:
        return self._apply(operator.truediv, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._apply(operator.truediv, other, True)

    def __itruediv__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.true_divide, "/", other)

    def __floordiv__(self, other: Any) -> Any:
        return self._apply(operator.floordiv, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._apply(operator.floordiv, other, True)

    def __ifloordiv__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.floor_divide, "//", other)

    def __mod__(self, other: Any) -> Any:
        return self._apply(operator.mod, other)

    def __rmod__(self, other: Any) -> Any:
        return self._apply(operator.mod, other, True)

    def __imod__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.remainder, "%", other)

    def __pow__(self, other: Any) -> Any:
        return self._apply(operator.pow, other)

    def __rpow__(self, other: Any) -> Any:
        return self._apply(operator.pow, other, True)

    def __ipow__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.power, "**", other)

    def __and__(self, other: Any) -> Any:
        return self._apply(operator.and_, other)

    def __rand__(self, other: Any) -> Any:
        return self._apply(operator.and_, other, True)

    def __iand__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.bitwise_and, "&", other)

    def __or__(self, other: Any) -> Any:
        return self._apply(operator.or_, other)

    def __ror__(self, other: Any) -> Any:
        return self._apply(operator.or_, other, True)

    def __ior__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.bitwise_or, "|", other)

    def __xor__(self, other: Any) -> Any:
        return self._apply(operator.xor, other)

    def __rxor__(self, other: Any) -> Any:
        return self._apply(operator.xor, other, True)

    def __ixor__(self, other: Any) -> ProxyDataset:
        return self._in_place(np.bitwise_xor, "^", other)

    def __matmul__(self, other: Any) -> Any:
        return self._apply(operator.matmul, other)

    def __rmatmul__(self, other: Any) -> Any:
        return self._apply(operator.matmul, other, True)

    def __lt__(self, other: Any) -> Any:
        return self._apply(operator.lt, other)

    def __le__(self, other: Any) -> Any:
        return self._apply(operator.le, other)

    def __gt__(self, other: Any) -> Any:
        return self._apply(operator.gt, other)

    def __ge__(self, other: Any) -> Any:
        return self._apply(operator.ge, other)

    def __neg__(self) -> Any:
        return -self[()]

    def __pos__(self) -> Any:
        return +self[()]

    def __abs__(self) -> Any:
        return abs(self[()])

    def __invert__(self) -> Any:
        return ~self[()]

    def refresh(self) -> tuple[int, ...]:
        """Re-read the dataset's metadata (for ``swmr=True`` readers); return the new shape."""
        dset = self.dataset
        if self._source.swmr:
            dset.refresh()
        return tuple(dset.shape)

    def to_dask(self, chunks: Any = None) -> Any:
        """A ``dask.array`` over this dataset as it is now (needs the ``dask`` extra).

        Parameters
        ----------
        chunks
            ``None`` (the default) picks blocks of about dask's ``array.chunk-size`` setting
            (128 MiB unless configured) made of whole HDF5 chunks, or the whole array when it
            is smaller (see :func:`dask_chunks`): an appended dataset's 256 KiB HDF5 chunks
            would make thousands of tasks.  Anything else (a shape, ``"auto"``, ...) is handed
            to ``dask.array.from_array`` as it is.

        The graph holds a :class:`DaskSource`.  With the threaded scheduler (dask's default) and
        a ``processes=False`` distributed cluster it reads through this proxy, so compute while
        the ``with`` block is open; the blocks are read through h5py, whose own lock makes
        concurrent reads safe.  Workers in other processes open the file read-only by path:
        that needs a file no one is writing (a session opened with ``mode='r'``).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from jangada_like import Persistable, SerializableProperty
        >>> class Rows(Persistable):
        ...     values = SerializableProperty(default=None)
        >>> path = Rows(values=np.arange(12.0).reshape(6, 2)).save(os.path.join(tempfile.mkdtemp(), "d"))
        >>> with Rows(path, mode="r") as rows:
        ...     lazy = rows.values.to_dask()
        ...     print(lazy.chunks, float(lazy.mean().compute()))
        ((6,), (2,)) 5.5
        """
        import dask.array as da

        self._source.flush()
        shape = self.shape
        if chunks is None:
            chunks = dask_chunks(shape, self.chunks, self.dataset.dtype.itemsize)
        source = DaskSource(self)
        meta = source.meta
        return da.from_array(source, chunks=chunks, asarray=True, lock=False, name=False, meta=meta)


class DaskSource:
    """What the graph of :meth:`ProxyDataset.to_dask` holds: where the data is (file, HDF5 path,
    codec tag, shape, dtype) and, in the process that made it, the proxy itself.

    Dask reads blocks with ``source[key]``.  In the process that called ``to_dask`` (the
    threaded scheduler, a ``processes=False`` cluster, which unpickles the graph in the same
    process) that reads through the proxy, so it works while its ``with`` block is open.  A
    copy unpickled in another process (a worker of the distributed scheduler) opens the file
    read-only by path on first use, once per copy however many threads ask.

    Examples
    --------
    >>> import pickle
    >>> source = DaskSource.__new__(DaskSource)
    >>> source.__setstate__({"file": "run.hdf5", "path": "/root/x", "tag": "numpy.ndarray",
    ...                      "shape": (3,), "dtype": np.dtype("f8")})
    >>> pickle.loads(pickle.dumps(source))
    <DaskSource '/root/x' of 'run.hdf5' shape=(3,)>
    """

    def __init__(self, proxy: ProxyDataset) -> None:
        key = proxy.__dict__.setdefault("_dask_key", f"{os.getpid()}-{uuid.uuid4().hex}")
        shape = proxy.shape
        #: an empty block: what dask calls ``meta`` (its dtype is that of every block)
        empty = (slice(0, 0),) * len(shape)
        self.meta = _as_block(proxy[empty] if shape else proxy[()])
        state = {"file": proxy.filename, "path": proxy.path, "tag": proxy._codec.tag}
        state |= {"shape": shape, "dtype": self.meta.dtype, "key": key}
        state["writer"] = os.getpid() if proxy._source.writable else None
        self.__setstate__(state)
        self._proxy: ProxyDataset | None = proxy
        _LIVE[key] = proxy

    def __getstate__(self) -> dict[str, Any]:
        names = ("file", "path", "tag", "shape", "dtype", "key", "writer")
        return {name: getattr(self, name) for name in names}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.file, self.path, self.tag = state["file"], state["path"], state["tag"]
        self.shape, self.dtype = tuple(state["shape"]), state["dtype"]
        self.key, self.writer = state.get("key", ""), state.get("writer")
        self.ndim = len(self.shape)
        mine = self.key.startswith(f"{os.getpid()}-")  # never a proxy inherited by a fork
        self._proxy = _LIVE.get(self.key) if mine else None
        self._opening = threading.Lock()

    def __getitem__(self, key: Any) -> Any:
        proxy = self._proxy
        if proxy is None:
            with self._opening:  # threads of one worker share one reopened file
                if self._proxy is None:
                    from ._session import reopen_proxy

                    self._proxy = reopen_proxy(self.file, self.path, self.tag)
                proxy = self._proxy
        try:
            out = proxy[key]
        except FileFormatError as exc:
            if self.writer is None:
                raise
            raise self._writer_error(exc) from exc
        return _as_block(out)

    def _writer_error(self, exc: FileFormatError) -> FileLockedError:
        msg = f"a dask worker (process {os.getpid()}) cannot read dataset '{self.path}' of "
        msg += f"'{self.file}': expected a file open for reading only, got one that process "
        msg += f"{self.writer} opened for writing when it called to_dask() ({exc.message}); "
        msg += "open the file with mode='r' before calling to_dask(), compute with the threaded "
        msg += "scheduler or a processes=False cluster, or compute once the writer has closed it"
        return FileLockedError(msg, file=self.file, path=self.path)

    def __repr__(self) -> str:
        return f"<DaskSource '{self.path}' of '{self.file}' shape={self.shape}>"


def _as_block(out: Any) -> np.ndarray:
    """A numpy array, as dask expects of a block, also where slicing the proxy gives pandas (a
    DatetimeIndex: tz-aware times become Timestamps in an object array)."""
    return out if type(out) is np.ndarray else np.asarray(out)


#: proxies that the graphs made in this process read through (see :class:`DaskSource`)
_LIVE: weakref.WeakValueDictionary[str, ProxyDataset] = weakref.WeakValueDictionary()


#: the block size :func:`dask_chunks` aims at when dask is not configured (dask's own default)
DASK_CHUNK_BYTES = 128 * 2**20


def dask_chunks(
    shape: tuple[int, ...], hdf5_chunks: tuple[int, ...] | None, itemsize: int, limit: int | None = None
) -> tuple[int, ...]:
    """Dask block shape for a dataset: whole HDF5 chunks, about ``limit`` bytes per block.

    ``limit`` defaults to dask's ``array.chunk-size`` setting (128 MiB).  Data no larger than
    that is one block.  Otherwise the last axes are kept whole as long as they fit (rows of a
    row-major dataset are contiguous) and the first axes take as many HDF5 chunks as fit; a
    contiguous dataset (``hdf5_chunks=None``) may be split anywhere.  Each block size is a
    multiple of the HDF5 chunk along its axis (or the whole axis), so no HDF5 chunk is read by
    two tasks.

    Examples
    --------
    >>> dask_chunks((1_000_000, 8), (4096, 8), 8, limit=2**20)
    (16384, 8)
    >>> dask_chunks((1000, 8), (4096, 8), 8)
    (1000, 8)
    """
    if limit is None:
        limit = _configured_chunk_bytes()
    shape = tuple(int(n) for n in shape)
    if not shape or math.prod(shape) * itemsize <= limit:
        return shape
    chunk = tuple(hdf5_chunks) if hdf5_chunks else (1,) * len(shape)  # contiguous: any split
    block = [max(1, min(c, n)) for c, n in zip(chunk, shape)]
    for axis in reversed(range(len(shape))):
        others = math.prod(b for i, b in enumerate(block) if i != axis) * itemsize
        fit = max(1, limit // max(others, 1))
        if fit >= shape[axis]:
            block[axis] = shape[axis]
            continue
        step = block[axis]
        block[axis] = max(step, fit // step * step)
        break  # the axes before it stay one HDF5 chunk deep
    return tuple(block)


def _configured_chunk_bytes() -> int:
    try:
        import dask
        from dask.utils import parse_bytes
    except ImportError:  # pragma: no cover - only to_dask needs dask
        return DASK_CHUNK_BYTES
    value = dask.config.get("array.chunk-size", DASK_CHUNK_BYTES)
    return int(parse_bytes(value)) if isinstance(value, str) else int(value)


def _append_rows(dset: h5py.Dataset, shape: tuple[int, ...], arr: np.ndarray, mtype: Any) -> None:
    """Grow ``dset`` by ``arr``'s rows and write them with h5py's low-level calls: the same two
    HDF5 operations as ``dset.resize(...); dset[old:] = arr``, without building a selection
    from a slice in Python (that takes longer than HDF5's own work for a small block)."""
    dsid = dset.id
    dsid.set_extent((shape[0] + arr.shape[0], *shape[1:]))
    target = dsid.get_space()
    target.select_hyperslab((shape[0],) + (0,) * (len(shape) - 1), arr.shape)
    dsid.write(h5s.create_simple(arr.shape), target, np.ascontiguousarray(arr), mtype=mtype)


def _normalise_read_key(key: Any, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """Make h5py accept what numpy does on axis 0: negatives, unsorted lists, negative steps.

    Returns ``(order, key)``: ``order`` re-arranges the rows h5py returned, or is ``None``.
    """
    if not shape:
        return None, key
    first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, None)
    n = shape[0]
    order = None
    if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
        first = int(first) + (n if int(first) < 0 else 0)
        if not 0 <= first < n:
            raise IndexError(f"index {key!r} is out of bounds for axis 0 with size {n}")
    elif isinstance(first, slice) and first.step is not None and first.step < 0:
        first = np.arange(n)[first]
    if isinstance(first, (list, np.ndarray)) and np.asarray(first).dtype.kind in "iu":
        idx = np.asarray(first, dtype=np.int64)
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"index out of bounds for axis 0 with size {n}")
        if idx.size == 0:
            first = slice(0, 0)
        elif idx.size > 1 and not (np.diff(idx) > 0).all():
            unique, order = np.unique(idx, return_inverse=True)
            first = unique
        else:
            first = idx
    return order, (first if rest is None else (first, *rest))


def _normalise_write_key(key: Any, dset: h5py.Dataset, arr: np.ndarray) -> Any:
    """Grow axis 0 to exactly the length a write needs (never off by one, never shrinking)."""
    if dset.ndim == 0:
        return key
    first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
    n = dset.shape[0]
    need = n
    if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
        first = int(first) + (n if int(first) < 0 else 0)
        if first < 0:
            raise IndexError(f"index {key!r} is out of bounds for axis 0 with size {n}")
        need = first + 1
    elif isinstance(first, slice) and first.step in (None, 1):
        start = first.start or 0
        start = start + n if start < 0 else start
        if first.stop is None:
            kept = dset.ndim - sum(isinstance(r, (int, np.integer)) for r in rest)
            rows = arr.shape[0] if arr.ndim == kept else None
            stop = max(n, start + rows) if rows is not None else n
        else:
            stop = first.stop + n if first.stop < 0 else first.stop
        need = stop
        first = slice(start, stop)
    if need > n:
        dset.resize(need, axis=0)
    return (first, *rest) if rest else first
