"""Structural equality used by ``Serializable.__eq__``: never raises, never prints.

Arrays compare by shape, dtype kind and values with NaN equal to NaN; containers compare item by
item; pandas objects use their own ``equals``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._optional import loaded_pandas
from .readonly import plain_type

__all__ = ["values_equal"]


def values_equal(a: Any, b: Any, _seen: set[tuple[int, int]] | None = None) -> bool:
    """Return whether two stored values are equal, treating NaN as equal to NaN.

    Examples
    --------
    >>> values_equal([np.array([1.0, np.nan])], [np.array([1.0, np.nan])])
    True
    >>> values_equal(np.array([1]), np.array([1, 1]))
    False
    """
    if a is b:
        return True
    seen = _seen if _seen is not None else set()
    key = (id(a), id(b))
    if key in seen:  # a cycle already being compared: assume equal on this branch
        return True
    seen.add(key)
    try:
        return _equal(a, b, seen)
    except Exception:
        return False


def _equal(a: Any, b: Any, seen: set[tuple[int, int]]) -> bool:
    lazy_a = getattr(type(a), "__jangada_lazy__", False)
    lazy_b = getattr(type(b), "__jangada_lazy__", False)
    if lazy_a or lazy_b:
        return _equal(a[()] if lazy_a else a, b[()] if lazy_b else b, seen)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _arrays_equal(a, b)
    pd = loaded_pandas()  # a pandas value exists only if pandas is imported
    if pd is not None:
        if isinstance(a, (pd.Series, pd.DataFrame, pd.Index)):
            frame: Any = a
            return type(a) is type(b) and bool(frame.equals(b)) and _pandas_meta_equal(a, b, pd)
        if isinstance(a, pd.Categorical):
            return isinstance(b, pd.Categorical) and bool(a.equals(b))
        if a is pd.NaT or b is pd.NaT:
            return a is b
    if getattr(type(a), "__jangada_list__", False) or getattr(type(b), "__jangada_list__", False):
        a, b = _as_list(a), _as_list(b)  # read-only views of lists compare as the lists
    if plain_type(type(a)) is not plain_type(type(b)):  # a read-only list is a list
        return False  # a round trip must keep types: int 1 and np.int64(1) differ
    if isinstance(a, dict):
        # as for Python dicts, key order does not matter (round trips keep it all the same)
        return a.keys() == b.keys() and all(values_equal(a[k], b[k], seen) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y, seen) for x, y in zip(a, b))
    if getattr(type(a), "_serializable_properties", None) is not None:
        return bool(a._equals(b, seen))
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return bool(np.isnan(b))
    if isinstance(a, (complex, np.complexfloating)):
        return _equal(a.real, b.real, seen) and _equal(a.imag, b.imag, seen)
    result = a == b
    if isinstance(result, np.ndarray):
        return bool(result.all())
    return bool(result)


def _as_list(value: Any) -> Any:
    return list(value) if getattr(type(value), "__jangada_list__", False) else value


def _arrays_equal(a: Any, b: Any) -> bool:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind in "mM":
        return bool(np.array_equal(a.view("i8"), b.view("i8")))
    return bool(np.array_equal(a, b))


def _pandas_meta_equal(a: Any, b: Any, pd: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        same = list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes)
        return same and _pandas_meta_equal(a.index, b.index, pd)
    if isinstance(a, pd.Series):
        return a.name == b.name and a.dtype == b.dtype and _pandas_meta_equal(a.index, b.index, pd)
    if isinstance(a, pd.DatetimeIndex):
        return a.name == b.name and a.dtype == b.dtype and a.freq == b.freq
    return bool(a.name == b.name and a.dtype == b.dtype)
