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
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..door import Dataset, Door, Group
from ..errors import FileFormatError, FormatVersionError, ProxyClosedError, ReadOnlyError, SessionClosedError
from ..format import CLASS_ATTR, CONTAINER_ATTR, DATASET_ATTR, ITEM_ATTR, PYTHON_ITEM_BYTES, STR_DTYPE
from ..generic import make_record
from ..partial import NotLoaded
from ..readonly import LazyContainer
from ..serializable import Serializable, tag_to_write
from .items import _homogeneous

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


def table_columns(items: list[Any], ctx: Door) -> dict[str, tuple[str, np.ndarray]] | None:
    """The columns of ``items`` stored as an object table, or ``None`` if they do not fit."""
    if len(items) < TABLE_MIN or not isinstance(items[0], Serializable):
        return None
    cls = type(items[0])
    if any(type(i) is not cls or ctx.is_shared(i) or "_jl_extra_" in i.__dict__ for i in items):
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
    items: list[Any], columns: dict[str, tuple[str, np.ndarray]], parent: Group, name: str, ctx: Door
) -> Group:
    cls = type(items[0])
    group = ctx.create_group(parent, name, CONTAINER_ATTR, "object.table")
    ctx.set_attr(group, "__item_class__", tag_to_write(cls))
    ctx.set_attr(group, "__item_class_version__", np.int64(cls.__jangada_version__))
    ctx.set_attr(group, "__length__", np.int64(len(items)))
    for key, (item_type, data) in columns.items():
        if item_type == "str":
            dset = ctx.new_dataset(group, key, data.astype(STR_DTYPE))
        else:
            dset = ctx.new_dataset(group, key, data)
        ctx.set_attr(dset, DATASET_ATTR, "column")
        ctx.set_attr(dset, ITEM_ATTR, item_type)
    return group


def _check_rows(dset: Dataset, n: int, ctx: Door) -> Any:
    """The selection of the table's ``n`` rows in a column.  A column longer than the table holds
    the rows of an append that did not finish (``__length__`` is written last): they are not
    part of the table."""
    if dset.shape is None or not dset.shape or dset.shape[0] < n:
        raise ctx.error(FileFormatError, f"column of shape {dset.shape} in a table of {n} rows", dset.name)
    return () if dset.shape[0] == n else slice(0, n)


def _values(dset: Dataset, n: int, ctx: Door) -> list[Any]:
    item = ctx.attr(dset, ITEM_ATTR)
    rows = _check_rows(dset, n, ctx)
    if item == "none":
        return [None] * n
    if item == "str":
        return list(ctx.read_str(dset, rows))
    data = ctx.read(dset, rows)
    if item in ("int", "float", "bool", "complex"):
        if data.ndim != 1 or data.dtype.kind not in "biufc":
            raise ctx.error(FileFormatError, f"{item} column stored as {data.dtype}", dset.name)
        return data.tolist()
    if item in ("ndarray", "numpy.scalar"):
        return list(data)
    raise ctx.error(FileFormatError, f"unknown column item type {item!r:.40}", dset.name)


def read_table(group: Group, ctx: Door) -> list[Any]:
    """Rebuild the list of objects of an object table."""

    tag = ctx.str_attr(group, "__item_class__")
    cls: Any = Serializable.class_for_tag(tag)
    try:
        n = int(ctx.attr(group, "__length__"))
        version = int(ctx.attr(group, "__item_class_version__", 1))
    except (KeyError, TypeError, ValueError):
        raise ctx.error(FileFormatError, "an object table needs integer __length__", group.name) from None
    if n < 0 or n > 2**40:
        raise ctx.error(FileFormatError, f"bad table length {n}", group.name)
    # every row becomes an object with a value per column: refuse a length no memory can hold
    columns_count = len(ctx.links_of(group))
    ctx.check_items(n, PYTHON_ITEM_BYTES * (4 + columns_count), "an object table", group.name)
    session = getattr(ctx, "session", None)
    if (
        cls is not None
        and session is not None
        and ctx.selection is None
        and version == cls.__jangada_version__
        and (not session.writable or is_property(group, ctx))
    ):
        rows = TableRows(cls, n, group, ctx, ctx.path_of(group), writable=session.writable)
        ctx.seen(group, rows)
        return rows  # type: ignore[return-value]
    out: list[Any] = []
    ctx.seen(group, out)
    columns: dict[str, list[Any]] = {}
    path = ctx.path_of(group)
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
        out.append(ctx.build_object(cls, values, path, version, row=(i, out)))
    return out


