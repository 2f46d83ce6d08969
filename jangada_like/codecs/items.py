"""The scalar kinds a sequence dataset or a table column holds, shared by containers and tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..format import STR_DTYPE

_ITEM_TYPES: dict[type, tuple[str, Any]] = {
    bool: ("bool", np.bool_),
    int: ("int", np.int64),
    float: ("float", np.float64),
    complex: ("complex", np.complex128),
    str: ("str", STR_DTYPE),
}
_ITEM_NAMES = {name for name, _ in _ITEM_TYPES.values()}


def _homogeneous(items: Any) -> tuple[str, Any] | None:
    """``(item type name, dtype)`` when every item of the list, tuple or set ``items`` has one
    scalar type a dataset can hold.

    Written with builtins that loop in C: long lists are the common case.
    """
    if not items:
        return None
    kinds = set(map(type, items))
    if len(kinds) != 1:
        return None
    first = kinds.pop()
    spec = _ITEM_TYPES.get(first)
    if spec is None:
        return None
    if first is int and not (min(items) >= -(2**63) and max(items) < 2**63):
        return None
    if first is str:
        text = "\x00".join(items)
        if text.count("\x00") != len(items) - 1:
            return None  # an item holds NUL, which HDF5 strings cannot
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return spec
