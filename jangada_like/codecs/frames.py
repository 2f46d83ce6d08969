"""``FrameProxy``: the lazy handle a ``with`` session gives for a DataFrame property.

Nothing is read when the file opens.  ``len``, ``shape``, ``columns`` and ``dtypes`` read only
metadata; ``frame["col"]``, ``frame[["a", "b"]]``, ``frame.iloc[a:b]``, ``frame.rows(a, b,
columns=...)``, ``head()`` and ``tail()`` read only the columns and rows asked for; ``read()`` (or
``frame[()]``) reads it all.  In ``r+``/``a``/``w`` sessions ``append(rows)`` checks the new rows
(columns, dtypes, categories, time zones and units, index) and writes only them: every column
dataset and the index grow together, the index last, so a crash in between leaves the frame it
had (readers ignore column rows past the index).

Part of the pandas codec family: importing it imports pandas.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np
import pandas as pd

from ..door import Dataset, Door, Group, Node
from ..errors import (
    CastingError,
    FileFormatError,
    ProxyClosedError,
    ReadOnlyError,
    SessionClosedError,
    ShapeMismatchError,
)
from .numpy_ import DTYPE_ATTR, read

__all__ = ["FrameProxy", "int_attr"]


class FrameProxy:
    """Lazy view of a DataFrame stored in an open file (see the module docstring).

    Examples
    --------
    ``with Run(path, mode="r+") as run: run.table.append(new_rows); run.table["x"].mean()``
    """

    __jangada_lazy__ = True  # parsers are not run on it; equality reads it (frame[()])

    def __init__(self, source: Any, path: str) -> None:
        self._source = source
        self._path = path
        self._file = source.path
        #: set when its place was given another value: the frame's group, unlinked but open,
        #: still read (and linked if the frame is given to another place), never changed
        self._held: Any = None
        self._replaced: str | None = None
        track = getattr(source, "track_frame", None)
        if track is not None:
            track(self)

    # -- where it lives ------------------------------------------------------------------------

    def _group(self) -> Group:
        if not self._source.is_open:
            msg = f"FrameProxy '{self._path}' of '{self._file}' is closed: reopen the file with "
            msg += f"`with {self._source.class_name}('{self._file}', mode='r') as obj:`"
            raise ProxyClosedError(msg, file=self._file, path=self._path)
        if self._held is not None:
            return self._held
        return self._door().node_at(self._path)

    def _door(self) -> Door:
        return self._source.door()  # type: ignore[no-any-return]

    def _node(self, *names: str) -> Node:
        node = self._group()  # first: it says how to reopen a closed file
        ctx = self._door()
        for name in names:
            node = ctx.need(node, name, "a DataFrame")
        return node

    # -- metadata --------------------------------------------------------------------------------

    @property
    def columns(self) -> pd.Index:
        """The column labels (read from the file, small)."""
        return self._door().decode(self._node("columns"))  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return _index_length(self._node("index"), self._door())

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``, read from metadata."""
        return len(self), len(self.columns)

    @property
    def dtypes(self) -> pd.Series:
        """The dtype of every column (categories, time zones and units included)."""
        return self.rows(0, 0).dtypes

    @property
    def index(self) -> pd.Index:
        """The whole index (one column)."""
        return _read_index(self._node("index"), self._door(), slice(None))

    # -- reading ---------------------------------------------------------------------------------

    def rows(self, start: int | None = None, stop: int | None = None, columns: Any = None) -> pd.DataFrame:
        """Rows ``start:stop`` of the columns asked for (all by default), reading only those."""
        group = self._group()
        ctx, labels, n = self._door(), self.columns, len(self)
        rows = slice(*slice(start, stop).indices(n))
        if columns is None:
            positions = list(range(len(labels)))
        else:
            wanted = [columns] if isinstance(columns, str) or not np.iterable(columns) else list(columns)
            positions = [_position(labels, c, self) for c in wanted]
        data = ctx.need(group, "data", "a DataFrame")
        arrays = [_read_column(ctx.need(data, str(i), "a DataFrame's data"), ctx, rows) for i in positions]
        index = _read_index(ctx.need(group, "index", "a DataFrame"), ctx, rows)
        frame = pd.DataFrame(dict(enumerate(arrays)), index=index, copy=False)
        frame.columns = labels[positions]
        if ctx.has_child(group, "attrs"):
            frame.attrs.update(ctx.decode(ctx.child(group, "attrs")))
        return frame

    def read(self, columns: Any = None) -> pd.DataFrame:
        """The whole frame (or the columns asked for) as a ``pandas.DataFrame``."""
        return self.rows(None, None, columns)

    to_pandas = read

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` rows."""
        return self.rows(0, n)

    def tail(self, n: int = 5) -> pd.DataFrame:
        """The last ``n`` rows."""
        length = len(self)
        return self.rows(max(length - n, 0), length)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and not key:
            return self.read()
        if isinstance(key, slice):
            if key.step not in (None, 1):
                return self.read().iloc[key]
            return self.rows(key.start, key.stop)
        if isinstance(key, list):
            return self.read(key)
        return self.read([key]).iloc[:, 0]

    @property
    def iloc(self) -> _Rows:
        """Positional row selection reading only those rows: ``frame.iloc[10:20]``."""
        return _Rows(self)

    def equals(self, other: Any) -> bool:
        """Whether the stored frame equals ``other`` (reads it)."""
        other = other.read() if isinstance(other, FrameProxy) else other
        return bool(self.read().equals(other))

    def __eq__(self, other: object) -> Any:
        if isinstance(other, (FrameProxy, pd.DataFrame)):
            return self.equals(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self._source.is_open:
            return f"<FrameProxy '{self._path}' of '{self._file}' (closed)>"
        return f"<FrameProxy '{self._path}' of '{self._file}' shape={self.shape}>"

    def __reduce__(self) -> NoReturn:
        msg = f"a FrameProxy ('{self._path}' of '{self._file}') is a handle to an open file and is "
        msg += "not pickled: pickle frame.read(), or the path and open the file where it is needed"
        raise TypeError(msg)

    # -- appending -------------------------------------------------------------------------------

    def append(self, rows: pd.DataFrame, *, cast: bool = False) -> tuple[int, int]:
        """Append ``rows`` (a DataFrame with the same columns in the same order) and return the
        new shape.  Every column and the index are checked before anything is written:

        * dtypes must match exactly (``cast=True`` converts to the stored dtype, refusing a
          conversion that changes values); time zones and units are part of the dtype;
        * categorical columns keep their stored categories and codes; a value outside them
          becomes a new category after them (unordered columns; an ordered column refuses it,
          as its place in the order is not known);
        * a ``RangeIndex`` continues (the rows' own RangeIndex is ignored); a ``DatetimeIndex``
          or other stored index takes the rows' index, which must have its dtype.
        """
        if self._replaced is not None:
            msg = f"this frame is no longer in the file, since {self._replaced} was given another "
            msg += "value: append to the frame now at that property instead"
            raise SessionClosedError(msg, file=self._file, path=self._path)
        if not self._source.writable:
            msg = "cannot append: the file is open read-only (mode='r'); use mode='r+' or 'a'"
            raise ReadOnlyError(msg, file=self._file, path=self._path)
        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"append takes a DataFrame of rows, got {type(rows).__name__}")
        group = self._group()
        ctx, labels = self._door(), self.columns
        if list(rows.columns) != list(labels):
            msg = f"the rows have columns {list(rows.columns)}, the frame {list(labels)} "
            msg += "(same names, same order)"
            raise ShapeMismatchError(msg, file=self._file, path=self._path)
        length = len(self)
        if len(rows) == 0:
            return length, len(labels)
        template = self.rows(0, 0)
        data = ctx.need(group, "data", "a DataFrame")
        plans = []
        for i, label in enumerate(labels):
            values = _conform(rows.iloc[:, i], template.iloc[:, i], cast, f"column {label!r}", self)
            plans.append(
                _plan(ctx.need(data, str(i), "a DataFrame's data"), values, ctx, f"column {label!r}", self)
            )
        index_plan = _index_plan(ctx.need(group, "index", "a DataFrame"), rows.index, ctx, self)
        for plan in plans:
            plan(length)
        index_plan(length)  # last: until then readers see the frame as it was
        if getattr(self._source, "swmr", False):
            ctx.flush()  # live readers see the new rows at once
        return length + len(rows), len(labels)


class _Rows:
    __slots__ = ("frame",)

    def __init__(self, frame: FrameProxy) -> None:
        self.frame = frame

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice) and key.step in (None, 1):
            return self.frame.rows(key.start, key.stop)
        if isinstance(key, (int, np.integer)):
            n = len(self.frame)
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"row {key} of a frame of {n} rows")
            return self.frame.rows(i, i + 1).iloc[0]
        return self.frame.read().iloc[key]


def _position(labels: pd.Index, label: Any, frame: FrameProxy) -> int:
    try:
        where = labels.get_loc(label)
    except KeyError:
        raise KeyError(
            f"no column {label!r} in the frame '{frame._path}' of '{frame._file}' ({list(labels)})"
        ) from None
    if not isinstance(where, int):
        raise KeyError(f"column label {label!r} is not unique in '{frame._path}'")
    return where


def int_attr(node: Node, name: str, ctx: Door) -> int:
    """An integer attribute read from the file now (a RangeIndex's bounds); missing: ``KeyError``."""
    raw = ctx.fresh_attr(node, name)
    if raw is None:
        raise KeyError(f"missing attribute {name!r}")
    return int(raw)


# -- reading rows of one column or index -----------------------------------------------------------


def _read_column(node: Node, ctx: Door, rows: slice) -> Any:
    from .pandas_ import DatetimeIndexCodec, TimedeltaIndexCodec, _attr_str, _read_masked, read_column

    tag = ctx.node_tag(node)
    if tag == "pandas.array":
        dtype = _attr_str(node, "dtype", ctx) or str(node.dtype)
        return np.asarray(read(node, rows, ctx)).astype(dtype, copy=False)
    if tag in ("pandas.DatetimeIndex", "pandas.TimedeltaIndex") and ctx.is_dataset(node):
        codec = DatetimeIndexCodec() if tag == "pandas.DatetimeIndex" else TimedeltaIndexCodec()
        return codec.assemble(node, ctx.read(node, rows), ctx).array
    if tag == "pandas.Categorical" and ctx.is_group(node):
        codes = np.asarray(read(ctx.need(node, "codes", "a Categorical"), rows, ctx))
        # read afresh: appends add categories (the door keeps what it decoded)
        categories = _read_index(ctx.need(node, "categories", "a Categorical"), ctx, slice(None))
        kind: Any = pd.CategoricalDtype(categories, ordered=bool(ctx.fresh_attr(node, "ordered", False)))
        return pd.Categorical.from_codes(codes, dtype=kind)
    if tag == "pandas.masked" and ctx.is_group(node):
        return _read_masked(node, ctx, rows)
    return read_column(node, ctx)[rows]  # object columns: read, then sliced


def _range(node: Group, ctx: Door) -> range:
    """A stored RangeIndex, read afresh (an append moves its stop; the door caches decodes)."""
    try:
        return range(*(int_attr(node, k, ctx) for k in ("start", "stop", "step")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ctx.error(FileFormatError, f"bad RangeIndex: {exc}", node.name) from None


def _index_length(node: Node, ctx: Door) -> int:
    tag = ctx.node_tag(node)
    if tag == "pandas.RangeIndex":
        return len(_range(node, ctx))
    if ctx.is_dataset(node):
        return int(node.shape[0])
    values = ctx.need(node, "values", "an Index")
    if ctx.is_dataset(values) and ctx.node_tag(values) == "pandas.array":
        return int(values.shape[0])
    return len(ctx.decode(node))


def _read_index(node: Node, ctx: Door, rows: slice) -> pd.Index:
    tag = ctx.node_tag(node)
    if tag == "pandas.RangeIndex":
        return pd.RangeIndex(_range(node, ctx), name=ctx.decode(ctx.member(node, "name")))[rows]
    if tag == "pandas.Index" and not ctx.has_child(node, "names"):
        values = _read_column(ctx.need(node, "values", "an Index"), ctx, rows)
        return pd.Index(values, name=ctx.decode(ctx.member(node, "name")), copy=False)
    if ctx.is_dataset(node):
        from .pandas_ import DatetimeIndexCodec, TimedeltaIndexCodec

        codec = DatetimeIndexCodec() if tag == "pandas.DatetimeIndex" else TimedeltaIndexCodec()
        return codec.assemble(node, ctx.read(node, rows), ctx)  # type: ignore[no-any-return]
    return ctx.decode(node)[rows]  # type: ignore[no-any-return]


# -- appending ---------------------------------------------------------------------------------------


def _conform(new: pd.Series, stored: pd.Series, cast: bool, what: str, frame: FrameProxy) -> Any:
    """The new values of one column in the stored dtype, or a clear error."""
    want, got = stored.dtype, new.dtype
    where = {"file": frame._file, "path": frame._path}
    if isinstance(want, pd.CategoricalDtype):
        objects = np.asarray(new, dtype=object)
        codes = want.categories.get_indexer(pd.Index(objects))
        lost = (codes == -1) & ~np.asarray(pd.isna(new))
        if lost.any():
            extra = pd.unique(objects[lost])  # new categories, in the order they first appear
            if want.ordered:
                shown = sorted(str(v) for v in extra)[:5]
                msg = f"{what}: values {shown} are not among the ordered categories "
                msg += f"{list(want.categories)[:10]}, and where they would go in the order is not known; "
                msg += "assign the whole frame to change the categories"
                raise CastingError(msg, **where)
            want = pd.CategoricalDtype(want.categories.append(pd.Index(extra)), ordered=False)
            codes = want.categories.get_indexer(pd.Index(objects))
        return pd.Categorical.from_codes(codes, dtype=want)
    if got != want:
        if not cast:
            msg = f"{what}: the frame stores {want}, the rows have {got}; convert them, or pass cast=True"
            raise CastingError(msg, **where)
        try:
            converted = new.astype(want)
        except (TypeError, ValueError) as exc:
            raise CastingError(f"{what}: cannot convert {got} to {want}: {exc}", **where) from None
        back = converted.astype(got) if not isinstance(got, pd.CategoricalDtype) else converted
        if not (back.reset_index(drop=True).equals(new.reset_index(drop=True)) or _same_nan(back, new)):
            raise CastingError(f"{what}: converting {got} to {want} would change values", **where)
        new = converted
    return new.array


def _same_nan(a: pd.Series, b: pd.Series) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True))
    except (TypeError, ValueError):
        return False


def _grow(dset: Dataset, start: int, values: np.ndarray, ctx: Door) -> Dataset:
    dset = ctx.make_growable(dset)
    ctx.resize(dset, start + len(values), axis=0)
    if len(values):
        ctx.write(dset, slice(start, None), values)
    return dset


def _plan(node: Node, values: Any, ctx: Door, what: str, frame: FrameProxy) -> Any:
    """A function writing ``values`` after row ``start`` of one stored column (everything that
    can fail is checked now, before any column is written)."""
    from .pandas_ import DatetimeIndexCodec, TimedeltaIndexCodec

    tag = ctx.node_tag(node)
    where = {"file": frame._file, "path": getattr(node, "name", frame._path)}
    if tag == "pandas.array" and ctx.is_dataset(node) and not ctx.has_attr(node, DTYPE_ATTR):
        array = np.asarray(values)
        if array.dtype != node.dtype:
            if not np.can_cast(array.dtype, node.dtype, "safe"):
                raise CastingError(
                    f"{what}: the frame stores {node.dtype}, the rows have {array.dtype}", **where
                )
            array = array.astype(node.dtype)
        return lambda start: _grow(node, start, array, ctx)
    if tag in ("pandas.DatetimeIndex", "pandas.TimedeltaIndex") and ctx.is_dataset(node):
        codec = DatetimeIndexCodec() if tag == "pandas.DatetimeIndex" else TimedeltaIndexCodec()
        try:
            ints = np.asarray(codec.convert_for_write(np.asarray(values), node, ctx), dtype=np.int64)
        except ValueError as exc:
            raise CastingError(f"{what}: {exc}", **where) from None
        return lambda start: _grow(node, start, np.atleast_1d(ints), ctx)
    if tag == "pandas.Categorical" and ctx.is_group(node):
        return _categorical_plan(node, values, ctx, what, frame)
    if tag == "pandas.masked" and ctx.is_group(node):
        return _masked_plan(node, values, ctx, what, where)
    msg = f"{what} ({tag}) cannot grow in place: assign the whole frame instead"
    raise ShapeMismatchError(msg, **where)


def _categorical_plan(node: Group, values: pd.Categorical, ctx: Door, what: str, frame: FrameProxy) -> Any:
    """Codes after the stored ones; new categories (unordered columns) after the stored ones,
    so every stored code keeps its meaning.  The codes widen (int8 to int16 ...) when the
    categories outgrow them, which rewrites that one dataset."""
    codes_node = ctx.need(node, "codes", "a Categorical")
    categories_node = ctx.need(node, "categories", "a Categorical")
    stored = _index_length(categories_node, ctx)
    added = values.categories[stored:]
    grow_categories = (
        _index_plan(categories_node, pd.Index(added), ctx, frame, f"the categories of {what}")
        if len(added)
        else None
    )
    codes = np.asarray(values.codes)
    wider = codes.dtype if codes.dtype.itemsize > codes_node.dtype.itemsize else None
    codes = codes.astype(wider or codes_node.dtype)

    def write(start: int) -> None:
        if grow_categories is not None:
            grow_categories(stored)  # first: every code written next has its category
        target = ctx.make_growable(codes_node, wider) if wider is not None else codes_node
        _grow(target, start, codes, ctx)

    return write


def _masked_plan(node: Group, values: Any, ctx: Door, what: str, where: dict[str, Any]) -> Any:
    values_node, mask_node = (ctx.need(node, n, "a masked column") for n in ("values", "mask"))
    mask = np.asarray(pd.isna(values), dtype=bool)
    stored = ctx.fresh_attr(values_node, DTYPE_ATTR)
    if isinstance(stored, bytes):
        stored = stored.decode()
    if stored is not None and np.dtype(stored).kind == "U":  # strings, kept as text
        text = np.asarray(values.to_numpy(dtype=object, na_value=""), dtype=str)
        width = max(np.dtype(stored).itemsize // 4, text.dtype.itemsize // 4, 1)

        def write(start: int) -> None:
            grown = _grow(values_node, start, text.astype(object), ctx)
            ctx.set_attr(grown, DTYPE_ATTR, f"<U{width}")  # the widest string, or reads would cut them
            _grow(mask_node, start, mask, ctx)

        return write
    if stored is not None:
        raise ShapeMismatchError(f"{what}: stored values of dtype {stored} cannot grow in place", **where)
    store = values_node.dtype
    data = np.asarray(values.to_numpy(dtype=store, na_value=0))

    def write_numbers(start: int) -> None:
        _grow(values_node, start, data, ctx)
        _grow(mask_node, start, mask, ctx)

    return write_numbers


def _index_plan(node: Node, index: pd.Index, ctx: Door, frame: FrameProxy, what: str = "the index") -> Any:
    tag = ctx.node_tag(node)
    where = {"file": frame._file, "path": getattr(node, "name", frame._path)}
    k = len(index)
    if tag == "pandas.RangeIndex":
        if not isinstance(index, pd.RangeIndex):
            msg = f"the frame has a RangeIndex, which continues; the rows have a {type(index).__name__}: "
            msg += "reset their index (rows.reset_index(drop=True))"
            raise ShapeMismatchError(msg, **where)
        step = int_attr(node, "step", ctx)

        def extend(start: int) -> None:
            ctx.set_attr(node, "stop", np.int64(int_attr(node, "start", ctx) + (start + k) * step))

        return extend
    if ctx.is_dataset(node):
        return _plan(node, index.array, ctx, what, frame)
    if tag == "pandas.Index" and not ctx.has_child(node, "names"):
        return _plan(ctx.need(node, "values", "an Index"), index.array, ctx, what, frame)
    raise ShapeMismatchError(
        f"an index stored as {tag} cannot grow in place: assign the whole frame", **where
    )