def is_property(group: Group, ctx: Door) -> bool:
    """Whether the table is a property of an object (its parent group is an object's): only
    such a list can be replaced by a plain list when a change needs it to be written anew."""
    parent = ctx.path_of(group).rpartition("/")[0] or "/"
    return CLASS_ATTR in ctx.attrs_of(ctx.node_at(parent))


class _Column:
    """One column of a table read lazily: raw values at once (fast), Python values per row."""

    __slots__ = ("data", "item")

    def __init__(self, dset: Dataset, n: int, ctx: Door) -> None:
        self.item = ctx.attr(dset, ITEM_ATTR)
        if self.item in ("int", "float", "bool", "complex", "ndarray", "numpy.scalar"):
            self.data: Any = ctx.read(dset, _check_rows(dset, n, ctx))
            if self.item != "ndarray" and self.data.dtype.kind not in "biufc":
                raise ctx.error(FileFormatError, f"{self.item} column stored as {self.data.dtype}", dset.name)
            if self.item == "ndarray" and ctx.read_only:
                self.data.flags.writeable = False  # a row's array of a read-only session
        else:
            self.data = _values(dset, n, ctx)

    def __getitem__(self, i: int) -> Any:
        value = self.data[i]
        if self.item in ("int", "float", "bool", "complex"):
            return value.item()
        if self.item == "ndarray" and not self.data.flags.writeable:
            return value
        if self.item == "ndarray":
            return value.copy()  # a row's own array: changed in place, it is written at exit
        return value


