"""Small h5py helpers behind the door: implied attribute tags, chunk shapes, dataset creation
(the format's names live in :mod:`jangada_like.format`)."""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import h5py
import numpy as np

from .errors import DatasetTooLargeError, FileFormatError
from .format import (
    CHUNK_MAX_BYTES,
    CHUNK_MIN_BYTES,
    EMPTY_CHUNK_BYTES,
    PYTHON_ITEM_BYTES,
    SMALL_BYTES,
)

_IMPLIED = {
    np.dtype("int64"): "int",
    np.dtype("float64"): "float",
    np.dtype("complex128"): "complex",
    np.dtype("bool"): "bool",
}


def implied_tag(raw: Any) -> str:
    """The tag an attribute value carries without an entry in ``__attr_types__``."""
    if isinstance(raw, str):
        return "str"
    if isinstance(raw, h5py.Empty):
        return "none"
    if isinstance(raw, np.generic):
        return _IMPLIED.get(raw.dtype, "numpy.scalar")
    if isinstance(raw, np.ndarray):
        return "numpy.ndarray"
    if isinstance(raw, bytes):
        return "bytes"
    return "unknown"


def legacy_attr(raw: Any) -> Any:
    """An attribute value as jangada 0.1.x meant it: its marker strings decoded, and the numpy
    scalars it returned for Python numbers turned back into Python numbers."""
    import pathlib

    if isinstance(raw, str):
        if raw == "NoneType:None":
            return None
        if raw.startswith("Path:"):
            return pathlib.Path(raw[len("Path:") :])
        return raw
    if isinstance(raw, np.generic) and raw.dtype in _IMPLIED:
        return raw.item()
    return raw


_VLEN_STR = h5py.string_dtype()
#: memory types for the reads below, made once (h5py would derive one from the buffer each time)
_STR_MTYPES = {
    h5py.h5t.CSET_UTF8: h5py.h5t.py_create(h5py.string_dtype("utf-8")),
    h5py.h5t.CSET_ASCII: h5py.h5t.py_create(h5py.string_dtype("ascii")),
}
_NUMBER_MTYPES = (
    (h5py.h5t.STD_I64LE, h5py.h5t.NATIVE_INT64, np.dtype("<i8")),
    (h5py.h5t.IEEE_F64LE, h5py.h5t.NATIVE_DOUBLE, np.dtype("<f8")),
)


def read_attr(obj: Any, name: str) -> Any:
    """``obj.attrs[name]`` (``KeyError`` when missing), the same value h5py gives, read through
    its low-level API for scalar strings, int64 and float64 (the tags every open reads): about
    3x faster.  Anything else is left to h5py's own reader.
    """
    aid = h5py.h5a.open(obj.id, name.encode("utf-8"))
    if aid.get_space().get_simple_extent_type() == h5py.h5s.SCALAR:
        tid = aid.get_type()
        if tid.get_class() == h5py.h5t.STRING and tid.is_variable_str():
            mtype = _STR_MTYPES.get(tid.get_cset())
            if mtype is not None:
                out = np.empty((), dtype=_VLEN_STR)
                aid.read(out, mtype=mtype)
                raw = out[()]
                return raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        for stored, memory, dtype in _NUMBER_MTYPES:
            if tid == stored:
                out = np.empty((), dtype=dtype)
                aid.read(out, mtype=memory)
                return out[()]
    return obj.attrs[name]


#: numeric types recognised from the HDF5 type alone, with the memory types to write them
_SIMPLE_TYPES = tuple(
    (tid, tid.dtype)  # the dtype objects h5py itself gives for these types
    for tid in (
        *(h5py.h5t.IEEE_F64LE, h5py.h5t.IEEE_F32LE, h5py.h5t.STD_I64LE, h5py.h5t.STD_I32LE),
        *(h5py.h5t.STD_I16LE, h5py.h5t.STD_I8LE, h5py.h5t.STD_U64LE, h5py.h5t.STD_U32LE),
        *(h5py.h5t.STD_U16LE, h5py.h5t.STD_U8LE),
    )
)
MEMORY_TYPES = {dtype: h5py.h5t.py_create(dtype) for _, dtype in _SIMPLE_TYPES}


