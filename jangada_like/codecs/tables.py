"""Lists of many objects of one class, stored column-wise ("object tables").

A list of at least :data:`TABLE_MIN` objects of exactly one Serializable class, whose every saved
property holds, across all the objects, values of one simple kind (all ``bool``, all ``int``, all
``float``, all ``complex``, all ``str``, all ``None``, numpy scalars of one dtype, or numeric arrays
of one shape and dtype up to :data:`ROW_LIMIT` elements), is a group with
``__container_type__ = "object.table"``, ``__item_class__``, ``__item_class_version__`` and
``__length__``, holding one dataset per property (``__dataset_type__ = "column"``,
``__item_type__`` as for sequences, ``ndarray`` for stacked arrays of shape ``(n, *item_shape)``).

This is what makes thousands of small objects fast (a handful of HDF5 calls instead of several per
object) while staying a plain table for h5py and h5dump.  Objects referenced from elsewhere in the
tree never go into a table, so shared references and cycles keep their identity.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Sequence
from typing import Any, NoReturn

import h5py
import numpy as np

from .._h5 import CONTAINER_ATTR, PYTHON_ITEM_BYTES, check_items, str_attr, write_attr
from ..errors import FileFormatError, FormatVersionError, ReadOnlyError
from ..generic import make_record
from ..partial import NotLoaded
from ..serializable import Serializable, tag_to_write
from .items import ITEM_ATTR, _homogeneous

TABLE_MIN = 8
ROW_LIMIT = 4096


def column(
    values: list[Any], shared: set[int] | frozenset[int] = frozenset()
) -> tuple[str, np.ndarray] | None:
    """``(item type, array)`` if ``values`` can be one column, else ``None``.

    A column must give back exactly what a dataset per object would: arrays referenced from
    elsewhere (ids in ``shared``) keep their identity, and arrays in another byte order or in
    Fortran order keep theirs, so none of them goes into a column.
    """
    first = type(values[0])
    if any(type(v) is not first for v in values):
        return None
    if first is type(None):
        return "none", np.zeros(len(values), dtype=np.int8)
    spec = _homogeneous(values)
    if spec is not None:
        return spec[0], np.array(values, dtype=spec[1])
    if first is np.ndarray:
        head = values[0]
        if head.dtype.kind not in "biufc" or head.size > ROW_LIMIT or head.ndim == 0:
            return None
        if not head.dtype.isnative or any(
            v.shape != head.shape or v.dtype != head.dtype or not v.flags.c_contiguous or id(v) in shared
            for v in values
        ):
            return None
        if len({id(v) for v in values}) != len(values):
            return None  # one array in two rows: two rows of a table would load as two arrays
        return "ndarray", np.stack(values)
    if issubclass(first, np.generic) and values[0].dtype.kind in "biufc":
        dtype = values[0].dtype
        if any(v.dtype != dtype for v in values):
            return None
        return "numpy.scalar", np.array(values, dtype=dtype)
    return None


def table_columns(items: list[Any], ctx: Any) -> dict[str, tuple[str, np.ndarray]] | None:
    """The columns of ``items`` stored as an object table, or ``None`` if they do not fit."""
    if len(items) < TABLE_MIN or not isinstance(items[0], Serializable):
        return None
    cls = type(items[0])
    if any(type(i) is not cls or id(i) in ctx.shared or "_jl_extra_" in i.__dict__ for i in items):
        return None
    columns = {}
    for key in cls.copiable_properties:
        if cls._serializable_properties[key]._storage:
            return None  # per-property storage options need a dataset per object
        col = column([getattr(i, key) for i in items], ctx.shared)
        if col is None:
            return None
        columns[key] = col
    return columns


def write_table(
    items: list[Any], columns: dict[str, tuple[str, np.ndarray]], parent: h5py.Group, name: str, ctx: Any
) -> h5py.Group:
    cls = type(items[0])
    group = ctx.create_group(parent, name, CONTAINER_ATTR, "object.table")
    write_attr(group, "__item_class__", tag_to_write(cls))
    write_attr(group, "__item_class_version__", np.int64(cls.__jangada_version__))
    write_attr(group, "__length__", np.int64(len(items)))
    for key, (item_type, data) in columns.items():
        if item_type == "str":
            dset = group.create_dataset(key, data=data.astype(h5py.string_dtype()))
        else:
            dset = group.create_dataset(key, data=data)
        write_attr(dset, "__dataset_type__", "column")
        write_attr(dset, ITEM_ATTR, item_type)
    return group


def _check_rows(dset: h5py.Dataset, n: int, ctx: Any) -> Any:
    """The selection of the table's ``n`` rows in a column.  A column longer than the table holds
    the rows of an append that did not finish (``__length__`` is written last): they are not
    part of the table."""
    if dset.shape is None or not dset.shape or dset.shape[0] < n:
        raise ctx.error(FileFormatError, f"column of shape {dset.shape} in a table of {n} rows", dset.name)
    return () if dset.shape[0] == n else slice(0, n)


def _values(dset: h5py.Dataset, n: int, ctx: Any) -> list[Any]:
    item = dset.attrs.get(ITEM_ATTR)
    rows = _check_rows(dset, n, ctx)
    if item == "none":
        return [None] * n
    if item == "str":
        return list(dset.asstr()[rows])
    data = dset[rows]
    if item in ("int", "float", "bool", "complex"):
        if data.ndim != 1 or data.dtype.kind not in "biufc":
            raise ctx.error(FileFormatError, f"{item} column stored as {data.dtype}", dset.name)
        return data.tolist()
    if item in ("ndarray", "numpy.scalar"):
        return list(data)
    raise ctx.error(FileFormatError, f"unknown column item type {item!r:.40}", dset.name)


def read_table(group: h5py.Group, ctx: Any) -> list[Any]:
    """Rebuild the list of objects of an object table."""

    tag = str_attr(group, "__item_class__", ctx)
    cls: Any = Serializable.class_for_tag(tag)
    try:
        n = int(group.attrs["__length__"])
        version = int(group.attrs.get("__item_class_version__", 1))
    except (KeyError, TypeError, ValueError):
        raise ctx.error(FileFormatError, "an object table needs integer __length__", group.name) from None
    if n < 0 or n > 2**40:
        raise ctx.error(FileFormatError, f"bad table length {n}", group.name)
    # every row becomes an object with a value per column: refuse a length no memory can hold
    columns_count = len(group)
    check_items(n, PYTHON_ITEM_BYTES * (4 + columns_count), "an object table", group.name, ctx)
    session = getattr(ctx, "session", None)
    lazy = cls is not None and session is not None and not session.writable and ctx.selection is None
    if lazy and version == cls.__jangada_version__:
        lazy_columns = {name: _Column(ctx.child(group, name), n, ctx) for name in ctx.member_names(group)}
        rows = TableRows(cls, n, lazy_columns, ctx, ctx.path_of(group))
        ctx.seen(group, rows)
        return rows  # type: ignore[return-value]
    out: list[Any] = []
    ctx.seen(group, out)
    columns: dict[str, list[Any]] = {}
    for name in ctx.member_names(group):
        sub = ctx.selection.child(name) if ctx.selection is not None else None
        if sub is False:
            where = f"{group.name}/{name}"
            columns[name] = [NotLoaded(ctx.file_name, where, f"{tag}.{name}", row=i) for i in range(n)]
        else:
            columns[name] = _values(ctx.child(group, name), n, ctx)
    if cls is None:
        out.extend(make_record(tag, {k: v[i] for k, v in columns.items()}) for i in range(n))
        return out
    if version > cls.__jangada_version__:
        msg = f"{tag} was written by class version {version}, but this code has version "
        msg += f"{cls.__jangada_version__}"
        raise ctx.error(FormatVersionError, msg, group.name)
    for i in range(n):
        values = {k: v[i] for k, v in columns.items()}
        out.append(ctx.build_object(cls, values, group.name, version, row=(i, out)))
    return out


class _Column:
    """One column of a table read lazily: raw values at once (fast), Python values per row."""

    __slots__ = ("data", "item")

    def __init__(self, dset: h5py.Dataset, n: int, ctx: Any) -> None:
        self.item = dset.attrs.get(ITEM_ATTR)
        if self.item in ("int", "float", "bool", "complex", "ndarray", "numpy.scalar"):
            self.data: Any = dset[_check_rows(dset, n, ctx)]
            if self.item != "ndarray" and self.data.dtype.kind not in "biufc":
                raise ctx.error(FileFormatError, f"{self.item} column stored as {self.data.dtype}", dset.name)
        else:
            self.data = _values(dset, n, ctx)

    def __getitem__(self, i: int) -> Any:
        value = self.data[i]
        if self.item in ("int", "float", "bool", "complex"):
            return value.item()
        return value


class TableRows(Sequence[Any]):
    """The objects of an object table in a read-only lazy session: each is built when first
    reached, so touching one object of a file holding thousands costs the same as of ten.

    It is a read-only list: it compares equal to the list an eager load gives, ``+`` and ``*``
    give lists, ``list(rows)`` and ``rows.copy()`` build a list, and every in-place change
    raises :class:`~jangada_like.errors.ReadOnlyError` (the session is read-only).
    """

    #: compared as a list by ``Serializable.__eq__``
    __jangada_list__ = True

    def __init__(self, cls: Any, n: int, columns: dict[str, _Column], ctx: Any, path: str = "") -> None:
        self._cls, self._n, self._columns = cls, n, columns
        self._rows: dict[int, Any] = {}
        self._ctx = ctx
        self._path = path

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        i = operator.index(index)
        i += self._n if i < 0 else 0
        if not 0 <= i < self._n:
            raise IndexError(f"list index {index} out of range for {self._n} rows")
        row = self._rows.get(i)
        if row is None:
            values = {k: col[i] for k, col in self._columns.items()}
            row = self._rows[i] = self._ctx.build_object(self._cls, values, "", self._cls.__jangada_version__)
        return row

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, TableRows)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> list[Any]:
        if not isinstance(other, (list, TableRows)):
            return NotImplemented
        return [*self, *other]

    def __radd__(self, other: Any) -> list[Any]:
        if not isinstance(other, list):
            return NotImplemented
        return [*other, *self]

    def __mul__(self, times: int) -> list[Any]:
        return list(self) * times

    __rmul__ = __mul__

    def copy(self) -> list[Any]:
        """A plain list of the rows (all of them are read)."""
        return list(self)

    def _refuse(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        msg = "this list was opened read-only (mode='r'): open the file with mode='r+' to change it"
        raise ReadOnlyError(msg, file=self._ctx.file_name, path=self._path or None)

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __repr__(self) -> str:
        return f"<{self._n} {self._cls.__qualname__} objects, read when reached>"

    def __reduce__(self) -> Any:
        return (list, (list(self),))  # the rows, never the open file

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)
