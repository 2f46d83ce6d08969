"""pandas: Timestamp, Timedelta, NaT, DatetimeIndex, TimedeltaIndex, Index, RangeIndex,
Categorical, Series and DataFrame, stored natively (never pickled).

Instants are int64 counts since the UTC epoch in their own unit, with ``unit`` and ``timezone``
attributes: DST transitions load exactly, dates outside the nanosecond range keep their unit, NaT is
int64 min.  A Timestamp is a 0-d dataset and an index a 1-D resizable dataset (jangada's layout,
made exact); ``freq`` and ``name`` are kept.  Series and DataFrames are groups with one member per
column (``'0'`` … ``'n-1'``), an ``index`` and, for frames, ``columns``; each column keeps its dtype:
numpy dtypes as datasets, ``category`` as codes plus categories, tz-aware datetimes as instants,
nullable and string dtypes as values plus a ``mask``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ..door import Dataset, Door, Group, Node
from ..errors import FileFormatError, UnsupportedTypeError
from ..format import CONTAINER_ATTR, DATASET_ATTR
from .base import AttrNode, Codec
from .frames import FrameProxy, int_attr
from .numpy_ import read, write_array

_NAT = np.iinfo(np.int64).min
_UNITS = ("s", "ms", "us", "ns")


# -- time zones -------------------------------------------------------------------------------


def tz_name(tz: Any) -> str | None:
    """A name pandas can rebuild the zone from: IANA key, ``'UTC'`` or ``'+05:30'``."""
    if tz is None:
        return None
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if isinstance(key, str):
        return key
    if isinstance(tz, dt.timezone):
        total = int(tz.utcoffset(None).total_seconds())
        if total == 0:
            return "UTC"
        sign, total = ("+" if total >= 0 else "-"), abs(total)
        return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"
    name = str(tz)
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(name)
    except Exception:
        raise UnsupportedTypeError(f"time zone {tz!r} cannot be stored by name") from None
    return name


def _attr_str(node: Node, name: str, ctx: Door, allowed: tuple[str, ...] | None = None) -> str | None:
    raw = ctx.fresh_attr(node, name)
    if raw is None or ctx.is_empty(raw):
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or (allowed is not None and raw not in allowed):
        msg = f"attribute {name} must be {'one of ' + str(allowed) if allowed else 'a string'}, "
        msg += f"found {raw!r:.40}"
        raise ctx.error(FileFormatError, msg, node.name)
    return raw


def _unit(dset: Dataset, ctx: Door) -> str:
    return _attr_str(dset, "unit", ctx, _UNITS) or "ns"


# -- instants -----------------------------------------------------------------------------------


def _instants(values: np.ndarray, unit: str, tz: str | None, kind: str) -> Any:
    """int64 array -> DatetimeIndex (UTC, converted to ``tz``) or TimedeltaIndex."""
    if kind == "timedelta":
        return pd.TimedeltaIndex(values.astype("<i8").view(f"m8[{unit}]"))
    index = pd.DatetimeIndex(values.astype("<i8").view(f"M8[{unit}]"))
    return index if tz is None else index.tz_localize("UTC").tz_convert(tz)


def _legacy_instants(values: np.ndarray, tz: str | None, scalar: bool) -> Any:
    """jangada 0.1.x stored local wall times in ns: localise them (in a DST fold, the first
    of the two instants; a time that does not exist is moved forward)."""
    index = pd.DatetimeIndex(values.astype("<i8").view("M8[ns]"))
    if tz is not None:
        try:
            index = index.tz_localize(tz, ambiguous="infer", nonexistent="shift_forward")
        except (ValueError, TypeError):
            flags = np.ones(len(index), dtype=bool)
            index = index.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    return index[0] if scalar else index


class _InstantCodec(Codec):
    """Shared by the scalar and index codecs of datetimes and timedeltas."""

    kind = "datetime"
    scalar = True

    def ints(self, value: Any) -> tuple[np.ndarray, str, str | None]:
        if value is pd.NaT:
            return np.array(_NAT, dtype=np.int64), "ns", None
        unit = value.unit
        tz = tz_name(getattr(value, "tz", None))
        if isinstance(value, pd.Index):
            index: Any = value
            return np.asarray(index.asi8, dtype=np.int64), unit, tz
        return np.array(value._value, dtype=np.int64), unit, tz

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        try:
            ints, unit, tz = self.ints(value)
        except UnsupportedTypeError as exc:
            raise ctx.error(UnsupportedTypeError, exc.message) from None
        # rows created by writing past the end are NaT, not the epoch
        dset = ctx.create_dataset(parent, name, ints, self.tag, fillvalue=_NAT, unit=unit, timezone=tz)
        if not self.scalar:
            ctx.remember(value, dset)
            freq = getattr(value, "freqstr", None)
            if freq is not None:
                ctx.set_attr(dset, "freq", freq)
            ctx.encode(value.name, dset, "name")

    def decode(self, node: Node, ctx: Door) -> Any:
        if not ctx.is_dataset(node) or node.dtype.kind not in "iu":
            path = node.path if isinstance(node, AttrNode) else node.name
            raise ctx.error(FileFormatError, f"{self.tag} must be an integer dataset", path)
        if node.ndim != (0 if self.scalar else 1):
            raise ctx.error(FileFormatError, f"{self.tag} has shape {node.shape}", node.name)
        if ctx.lazy and not self.scalar:
            return ctx.session.proxy(node, self)
        return self.assemble(node, ctx.read(node), ctx)

    def assemble(self, dset: Dataset, raw: Any, ctx: Door) -> Any:
        unit, tz = _unit(dset, ctx), _attr_str(dset, "timezone", ctx)
        values = np.atleast_1d(np.asarray(raw))
        if ctx.legacy:
            return _legacy_instants(values, None if tz == "NoneType:None" else tz, np.ndim(raw) == 0)
        try:
            index = _instants(values, unit, tz, self.kind)
        except Exception as exc:
            raise ctx.error(FileFormatError, f"bad {self.tag}: {exc}", dset.name) from None
        if np.ndim(raw) == 0:
            return index[0]
        name = ctx.decode(ctx.member(dset, "name")) if ctx.has_attr(dset, "name") else None
        index = index.rename(name)
        freq = _attr_str(dset, "freq", ctx)
        if freq is not None:
            try:
                index.freq = freq
            except ValueError:  # appended data no longer follows it
                pass
        return index

    def read_slice(self, dset: Dataset, key: Any, ctx: Door) -> Any:
        return self.assemble(dset, ctx.read_part(dset, key), ctx)

    def convert_for_write(self, value: Any, dset: Dataset, ctx: Door) -> np.ndarray:
        unit: Any = _unit(dset, ctx)
        tz = _attr_str(dset, "timezone", ctx)
        if self.kind == "timedelta":
            deltas: Any = pd.to_timedelta(np.atleast_1d(value)).as_unit(unit)  # Any: stubs differ
            return np.asarray(deltas.asi8)
        index = pd.DatetimeIndex(np.atleast_1d(np.asarray(value, dtype=object)))
        got = tz_name(index.tz)
        if (got is None) != (tz is None) or (got is not None and got != tz):
            msg = f"cannot write times in time zone {got} into a dataset in time zone {tz}: "
            msg += "convert them first (tz_convert), nothing is shifted silently"
            raise ValueError(msg)
        stamps: Any = index.as_unit(unit)
        values = stamps.asi8
        return values.reshape(np.shape(value)) if np.ndim(value) else values[0]

    def logical_dtype(self, dset: Dataset, ctx: Door) -> Any:
        unit: Any = _unit(dset, ctx)  # Any: pandas-stubs 2.x accept only "ns" here
        tz = _attr_str(dset, "timezone", ctx)
        if self.kind == "timedelta":
            return np.dtype(f"m8[{unit}]")
        return np.dtype(f"M8[{unit}]") if tz is None else pd.DatetimeTZDtype(unit, tz)


class NACodec(Codec):
    """``pd.NA``: an empty attribute tagged ``pandas.NA``."""

    tag = "pandas.NA"
    types = (type(pd.NA),)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        ctx.write_attr(parent, name, ctx.empty("i1"), self.tag)

    def decode(self, node: Node, ctx: Door) -> Any:
        return pd.NA


class TimestampCodec(_InstantCodec):
    tag = "pandas.Timestamp"
    read_tags = ("pandas.NaT",)
    types = (pd.Timestamp, type(pd.NaT))


class TimedeltaCodec(_InstantCodec):
    tag = "pandas.Timedelta"
    types = (pd.Timedelta,)
    kind = "timedelta"


class DatetimeIndexCodec(_InstantCodec):
    tag = "pandas.DatetimeIndex"
    types = (pd.DatetimeIndex,)
    scalar = False


class TimedeltaIndexCodec(_InstantCodec):
    tag = "pandas.TimedeltaIndex"
    types = (pd.TimedeltaIndex,)
    scalar = False
    kind = "timedelta"


# -- columns ----------------------------------------------------------------------------------


def write_column(values: Any, parent: Group, name: str, ctx: Door) -> None:
    """Store one column (a Series' values, an Index's values) keeping its dtype."""
    if type(values) is pd.arrays.NumpyExtensionArray:
        values = values.to_numpy()
    dtype: Any = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        ctx.encode(pd.Categorical(values), parent, name)
    elif isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        ctx.encode(pd.DatetimeIndex(values), parent, name)
    elif getattr(dtype, "kind", "") == "m":
        ctx.encode(pd.TimedeltaIndex(values), parent, name)
    elif isinstance(dtype, pd.StringDtype):
        _write_masked(values, parent, name, ctx, fill="", store=object)
    elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(values, "_mask"):
        _write_masked(values, parent, name, ctx, fill=0, store=getattr(dtype, "numpy_dtype", None))
    elif isinstance(dtype, np.dtype) and dtype.kind != "O":
        dset = write_array(np.asarray(values), parent, name, "pandas.array", ctx)
        ctx.set_attr(dset, "dtype", str(dtype))
    elif isinstance(dtype, np.dtype):
        ctx.encode(list(np.asarray(values)), parent, name)
    else:
        msg = f"pandas dtype {dtype} is not supported (convert the column, or register a codec)"
        raise ctx.error(UnsupportedTypeError, msg)


def _write_masked(values: Any, parent: Group, name: str, ctx: Door, fill: Any, store: Any) -> None:
    group = ctx.create_group(parent, name, CONTAINER_ATTR, "pandas.masked")
    dtype = values.dtype
    mask = np.asarray(pd.isna(values), dtype=bool)
    data = np.asarray(
        values.to_numpy(dtype=object, na_value=fill)
        if store is object
        else values.to_numpy(dtype=store, na_value=fill)
    )
    if store is object:
        write_array(
            data.astype(str) if data.size else data.astype("U1"), group, "values", "numpy.ndarray", ctx
        )
        ctx.set_attr(group, "storage", dtype.storage)
        ctx.set_attr(group, "na_value", "NA" if dtype.na_value is pd.NA else "nan")
    else:
        write_array(data, group, "values", "numpy.ndarray", ctx)
    write_array(mask, group, "mask", "numpy.ndarray", ctx)
    ctx.set_attr(group, "dtype", str(dtype))


def read_column(node: Node, ctx: Door) -> Any:
    """Inverse of :func:`write_column`: an array-like for a Series or Index."""
    tag = ctx.node_tag(node)
    if tag == "pandas.array":
        dtype = _attr_str(node, "dtype", ctx) or str(node.dtype)
        return np.asarray(read(node, (), ctx)).astype(dtype, copy=False)
    if tag == "pandas.masked":
        return _read_masked(node, ctx)
    value = ctx.decode(node)
    if isinstance(value, pd.Index):
        return value.array
    if isinstance(value, (list, tuple)):
        out = np.empty(len(value), dtype=object)
        out[:] = value
        return out
    return value


def _read_masked(group: Group, ctx: Door, rows: Any = ()) -> Any:
    values, mask = (
        np.asarray(read(ctx.need(group, n, "a masked column"), rows, ctx)) for n in ("values", "mask")
    )
    if values.shape != mask.shape:
        raise ctx.error(FileFormatError, "values and mask differ in shape", group.name)
    dtype_name = _attr_str(group, "dtype", ctx) or ""
    storage = _attr_str(group, "storage", ctx)
    try:
        if storage is not None:
            na = pd.NA if _attr_str(group, "na_value", ctx) == "NA" else np.nan
            make: Any = pd.StringDtype
            dtype = make(storage if _has_storage(storage) else "python", na_value=na)
            data = values.astype(object)
            data[mask] = dtype.na_value
            return pd.array(data, dtype=dtype)
        build: Any = pd.array
        masked = build(values, dtype=dtype_name)
        masked[mask] = pd.NA
        return masked
    except (TypeError, ValueError) as exc:
        raise ctx.error(FileFormatError, f"bad masked column: {exc}", group.name) from None


def _has_storage(storage: str) -> bool:
    if storage != "pyarrow":
        return storage == "python"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


# -- Index, Categorical, Series, DataFrame -----------------------------------------------------


class RangeIndexCodec(Codec):
    tag = "pandas.RangeIndex"
    types = (pd.RangeIndex,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, self.tag)
        ctx.remember(value, group)  # stored twice in a tree: one group, one object
        for key in ("start", "stop", "step"):
            ctx.set_attr(group, key, np.int64(getattr(value, key)))
        ctx.encode(value.name, group, "name")

    def decode(self, node: Node, ctx: Door) -> Any:
        try:
            start, stop, step = (int_attr(node, k, ctx) for k in ("start", "stop", "step"))
            return pd.RangeIndex(start, stop, step, name=ctx.decode(ctx.member(node, "name")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ctx.error(FileFormatError, f"bad RangeIndex: {exc}", node.name) from None


class IndexCodec(Codec):
    tag = "pandas.Index"
    types = (pd.Index,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, self.tag)
        ctx.remember(value, group)  # stored twice in a tree: one group, one object
        if isinstance(value, pd.MultiIndex):
            ctx.encode(list(value), group, "values")
            ctx.encode(list(value.names), group, "names")
        else:
            write_column(value.array, group, "values", ctx)
            ctx.encode(value.name, group, "name")

    def decode(self, node: Node, ctx: Door) -> Any:
        values = read_column(ctx.need(node, "values", "an Index group"), ctx)
        if ctx.has_child(node, "names"):
            names = ctx.decode(ctx.child(node, "names"))
            return pd.MultiIndex.from_tuples(list(values), names=names)
        return pd.Index(values, name=ctx.decode(ctx.member(node, "name")), copy=False)


def freeze(values: Any) -> None:
    """Make the numpy arrays behind ``values`` (an ndarray or a pandas extension array: masked,
    string, categorical, datetime) read-only, so that ``s[0] = 1`` on a value of a read-only
    session raises instead of changing what no file will see."""
    if isinstance(values, np.ndarray):
        values.flags.writeable = False
        return
    for name in ("_data", "_mask", "_ndarray"):
        inner = getattr(values, name, None)
        if isinstance(inner, np.ndarray):
            inner.flags.writeable = False


class CategoricalCodec(Codec):
    tag = "pandas.Categorical"
    types = (pd.Categorical,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, self.tag)
        ctx.remember(value, group)  # stored twice in a tree: one group, one object
        write_array(np.asarray(value.codes), group, "codes", "numpy.ndarray", ctx)
        ctx.encode(pd.Index(value.categories), group, "categories")
        ctx.set_attr(group, "ordered", bool(value.ordered))

    def decode(self, node: Node, ctx: Door) -> Any:
        try:
            codes: Any = np.asarray(read(ctx.need(node, "codes", "a Categorical"), (), ctx))
            categories = ctx.decode(ctx.need(node, "categories", "a Categorical"))
            ordered = bool(ctx.fresh_attr(node, "ordered", False))
            dtype = pd.CategoricalDtype(categories, ordered=ordered)
            out = pd.Categorical.from_codes(codes, dtype=dtype)
        except (KeyError, TypeError, ValueError) as exc:
            raise ctx.error(FileFormatError, f"bad Categorical: {exc}", node.name) from None
        if ctx.read_only:
            freeze(out)
        return out


class SeriesCodec(Codec):
    tag = "pandas.Series"
    types = (pd.Series,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, self.tag)
        ctx.remember(value, group)  # stored twice in a tree: one group, one object
        write_column(value.array, group, "values", ctx)
        ctx.encode(value.index, group, "index")
        ctx.encode(value.name, group, "name")
        if value.attrs:
            ctx.encode(dict(value.attrs), group, "attrs")

    def decode(self, node: Node, ctx: Door) -> Any:
        try:
            values = read_column(ctx.need(node, "values", "a Series"), ctx)
            index = ctx.decode(ctx.need(node, "index", "a Series"))
        except KeyError as exc:
            raise ctx.error(FileFormatError, f"bad Series: {exc}", node.name) from None
        out = pd.Series(values, index=index, name=ctx.decode(ctx.member(node, "name")), copy=False)
        if ctx.read_only:
            freeze(out._values)
        if ctx.has_child(node, "attrs"):
            out.attrs.update(ctx.decode(ctx.child(node, "attrs")))
        return out


class DataFrameCodec(Codec):
    tag = "pandas.DataFrame"
    types = (pd.DataFrame,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, self.tag)
        ctx.remember(value, group)  # stored twice in a tree: one group, one object
        ctx.encode(value.index, group, "index")
        ctx.encode(value.columns, group, "columns")
        columns = ctx.new_group(group, "data")
        for i in range(value.shape[1]):
            write_column(value.iloc[:, i].array, columns, str(i), ctx)
        if value.attrs:
            ctx.encode(dict(value.attrs), group, "attrs")

    def decode(self, node: Node, ctx: Door) -> Any:
        if ctx.lazy and ctx.session is not None and ctx.is_group(node):
            proxy = FrameProxy(ctx.session, ctx.path_of(node))  # a session reads what is asked
            ctx.seen(node, proxy)
            return proxy
        try:
            index = ctx.decode(ctx.need(node, "index", "a DataFrame"))
            columns = ctx.decode(ctx.need(node, "columns", "a DataFrame"))
            data = ctx.need(node, "data", "a DataFrame")
            what = "a DataFrame's data"
            arrays = [read_column(ctx.need(data, str(i), what), ctx) for i in range(len(columns))]
        except KeyError as exc:
            raise ctx.error(FileFormatError, f"bad DataFrame: missing {exc}", node.name) from None
        # rows past the index belong to an append that did not finish (the index is written last)
        arrays = [a[: len(index)] if len(a) > len(index) else a for a in arrays]
        frame = pd.DataFrame(dict(enumerate(arrays)), index=index, copy=False)
        frame.columns = columns
        if ctx.has_child(node, "attrs"):
            frame.attrs.update(ctx.decode(ctx.child(node, "attrs")))
        return frame


class FrameProxyCodec(Codec):
    """Saving an object that holds a session's lazy frame: a hard link within its own file, the
    frame read through into another."""

    tag = "pandas.FrameProxy"
    types = (FrameProxy,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if value._source.is_open:
            group = value._group()
            if ctx.in_this_file(group):
                ctx.link(parent, name, group)
                return
        ctx.encode(value.read(), parent, name)


CODECS = (
    FrameProxyCodec(),
    NACodec(),
    TimestampCodec(),
    TimedeltaCodec(),
    DatetimeIndexCodec(),
    TimedeltaIndexCodec(),
    RangeIndexCodec(),
    IndexCodec(),
    CategoricalCodec(),
    SeriesCodec(),
    DataFrameCodec(),
)
__all__ = ["CODECS", "DATASET_ATTR", "tz_name"]