def dataset_dtype(dset: h5py.Dataset) -> np.dtype[Any]:
    """``dset.dtype``; the common numeric types are recognised by comparing HDF5 types, which
    takes half as long as h5py building the numpy dtype on a freshly opened dataset."""
    tid = dset.id.get_type()
    for stored, dtype in _SIMPLE_TYPES:
        if tid == stored:
            return dtype
    return dset.dtype


_STR_FILE_TYPE = h5py.h5t.py_create(_VLEN_STR, logical=True)
_INT64_RANGE = range(-(2**63), 2**63)


def has_attr(obj: Any, name: str) -> bool:
    """``name in obj.attrs`` in one low-level call."""
    return bool(h5py.h5a.exists(obj.id, name.encode("utf-8")))


def _plain_text(value: str) -> bool:
    """Text HDF5 stores as it is: no NUL (it ends C strings) and valid UTF-8 (no lone surrogates)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def write_attr(obj: Any, name: str, value: Any) -> None:
    """``obj.attrs[name] = value``, stored exactly as h5py stores it.  A new attribute holding a
    str, int64 or float64 (every tag a save writes) is created with one low-level call, 10x
    faster than h5py's writer, which creates a temporary attribute and renames it so that it
    can replace an existing one; anything else, and every replacement, is left to h5py."""
    key = name.encode("utf-8")
    kind = type(value)
    if not has_attr(obj, name):
        data = None
        if kind is str and _plain_text(value):
            data, ftype, mtype = (
                np.array(value, dtype=_VLEN_STR),
                _STR_FILE_TYPE,
                _STR_MTYPES[h5py.h5t.CSET_UTF8],
            )
        elif kind is np.int64 or (kind is int and value in _INT64_RANGE):
            data, ftype, mtype = np.array(value, dtype="<i8"), h5py.h5t.STD_I64LE, h5py.h5t.NATIVE_INT64
        elif kind is np.float64 or kind is float:
            data, ftype, mtype = np.array(value, dtype="<f8"), h5py.h5t.IEEE_F64LE, h5py.h5t.NATIVE_DOUBLE
        if data is not None:
            aid = h5py.h5a.create(obj.id, key, ftype, h5py.h5s.create(h5py.h5s.SCALAR))
            try:
                aid.write(data, mtype=mtype)
            except BaseException:
                aid.close()
                h5py.h5a.delete(obj.id, key)
                raise
            return
    obj.attrs[name] = value


def _name(raw: bytes) -> str | bytes:
    """A name as h5py gives it: UTF-8 decoded, or the bytes when they are not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def attr_names(obj: Any) -> list[Any]:
    """``list(obj.attrs)`` (in name order) through the low-level API."""
    raw: list[bytes] = []
    h5py.h5a.iterate(obj.id, lambda name, *_: raw.append(name))
    return [_name(n) for n in raw]


def link_names(group: h5py.Group) -> list[Any]:
    """``list(group)`` (in name order) through the low-level API."""
    raw: list[bytes] = []
    group.id.links.iterate(raw.append)
    return [_name(n) for n in raw]


def open_member(group: h5py.Group, name: str) -> Any:
    """``group[name]`` for a hard or soft link (a dangling one: ``KeyError``); ``None`` for
    any other kind of link, which the caller inspects and refuses."""
    key = name.encode("utf-8")
    if group.id.links.get_info(key).type not in (h5py.h5l.TYPE_HARD, h5py.h5l.TYPE_SOFT):
        return None
    oid = h5py.h5o.open(group.id, key)
    if isinstance(oid, h5py.h5d.DatasetID):
        return h5py.Dataset(oid)
    if isinstance(oid, h5py.h5g.GroupID):
        return h5py.Group(oid)
    return h5py.Datatype(oid)


def attr_or_none(obj: Any, name: str) -> Any:
    """``obj.attrs.get(name)`` (asking first: a failed HDF5 open costs more than the check)."""
    if not has_attr(obj, name):
        return None
    return read_attr(obj, name)