class TableRows(Sequence[Any], LazyContainer):
    """A list property read in a session, when it is stored as an object table or as a group
    of members (lists of objects, mixed lists): each item is read when first reached, so opening
    a file that holds thousands of them, or appending one, costs the same as for ten.

    It is a list in all but type: it compares equal to the list an eager load gives, ``+`` and
    ``*`` give lists, ``list(rows)`` and ``rows.copy()`` build a list.  In a read-only session
    every in-place change raises :class:`~jangada_like.errors.ReadOnlyError`.  In a writable
    session ``append`` and ``extend`` write the new items at once (one row more in each column of
    a table, one member more in a group);
    any other change (``rows[i] = x``, ``del``, ``insert``, ``sort``, items a column cannot
    hold) reads every row, writes the list anew, and from then on this object forwards to the
    plain list that is now the property's value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from jangada_like import Persistable, SerializableProperty
    >>> class Trial(Persistable, tag="doc.tables.trial"):
    ...     score = SerializableProperty(default=0.0)
    >>> class Day(Persistable, tag="doc.tables.day"):
    ...     trials = SerializableProperty(default=None)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "day"
    >>> path = Day(trials=[Trial(score=float(i)) for i in range(10)]).save(path)
    >>> with Day(path, mode="r+") as day:
    ...     day.trials.append(Trial(score=10.0))   # one row written, nothing read
    ...     type(day.trials).__name__, len(day.trials)
    ('TableRows', 11)
    >>> [t.score for t in Day.load(path).trials][-2:]
    [9.0, 10.0]
    """

    #: compared as a list by ``Serializable.__eq__``
    __jangada_list__ = True

    def __init__(
        self, cls: Any, n: int, group: Any, ctx: Door, path: str = "", *, writable: bool = False
    ) -> None:
        self._cls, self._n, self._stored = cls, n, n
        self._group = group
        self._columns: dict[str, _Column] | None = None
        self._rows: dict[int, Any] = {}
        self._ctx = ctx
        self._path = path
        self._writable = writable
        #: the plain list that replaced the table (a change it could not take)
        self._plain: list[Any] | None = None
        #: set when the property was given another value: this list is no longer in the file
        self._replaced: str | None = None
        #: then: what its reader had read (node -> value), so items in memory stay themselves
        self._known: dict[Any, Any] = {}
        if writable:
            ctx.session.track_rows(self)

    def __len__(self) -> int:
        return self._n if self._plain is None else len(self._plain)

    def __getitem__(self, index: Any) -> Any:
        if self._plain is not None:
            return self._plain[index]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        i = operator.index(index)
        i += self._n if i < 0 else 0
        if not 0 <= i < self._n:
            raise IndexError(f"list index {index} out of range for {self._n} rows")
        row = self._rows.get(i)
        if row is None:
            row = self._rows[i] = self._build(i)
        return row

    def _build(self, i: int) -> Any:
        ctx = self._ctx
        session = ctx.session
        if session is None or not session.is_open or not ctx.is_open(self._group):
            msg = f"item {i} of this list was not read before its file was closed: read it inside "
            msg += "the `with` block"
            raise ProxyClosedError(msg, file=ctx.file_name, path=self._path)
        if self._replaced is not None:
            return self._build_detached(i)
        if self._cls is None:  # a list stored as a group of members '0'..'n-1'
            value = ctx.decode_later(ctx.member(self._group, str(i)))
            if self._writable:
                session.watch_item(self, i, value)
            return value
        if self._columns is None:
            self._columns = {
                name: _Column(ctx.child(self._group, name), self._stored, ctx)
                for name in ctx.member_names(self._group)
            }
        values = {k: col[i] for k, col in self._columns.items()}
        version = self._cls.__jangada_version__
        if self._writable:
            return ctx.build_object(self._cls, values, self._path, version, row=(i, self))
        return ctx.build_object(self._cls, values, "", version)

    def _build_detached(self, i: int) -> Any:
        """Item ``i`` of a list whose place was given another value: its group, unlinked, stays
        readable while the file is open; the item is read whole (no proxies: it is in no file)
        and refuses assignments."""
        ctx = self._ctx
        reader = ctx.reader(self._known)
        group = self._group
        if self._cls is None:
            value = reader.decode(reader.member(group, str(i)))
        else:
            if self._columns is None:
                self._columns = {
                    name: _Column(reader.child(group, name), self._stored, reader)
                    for name in reader.member_names(group)
                }
            values = {k: col[i] for k, col in self._columns.items()}
            value = reader.build_object(self._cls, values, "", self._cls.__jangada_version__)
        return ctx.session.detached_item(value, self._replaced)

    def __iter__(self) -> Iterator[Any]:
        # as a list's iterator: the length is asked at each step, so items appended while
        # iterating are reached and items deleted end the loop early (never an IndexError)
        i = 0
        while i < len(self):
            yield self[i]
            i += 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, TableRows)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def _ordered(self, other: Any, op: Any) -> Any:
        if not isinstance(other, (list, TableRows)):
            return NotImplemented
        return op(list(self), list(other))

    def __lt__(self, other: Any) -> Any:
        return self._ordered(other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return self._ordered(other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return self._ordered(other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return self._ordered(other, operator.ge)

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

    def thawed(self) -> list[Any]:
        """Every item, read now, in a plain list.  A list whose place was given another value
        forwards to that plain list from then on (given to another place, it is that list)."""
        if self._plain is not None:
            return self._plain  # the list it forwards to: it is that list
        items = list(self)
        if self._replaced is not None and self._writable:
            self._plain, self._replaced = items, None
        return items

    def live(self) -> bool:
        """Whether this is still the list of its place in an open writable session."""
        session = self._ctx.session
        return (
            self._writable
            and self._plain is None
            and self._replaced is None
            and session is not None
            and session.is_open
        )

    def stays_with(self, owner: Any) -> bool:
        """Given to another object of the same writable session, the list stays itself: the
        file links it from the new place too, and changes through either reach both."""
        node = owner.__dict__.get("_jl_node_")
        return self.live() and getattr(node, "session", None) is self._ctx.session

    def copy(self) -> list[Any]:
        """A plain list of the rows (all of them are read)."""
        return list(self)

    # -- changes --------------------------------------------------------------------------------

    def _check_change(self) -> None:
        ctx = self._ctx
        if not self._writable:
            msg = "this list was opened read-only (mode='r'): open the file with mode='r+' to change it"
            raise ReadOnlyError(msg, file=ctx.file_name, path=self._path or None)
        if self._replaced is not None:
            msg = f"this list is no longer in the file, since {self._replaced} was given another value: "
            msg += "change the value now at that property instead"
            raise SessionClosedError(msg, file=ctx.file_name, path=self._path)
        if not ctx.session.is_open:
            msg = "this list was changed after its `with` block ended: the change would never reach "
            msg += "the file; reopen it (`with Cls(path, mode='r+') as obj:`) to change it"
            raise SessionClosedError(msg, file=ctx.file_name, path=self._path)

    def append(self, item: Any) -> None:
        """Add ``item`` at the end: written at once, as one row more in every column."""
        self.extend([item])

    def extend(self, items: Any) -> None:
        """Add ``items`` at the end: written at once, as rows more in every column (or, if the
        table cannot hold them, the whole list written anew)."""
        self._check_change()
        added = list(items)
        if self._plain is not None:
            self._plain.extend(added)
        elif added and not self._ctx.session.append_rows(self, added):
            self._replace([*self, *added])

    def __iadd__(self, items: Any) -> TableRows:
        self.extend(items)
        return self

    def __imul__(self, times: int) -> TableRows:
        self._change("__imul__", times)
        return self

    def _change(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self._check_change()
        if self._plain is not None:
            return getattr(self._plain, method)(*args, **kwargs)
        items = list(self)
        out = getattr(items, method)(*args, **kwargs)
        self._replace(items)
        return out

    def _replace(self, items: list[Any], shared: Any = ()) -> None:
        """Write ``items`` as the property's new value; this object forwards to it from now on."""
        self._ctx.session.replace_rows(self._path, items, shared)
        self._plain, self._replaced = items, None
        self._rows.clear()
        self._columns = None

    def __setitem__(self, index: Any, value: Any) -> None:
        self._change("__setitem__", index, value)

    def __delitem__(self, index: Any) -> None:
        self._change("__delitem__", index)

    def insert(self, index: int, value: Any) -> None:
        """``list.insert``: the list is written anew."""
        self._change("insert", index, value)

    def remove(self, value: Any) -> None:
        """``list.remove``: the list is written anew."""
        self._change("remove", value)

    def pop(self, index: int = -1) -> Any:
        """``list.pop``: the list is written anew."""
        return self._change("pop", index)

    def clear(self) -> None:
        """``list.clear``: the list is written anew."""
        self._change("clear")

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        """``list.sort``: the list is written anew."""
        self._change("sort", key=key, reverse=reverse)

    def reverse(self) -> None:
        """``list.reverse``: the list is written anew."""
        self._change("reverse")

    def added(self, items: list[Any]) -> None:
        """Called by the session once ``items`` were written as rows after the last one."""
        for i, item in enumerate(items, self._n):
            self._rows[i] = item
        self._n += len(items)

    def __repr__(self) -> str:
        if self._plain is not None:
            return repr(self._plain)
        what = "items" if self._cls is None else f"{self._cls.__qualname__} objects"
        return f"<{self._n} {what}, read when reached>"

    def __reduce__(self) -> Any:
        # the rows, never the open file; as list's own reduction, the items come after the
        # list is memoized, so a list that holds itself pickles as one
        return (list, (), None, iter(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        out: list[Any] = []
        memo[id(self)] = out  # a list that holds itself: the copy holds the copy
        out.extend(copy.deepcopy(item, memo) for item in self)
        return out