def str_attr(obj: h5py.HLObject, name: str, ctx: Any, default: str | None = None) -> str:
    """Read a tag attribute that must be a str; a hostile type is a format error."""
    try:  # one HDF5 call, where `in` and then [] would be two
        if isinstance(obj, h5py.Group) and hasattr(ctx, "attrs_of"):
            value = ctx.attrs_of(obj)[name]
        else:
            value = read_attr(obj, name)
    except KeyError:
        if default is not None:
            return default
        raise ctx.error(FileFormatError, f"missing attribute {name}", obj.name) from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        msg = f"attribute {name} must be a string, got {type(value).__name__} {value!r:.60}"
        raise ctx.error(FileFormatError, msg, obj.name)
    return value


def foreign_storage(dset: h5py.Dataset) -> str | None:
    """Why reading ``dset`` would read bytes outside its own file, or ``None``: a virtual
    dataset maps other files, an external file list (HDF5's "external raw storage") names any
    file on disk, ``/etc/passwd`` included."""
    plist = dset._dcpl  # h5py keeps the creation property list of every open dataset
    layout = plist.get_layout()
    if layout == h5py.h5d.VIRTUAL:
        return "virtual dataset refused (it would read other files)"
    if layout == h5py.h5d.CONTIGUOUS and plist.get_external_count() > 0:
        name = plist.get_external(0)[0].decode("utf-8", "replace")
        return f"dataset with external raw storage in {name!r} refused (it would read another file)"
    return None


def refuse_virtual(node: Any, ctx: Any) -> None:
    """Refuse datasets whose bytes live outside the file (see :func:`foreign_storage`): a
    loaded file must never read another one."""
    if isinstance(node, h5py.Dataset):
        reason = foreign_storage(node)
        if reason is not None:
            raise ctx.error(FileFormatError, reason, node.name)


#: Bytes one eager read may need before it is refused (``None``: half the machine's physical
#: memory).
#: A tiny hostile file can declare 10**18 elements, or 3e8 list items that compress to 40 KB:
#: what a read would build is estimated up front and refused if it exceeds this budget.
MEMORY_BUDGET: int | None = None


def set_memory_budget(nbytes: int | None) -> None:
    """Set how many bytes one eager read may need before it is refused (``None``: the default,
    half the machine's physical memory).

    A read is estimated before it is made: an array's bytes, and for values that become Python
    objects (lists, object tables) about :data:`PYTHON_ITEM_BYTES` more per item.  A file from a
    stranger can declare far more than it holds; raise the budget only for files you trust.

    Examples
    --------
    >>> import jangada_like
    >>> jangada_like.set_memory_budget(64 * 2**30)  # a trusted 64 GiB load on a big machine
    >>> jangada_like.set_memory_budget(None)        # back to half the physical memory
    """
    global MEMORY_BUDGET
    if nbytes is not None and (not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0):
        raise TypeError(f"set_memory_budget expects a number of bytes >= 0 or None, got {nbytes!r}")
    MEMORY_BUDGET = nbytes


def _memory_bytes() -> int:
    if MEMORY_BUDGET is not None:
        return MEMORY_BUDGET
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")) // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def check_items(count: int, per_item: int, what: str, where: str, ctx: Any) -> None:
    """Refuse to build ``count`` Python values of ``per_item`` bytes each beyond the budget."""
    need = count * per_item
    if need > _memory_bytes():
        msg = f"{what} declares {count:,} items, about {need:,} bytes of Python objects, more than the "
        msg += f"memory budget of {_memory_bytes():,} bytes (see "
        msg += "jangada_like.set_memory_budget): if the file is genuine, raise the budget"
        raise ctx.error(DatasetTooLargeError, msg, where)


def check_readable(dset: h5py.Dataset, ctx: Any, *, python_items: bool = False) -> None:
    """Refuse to read a dataset eagerly that cannot fit in memory (a tiny hostile file can
    declare 10**18 elements); lazy access still works.  ``python_items``: each element becomes a
    Python object, costing :data:`PYTHON_ITEM_BYTES` more."""
    try:
        count = math.prod(dset.shape) if dset.shape is not None else 0
    except TypeError:
        count = 0
    itemsize = max(dset.dtype.itemsize, 1)
    if python_items:
        check_items(count, itemsize + PYTHON_ITEM_BYTES, "a sequence dataset", dset.name, ctx)
    nbytes = count * itemsize
    if nbytes > _memory_bytes():
        msg = f"dataset of shape {dset.shape} ({nbytes:,} bytes) exceeds the memory budget of "
        msg += f"{_memory_bytes():,} bytes (jangada_like.set_memory_budget): "
        msg += "open the file lazily (`with Cls(path, mode='r') as obj`) and read slices of arrays, "
        msg += "or, if the file is genuine, raise the budget"
        raise ctx.error(DatasetTooLargeError, msg, dset.name)


def growth_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Row-major chunks for data that grows along axis 0.

    A chunk holds whole rows when a row is small; its size is the data size rounded up to a
    power of two, kept between :data:`CHUNK_MIN_BYTES` and :data:`CHUNK_MAX_BYTES`, so small
    arrays stay small on disk and long series read and append in large sequential blocks;
    a dataset created empty gets :data:`EMPTY_CHUNK_BYTES`.
    """
    itemsize = max(itemsize, 1)
    trailing = [max(n, 1) for n in shape[1:]]
    row_bytes = itemsize * math.prod(trailing)
    total = row_bytes * max(shape[0], 1)
    target = min(max(1 << max(total - 1, 1).bit_length(), CHUNK_MIN_BYTES), CHUNK_MAX_BYTES)
    if shape[0] == 0:  # created empty: it is there to be appended to
        target = EMPTY_CHUNK_BYTES
    # a single row larger than the target: split the trailing axes, last axis first
    while row_bytes > target and any(n > 1 for n in trailing):
        axis = max(i for i, n in enumerate(trailing) if n > 1)
        trailing[axis] = (trailing[axis] + 1) // 2
        row_bytes = itemsize * math.prod(trailing)
    rows = max(1, target // row_bytes)
    return (rows, *trailing)


def create_dataset(
    parent: h5py.Group, name: str, data: np.ndarray, storage: dict[str, Any], *, compact: bool = False
) -> h5py.Dataset:
    """Create ``parent[name]`` from ``data``: chunked and resizable along axis 0 unless 0-d, or,
    with ``compact`` (a save of format 2), contiguous when it is small, not empty and has no storage
    options (:data:`SMALL_BYTES`)."""
    if data.ndim == 0:
        return parent.create_dataset(name, data=data)
    options: dict[str, Any] = {k: v for k, v in storage.items() if v is not None}
    if compact and not options and 0 < data.nbytes < SMALL_BYTES:
        return parent.create_dataset(name, data=data)
    chunks = options.pop("chunks", None)
    if chunks is None or chunks is True:
        chunks = growth_chunks(data.shape, data.dtype.itemsize)
    elif isinstance(chunks, int):
        chunks = (chunks, *[max(n, 1) for n in data.shape[1:]])
    if data.dtype.kind == "f" and "fillvalue" not in options:
        options["fillvalue"] = np.nan
    # a zero-length trailing axis cannot hold a chunk of one: let every axis grow then
    maxshape = (None,) * data.ndim if 0 in data.shape[1:] else (None, *data.shape[1:])
    if _direct_write_ok(data, tuple(chunks), options):
        dset = parent.create_dataset(
            name, shape=data.shape, dtype=data.dtype, chunks=tuple(chunks), maxshape=maxshape, **options
        )
        _write_chunks(dset, data, chunks[0])
        return dset
    dset = parent.create_dataset(name, data=data, chunks=tuple(chunks), maxshape=maxshape, **options)
    if options.get("compression") not in (None, "gzip", "szip") and not isinstance(
        options.get("compression"), int
    ):
        dset.attrs["__filters__"] = describe_filters(dset)
    return dset


_FILTER_OPTIONS = ("compression", "compression_opts", "shuffle", "fletcher32", "scaleoffset")


def _direct_write_ok(data: np.ndarray, chunks: tuple[int, ...], options: dict[str, Any]) -> bool:
    """Whether ``data`` can be written chunk by chunk as raw bytes: a large plain numeric array
    in whole-row chunks and no filter (they would have to run on the bytes)."""
    return (
        data.nbytes >= _FAST_MIN_BYTES
        and data.dtype.kind in "biufc"
        and data.ndim >= 1
        and chunks[1:] == data.shape[1:]
        and not any(options.get(k) for k in _FILTER_OPTIONS)
    )


def _write_chunks(dset: h5py.Dataset, data: np.ndarray, rows: int) -> None:
    """Write ``data`` into the new, empty ``dset`` one chunk at a time with
    ``write_direct_chunk``: HDF5 stores each chunk from our buffer, where ``dset[...] = data``
    first copies every chunk through a buffer of its own (a third more time for large arrays).
    The last chunk is padded with the fill value, as HDF5 itself stores an edge chunk."""
    data = np.ascontiguousarray(data)
    dsid = dset.id
    trailing = (0,) * (data.ndim - 1)
    for start in range(0, data.shape[0], rows):
        block = data[start : start + rows]
        if len(block) < rows:
            padded = np.empty((rows, *data.shape[1:]), dtype=data.dtype)
            padded[...] = dset.fillvalue
            padded[: len(block)] = block
            block = padded
        dsid.write_direct_chunk((start, *trailing), block)


def describe_filters(dset: h5py.Dataset) -> str:
    """Name the filters of a dataset for readers without this library (h5dump only knows the
    built-in ones): ``"32015 zstd (hdf5plugin)"``."""
    plist = dset.id.get_create_plist()
    parts = []
    for i in range(plist.get_nfilters()):
        code, _flags, _values, label = plist.get_filter(i)
        text = label.decode("ascii", "replace") if isinstance(label, bytes) else str(label)
        parts.append(f"{code} {text}".strip())
    return (
        "; ".join(parts)
        + " (not built into HDF5: read with h5py; for zstd, blosc and the like, `import hdf5plugin` first)"
    )


class ChunkTable:
    """Where the chunks of an uncompressed, row-chunked dataset lie in the file, so that rows
    can be read with ``os.preadv`` straight into the result (HDF5 copies each chunk through a
    buffer first).  Built only for datasets it can serve exactly; see :func:`chunk_table`."""

    __slots__ = (
        "_dsid",
        "_fd",
        "_hdf5_fd",
        "chunk_rows",
        "dtype",
        "fill",
        "n_rows",
        "offsets",
        "path",
        "row_bytes",
        "shape",
    )

    def __init__(self, dset: h5py.Dataset, hdf5_fd: int) -> None:
        self.path = dset.file.filename
        self.shape = dset.shape
        self.dtype = dset.dtype
        self.n_rows = dset.shape[0]
        self.chunk_rows = dset.chunks[0]
        self.row_bytes = dset.dtype.itemsize * math.prod(dset.shape[1:])
        self.fill = dset.fillvalue
        self.offsets: dict[int, int | None] | None = None  # chunk number -> file address
        self._fd: int | None = None  # our own descriptor, when HDF5's cannot be used
        self._dsid = dset.id
        self._hdf5_fd = hdf5_fd

    def _address(self, k: int) -> int | None:
        if self.offsets is None:  # one pass over the chunk index (a lookup per chunk is slow)
            offsets: dict[int, int | None] = {}

            def record(info: Any) -> None:
                offsets[info.chunk_offset[0] // self.chunk_rows] = info.byte_offset

            self._dsid.chunk_iter(record)
            self.offsets = offsets
        return self.offsets.get(k)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (0 <= start <= stop <= n_rows)."""
        out = np.empty((stop - start, *self.shape[1:]), dtype=self.dtype)
        if stop == start or self.row_bytes == 0:
            return out
        fd = self._descriptor((stop - start) * self.row_bytes >= _FAST_MIN_BYTES)
        runs = self._runs(start, stop)
        for at, size, offset in runs:
            if offset is None:
                out[at // self.row_bytes : (at + size) // self.row_bytes] = self.fill
        reads = [(at, size, offset) for at, size, offset in runs if offset is not None]
        _read_parallel(fd, out.reshape(-1).view(np.uint8), reads, self.path)
        return out

    def _descriptor(self, large: bool) -> int:
        """For a large read, HDF5's own descriptor while its file is open: the kernel's
        read-ahead then goes on from HDF5's reads of the file's start, as it does for h5py's
        own reads (a fresh descriptor starts with one large synchronous read-ahead: a cold W1
        load measured 3% slower with two threads, up to 25% with one).  For small reads (rows
        here and there), and once HDF5 has closed the file, a descriptor of our own: asking
        HDF5 whether the file is still open costs more than such a read gains."""
        if large and self._dsid.valid:
            return self._hdf5_fd
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return self._fd

    def _runs(self, start: int, stop: int) -> list[tuple[int, int, int | None]]:
        """``(byte in the result, bytes, file address or None for a missing chunk)`` for rows
        ``start:stop``, chunks that lie end to end in the file merged into one run."""
        runs: list[tuple[int, int, int | None]] = []
        row = start
        while row < stop:
            k = row // self.chunk_rows
            upto = min(stop, (k + 1) * self.chunk_rows)
            at, size = (row - start) * self.row_bytes, (upto - row) * self.row_bytes
            address = self._address(k)
            offset = None if address is None else address + (row - k * self.chunk_rows) * self.row_bytes
            if runs and offset is not None and runs[-1][2] is not None:
                last_at, last_size, last_offset = runs[-1]
                if last_offset + last_size == offset:  # type: ignore[operator]
                    runs[-1] = (last_at, last_size + size, last_offset)
                    row = upto
                    continue
            runs.append((at, size, offset))
            row = upto
        return runs

    def close(self) -> None:
        """Close the file descriptor (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _hdf5_descriptor(file: h5py.File) -> int | None:
    """The operating system's descriptor under an open HDF5 file (the default ``sec2``
    driver), or ``None``."""
    try:
        if file.driver != "sec2":
            return None
        handle = file.id.get_vfd_handle()
    except (OSError, RuntimeError, TypeError, ValueError, AttributeError):
        return None
    return handle if isinstance(handle, int) and handle >= 0 else None


_FAST_MIN_BYTES = 1 << 20
#: reads at least this large are split between threads when the data is in the page cache:
#: copying it and faulting in the result's pages then run on several cores (``os.preadv``
#: releases the GIL)
_PARALLEL_MIN_BYTES = 32 << 20
#: and from the disk, reads at least this large.  Below it one stream is faster: a second
#: stream upsets the kernel's read-ahead, which costs most in a short read (64 MiB: 0.029 s on
#: two threads, 0.024 s on one).  Above it the second thread pays: on this project's virtual
#: machines the first touch of memory, the kernel's pages for the file above all, often costs
#: more than the disk (in a fresh process a 256 MiB read on one stream took 0.09 s or
#: 0.2-0.45 s; on two, 0.09-0.11 s), and two threads share it.
_COLD_PARALLEL_MIN_BYTES = 128 << 20
#: and each thread takes at least this much
_BYTES_PER_WORKER = 16 << 20


def _workers(total: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4, total // max(1, _BYTES_PER_WORKER)))


def _in_page_cache(path: str, offset: int) -> bool:
    """Whether the byte at ``offset`` is in the page cache, asked without waiting for the disk
    (``RWF_NOWAIT``; the kernel may start reading the page in) on a descriptor of its own, so
    that the read-ahead of the descriptor that reads the data is left as it was.  ``True``
    where it cannot be asked."""
    flag = getattr(os, "RWF_NOWAIT", None)
    if flag is None:  # pragma: no cover - not Linux
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return True
    try:
        os.preadv(fd, [bytearray(1)], offset, flag)
        return True
    except BlockingIOError:
        return False
    except OSError:  # e.g. a file system that does not support the flag
        return True
    finally:
        os.close(fd)


def _pread_exact(fd: int, target: memoryview, offset: int, path: str) -> None:
    """Fill ``target`` from ``offset`` (the kernel may return less than asked: read on)."""
    done = 0
    while done < len(target):
        got = os.preadv(fd, [target[done:]], offset + done)
        if got <= 0:
            raise OSError(f"short read in {path}: the file ends before its chunk at {offset}")
        done += got


def _read_parallel(fd: int, flat: np.ndarray, reads: list[tuple[int, int, int]], path: str) -> None:
    """Read each ``(byte in flat, bytes, file address)``; large reads on several threads, each
    taking an equal share of the bytes."""
    total = sum(size for _, size, _ in reads)
    workers = _workers(total) if total >= _PARALLEL_MIN_BYTES else 1
    if (
        workers > 1
        and reads
        and total < _COLD_PARALLEL_MIN_BYTES
        and not _in_page_cache(path, max(o + n for _, n, o in reads) - 1)
    ):
        workers = 1
    if workers == 1:
        for at, size, offset in reads:
            _pread_exact(fd, flat[at : at + size].data, offset, path)
        return
    share = -(-total // workers)
    parts: list[list[tuple[int, int, int]]] = [[] for _ in range(workers)]
    used = 0
    for at, size, offset in reads:
        while size:
            part = min(used // share, workers - 1)
            take = min(size, share * (part + 1) - used) if part < workers - 1 else size
            parts[part].append((at, take, offset))
            at, size, offset, used = at + take, size - take, offset + take, used + take
    errors: list[BaseException] = []

    def work(part: list[tuple[int, int, int]]) -> None:
        try:
            for at, size, offset in part:
                _pread_exact(fd, flat[at : at + size].data, offset, path)
        except BaseException as exc:  # re-raised on the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(part,), daemon=True) for part in parts[1:]]
    for thread in threads:
        thread.start()
    work(parts[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def chunk_table(dset: h5py.Dataset) -> ChunkTable | None:
    """A :class:`ChunkTable` when rows can be read directly: chunked without filters, chunks
    spanning whole rows, a plain numeric dtype, and a file on disk (HDF5's default driver)
    with no user block; else ``None``."""
    try:
        if (
            dset.chunks is None
            or dset.ndim == 0
            or dset.dtype.kind not in "biufc"
            or dset.chunks[1:] != dset.shape[1:]
            or dset.id.get_create_plist().get_nfilters() != 0
            or dset.file.id.get_create_plist().get_userblock() != 0
            or not hasattr(dset.id, "chunk_iter")
            or (fd := _hdf5_descriptor(dset.file)) is None
        ):
            return None
        return ChunkTable(dset, fd)
    except (OSError, RuntimeError, TypeError, ValueError, AttributeError):
        return None


def read_all(dset: h5py.Dataset) -> np.ndarray:
    """The whole dataset, read directly from the file when that is exact and worth it."""
    if dset.ndim > 0 and dset.size * dset.dtype.itemsize >= _FAST_MIN_BYTES:
        table = chunk_table(dset)
        if table is not None:
            try:
                return table.read(0, table.n_rows)
            finally:
                table.close()
    return dset[()]  # type: ignore[no-any-return]


def make_growable(
    dset: h5py.Dataset, dtype: np.dtype[Any] | None = None, rows: int | None = None
) -> h5py.Dataset:
    """Replace the contiguous dataset ``dset`` by a chunked one resizable along axis 0 with the
    same data and attributes (the first append to a small value of a format 2 file); return it.
    With ``dtype`` (wider than the stored one: a categorical's codes past 127 categories) the
    data is converted too, chunked or not.  With ``rows`` (a column longer than its table: rows
    of an append that never finished) only the first ``rows`` rows are kept, copied without
    touching the others: a string row past the end may point into a heap that was never
    written, and HDF5 reads the old value of a string it overwrites."""
    widen = dtype is not None and dtype != dset.dtype
    trim = rows is not None and dset.ndim > 0 and dset.shape[0] != rows
    if (dset.chunks is not None and not widen and not trim) or dset.ndim == 0:
        return dset
    parent, name = dset.parent, dset.name.rpartition("/")[2]
    data = dset[:rows] if trim else dset[()]
    if widen:
        data = data.astype(dtype)
    attrs = [(key, dset.attrs[key], dset.attrs.get_id(key).dtype) for key in dset.attrs]
    scratch = f"__jl_growing__{name}"  # hidden, as every name starting "__": readers skip it
    if scratch in parent:
        del parent[scratch]  # left by a conversion that was interrupted before the move
    new = create_dataset(parent, scratch, data, {})
    for key, value, dtype in attrs:
        new.attrs.create(key, value, dtype=dtype)
    del parent[name]
    parent.move(scratch, name)
    return parent[name]  # type: ignore[no-any-return]
